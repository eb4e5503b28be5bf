// Swagger UI for /api/docs: the schema URL and CSRF token come from data attributes (the CSP
// allows no inline script). "Try it out" requests carry the session's CSRF token.
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  if (!root || !window.SwaggerUIBundle) return;
  window.ui = window.SwaggerUIBundle({
    url: root.dataset.schema,
    domNode: root,
    deepLinking: true,
    requestInterceptor: function (request) {
      if (root.dataset.csrf) request.headers["X-CSRFToken"] = root.dataset.csrf;
      return request;
    },
  });
})();
