// Chart generator page: upload with a progress bar (XHR), then poll the job until it is done.
(function () {
  "use strict";
  var form = document.getElementById("generate-form");
  if (!form) return;
  var box = document.getElementById("generate-status");
  var stage = document.getElementById("generate-stage");
  var percent = document.getElementById("generate-percent");
  var bar = document.getElementById("generate-progress");
  var error = document.getElementById("generate-error");

  function show(name, value) {
    stage.textContent = name;
    percent.textContent = String(value);
    bar.value = value;
  }

  function fail(message) {
    error.textContent = message;
    error.hidden = false;
    form.querySelector("button").disabled = false;
  }

  function poll(url) {
    fetch(url, {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (r) { return r.json(); })
      .then(function (job) {
        var entry = (job.files || [])[0] || {};
        show(entry.stage || job.status, entry.percent || 0);
        if (job.status === "failed") { fail(job.error || entry.error || "Generation failed."); return; }
        if (job.status !== "done") { setTimeout(function () { poll(url); }, 1000); return; }
        var link = document.getElementById("generate-link");
        link.href = "/charts/" + entry.chart_id + "/";
        document.getElementById("generate-done").hidden = false;
        var audio = document.getElementById("generate-preview");
        var name = (entry.remote_path || "").split("/").pop();
        audio.src = "/api/charts/" + entry.chart_id + "/files/song" +
          (form.elements.file.value.match(/\.[a-z0-9]+$/i) || [""])[0].toLowerCase();
        audio.hidden = !name;
        form.querySelector("button").disabled = false;
      })
      .catch(function () { setTimeout(function () { poll(url); }, 2000); });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    error.hidden = true;
    document.getElementById("generate-done").hidden = true;
    box.hidden = false;
    form.querySelector("button").disabled = true;
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.dataset.url);
    xhr.setRequestHeader("X-CSRFToken", form.elements.csrfmiddlewaretoken.value);
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) show("uploading", Math.round(e.loaded / e.total * 100));
    });
    xhr.onload = function () {
      var body = {};
      try { body = JSON.parse(xhr.responseText); } catch (e) { /* shown below */ }
      if (xhr.status !== 202) { fail((body.error && body.error.message) || "Upload failed."); return; }
      show("queued", 0);
      poll(body.status_url);
    };
    xhr.onerror = function () { fail("The upload did not reach the server."); };
    xhr.send(new FormData(form));
  });
})();
