// Page through a song's page images with buttons or the arrow keys.
(function () {
  "use strict";
  var view = document.getElementById("pageview");
  if (!view) return;
  var pages = view.dataset.pages.split(",");
  var current = 0;
  var img = document.getElementById("page");
  var label = document.getElementById("pageno");

  function show(index) {
    current = Math.max(0, Math.min(pages.length - 1, index));
    img.src = pages[current];
    img.alt = img.alt.replace(/page \d+$/, "page " + (current + 1));
    label.textContent = (current + 1) + " / " + pages.length;
    pages.slice(current + 1, current + 2).forEach(function (url) { new Image().src = url; });
  }

  document.getElementById("prev").addEventListener("click", function () { show(current - 1); });
  document.getElementById("next").addEventListener("click", function () { show(current + 1); });
  document.addEventListener("keydown", function (event) {
    if (event.key === "ArrowRight" || event.key === "PageDown") show(current + 1);
    if (event.key === "ArrowLeft" || event.key === "PageUp") show(current - 1);
  });
})();
