// Chart page: the audio preview starts at the song's preview_start_time.
(function () {
  "use strict";
  var audio = document.getElementById("preview");
  if (!audio) return;
  audio.addEventListener("loadedmetadata", function () {
    var start = (parseInt(audio.dataset.start, 10) || 0) / 1000;
    if (start > 0 && start < audio.duration) audio.currentTime = start;
  }, { once: true });
})();
