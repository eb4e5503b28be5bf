// Theme: Light -> Dark -> Auto, persisted in localStorage. Loaded in <head> so the first
// paint already has the right colours; the toggle is wired once the DOM exists.
(function () {
  "use strict";
  var KEY = "songhub-theme";
  var MODES = ["light", "dark", "auto"];
  var media = window.matchMedia("(prefers-color-scheme: dark)");

  function stored() {
    try {
      var value = window.localStorage.getItem(KEY);
      return MODES.indexOf(value) >= 0 ? value : "auto";
    } catch (e) {
      return "auto";
    }
  }

  function effective(mode) {
    return mode === "auto" ? (media.matches ? "dark" : "light") : mode;
  }

  function label(mode) {
    var name = mode.charAt(0).toUpperCase() + mode.slice(1);
    return mode === "auto" ? name + " (" + effective(mode) + ")" : name;
  }

  function apply(mode) {
    var root = document.documentElement;
    root.setAttribute("data-theme-mode", mode);
    root.setAttribute("data-theme", effective(mode));
    var button = document.getElementById("theme-toggle");
    if (button) {
      button.title = label(mode);
      button.setAttribute("aria-label", "Theme: " + label(mode));
      button.textContent = mode === "light" ? "☀" : mode === "dark" ? "☾" : "◐";
    }
    document.dispatchEvent(new CustomEvent("songhub:themechange", {detail: {mode: mode, theme: effective(mode)}}));
  }

  function next() {
    var mode = MODES[(MODES.indexOf(stored()) + 1) % MODES.length];
    try {
      window.localStorage.setItem(KEY, mode);
    } catch (e) { /* private mode: the choice lasts for this page only */ }
    apply(mode);
  }

  window.songhubTheme = {mode: stored, effective: function () { return effective(stored()); }};
  apply(stored());
  media.addEventListener("change", function () { if (stored() === "auto") apply("auto"); });
  document.addEventListener("DOMContentLoaded", function () {
    apply(stored());
    var button = document.getElementById("theme-toggle");
    if (button) button.addEventListener("click", next);
  });
})();
