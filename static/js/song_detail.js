// A song's pages: fit to the width of the window, zoom in and out, page with the buttons or the
// arrow keys. Previous/Next are disabled at the ends; zoom stays when the page changes.
(function () {
  "use strict";
  var view = document.getElementById("pageview");
  if (!view) return;
  var pages = view.dataset.pages.split(",");
  var current = 0;
  var zoom = 1;  // 1 = the page fills the width available
  var ZOOM_MIN = 0.5, ZOOM_MAX = 3, ZOOM_STEP = 1.25;
  var img = document.getElementById("page");
  var label = document.getElementById("pageno");
  var prev = document.getElementById("prev");
  var next = document.getElementById("next");

  function show(index) {
    current = Math.max(0, Math.min(pages.length - 1, index));
    img.src = pages[current];
    img.alt = img.alt.replace(/page \d+$/, "page " + (current + 1));
    label.textContent = (current + 1) + " / " + pages.length;
    prev.disabled = current === 0;
    next.disabled = current === pages.length - 1;
    pages.slice(current + 1, current + 2).forEach(function (url) { new Image().src = url; });
  }

  function setZoom(value) {
    zoom = Math.max(ZOOM_MIN, Math.min(ZOOM_MAX, value));
    img.style.width = (zoom * 100) + "%";
    view.dataset.zoom = zoom.toFixed(2);
    document.getElementById("zoom-out").disabled = zoom <= ZOOM_MIN;
    document.getElementById("zoom-in").disabled = zoom >= ZOOM_MAX;
  }

  prev.addEventListener("click", function () { show(current - 1); });
  next.addEventListener("click", function () { show(current + 1); });
  document.getElementById("zoom-in").addEventListener("click", function () { setZoom(zoom * ZOOM_STEP); });
  document.getElementById("zoom-out").addEventListener("click", function () { setZoom(zoom / ZOOM_STEP); });
  document.getElementById("zoom-fit").addEventListener("click", function () { setZoom(1); });
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
    if (event.ctrlKey || event.metaKey || event.altKey) return;  // leave browser zoom alone
    if (event.key === "ArrowRight" || event.key === "PageDown") show(current + 1);
    else if (event.key === "ArrowLeft" || event.key === "PageUp") show(current - 1);
    else if (event.key === "+" || event.key === "=") setZoom(zoom * ZOOM_STEP);
    else if (event.key === "-") setZoom(zoom / ZOOM_STEP);
    else if (event.key === "0") setZoom(1);
  });
  show(0);
  setZoom(1);
})();
