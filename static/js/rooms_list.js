// The room list's "Create room" form: POST JSON to the form's data-url, then open the room.
(function () {
  var form = document.getElementById("create-room");
  if (!form) return;
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var data = Object.fromEntries(new FormData(form));
    var token = data.csrfmiddlewaretoken;
    delete data.csrfmiddlewaretoken;
    fetch(form.dataset.url, {method: "POST", headers: {"Content-Type": "application/json",
      "X-CSRFToken": token}, body: JSON.stringify(data)})
      .then(function (r) { return r.json().then(function (b) { return {ok: r.ok, body: b}; }); })
      .then(function (a) {
        if (a.ok) window.location.href = "/rooms/" + a.body.id;
        else document.getElementById("create-error").textContent = a.body.error.message;
      });
  });
})();
