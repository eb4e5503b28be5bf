// Chart upload: one XHR per file (so each file has its own progress bar while it uploads),
// then the import job is polled until the worker reports every song, duplicate or refusal.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form) return;
  var list = document.getElementById("upload-list");
  var input = document.getElementById("file-input");
  var zone = document.getElementById("dropzone");
  var csrf = form.querySelector("[name=csrfmiddlewaretoken]").value;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function row(file) {
    var li = el("li", "upload-item");
    li.appendChild(el("strong", "", file.name));
    var bar = el("progress");
    bar.max = 100; bar.value = 0;
    li.appendChild(bar);
    var status = el("span", "muted status", "uploading");
    li.appendChild(status);
    var results = el("ul", "results-list");
    li.appendChild(results);
    list.appendChild(li);
    return { li: li, bar: bar, status: status, results: results };
  }

  function fail(view, message) {
    view.status.textContent = message;
    view.status.className = "status status-bad";
    view.li.dataset.state = "failed";
  }

  function showJobFile(view, entry) {
    view.results.textContent = "";
    (entry.songs || []).forEach(function (s) {
      var li = el("li", "added");
      var a = el("a", "", s.artist + " – " + s.title);
      a.href = "/charts/" + s.id + "/";
      li.appendChild(a);
      view.results.appendChild(li);
    });
    (entry.duplicates || []).forEach(function (d) {
      view.results.appendChild(el("li", "duplicate muted", "duplicate: " + d.artist + " – " + d.title));
    });
    (entry.skipped || []).forEach(function (s) {
      view.results.appendChild(el("li", "muted", "skipped " + s.folder + ": " + s.reason));
    });
  }

  function poll(view, url, index) {
    fetch(url, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (job) {
      var entry = (job.files || [])[index] || {};
      if (entry.total) view.bar.value = Math.round(100 * entry.done / entry.total);
      if (job.status === "failed") return fail(view, job.error || "the import failed");
      if (entry.status === "refused" || entry.status === "failed") return fail(view, entry.error);
      if (entry.status === "done") {
        view.bar.value = 100;
        view.status.textContent = (entry.songs || []).length + " added, " +
          (entry.duplicates || []).length + " duplicate(s)";
        view.status.className = "status status-ok";
        view.li.dataset.state = "done";
        return showJobFile(view, entry);
      }
      view.status.textContent = (entry.status || job.status) + "…";
      setTimeout(function () { poll(view, url, index); }, 700);
    }).catch(function () { setTimeout(function () { poll(view, url, index); }, 2000); });
  }

  function send(file) {
    var view = row(file);
    var data = new FormData();
    data.append("file", file);
    data.append("type", document.getElementById("upload-type").value);
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.dataset.url);
    xhr.setRequestHeader("X-CSRFToken", csrf);
    xhr.upload.onprogress = function (e) {
      if (e.lengthComputable) view.bar.value = Math.round(100 * e.loaded / e.total);
    };
    xhr.onload = function () {
      var body = {};
      try { body = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
      if (xhr.status >= 400) return fail(view, (body.error && body.error.message) || ("HTTP " + xhr.status));
      if (xhr.status === 201) {
        view.bar.value = 100;
        view.status.textContent = "stored: " + (body.stored || []).join(", ");
        view.status.className = "status status-ok";
        view.li.dataset.state = "done";
        return;
      }
      view.status.textContent = "importing…";
      view.bar.value = 0;
      poll(view, body.status_url, 0);
    };
    xhr.onerror = function () { fail(view, "network error"); };
    xhr.send(data);
  }

  function take(files) { Array.prototype.forEach.call(files, send); }
  input.addEventListener("change", function () { take(input.files); input.value = ""; });
  zone.addEventListener("dragover", function (e) { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", function () { zone.classList.remove("over"); });
  zone.addEventListener("drop", function (e) {
    e.preventDefault();
    zone.classList.remove("over");
    take(e.dataTransfer.files);
  });
})();
