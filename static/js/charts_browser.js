// Storage browser: list a folder through /api/charts/storage/browse, breadcrumbs, upload,
// new folder, delete after a confirmation. The path lives in the URL hash (#Songs/Artist).
(function () {
  "use strict";
  var root = document.getElementById("browser");
  if (!root) return;
  var api = root.dataset.api;
  var csrf = root.querySelector("[name=csrfmiddlewaretoken]").value;
  var tbody = document.querySelector("#entries tbody");
  var status = document.getElementById("browser-status");

  function current() { return decodeURIComponent(location.hash.slice(1)); }
  function go(path) { location.hash = encodeURIComponent(path); }
  function el(tag, text) { var n = document.createElement(tag); if (text !== undefined) n.textContent = text; return n; }
  function say(text, bad) { status.textContent = text; status.className = bad ? "status-bad" : "muted"; }

  function call(method, url, body) {
    var options = { method: method, credentials: "same-origin", headers: { "X-CSRFToken": csrf } };
    if (body instanceof FormData) options.body = body;
    else if (body) { options.body = JSON.stringify(body); options.headers["Content-Type"] = "application/json"; }
    return fetch(url, options).then(function (r) {
      return r.json().then(function (data) {
        if (!r.ok) throw new Error((data.error && data.error.message) || ("HTTP " + r.status));
        return data;
      });
    });
  }

  function crumbs(path) {
    var nav = document.getElementById("crumbs");
    nav.textContent = "";
    var parts = path ? path.split("/") : [];
    var link = el("a", "root");
    link.href = "#";
    nav.appendChild(link);
    parts.forEach(function (part, i) {
      nav.appendChild(el("span", " / "));
      var a = el("a", part);
      a.href = "#" + encodeURIComponent(parts.slice(0, i + 1).join("/"));
      nav.appendChild(a);
    });
  }

  function load() {
    var path = current();
    crumbs(path);
    call("GET", api + "browse?path=" + encodeURIComponent(path)).then(function (data) {
      tbody.textContent = "";
      data.entries.sort(function (a, b) { return (b.is_dir - a.is_dir) || a.name.localeCompare(b.name); });
      data.entries.forEach(function (e) {
        var tr = el("tr");
        tr.dataset.path = e.path;
        var name = el("td");
        if (e.is_dir) { var a = el("a", e.name + "/"); a.href = "#" + encodeURIComponent(e.path); name.appendChild(a); }
        else name.textContent = e.name;
        tr.appendChild(name);
        tr.appendChild(el("td", e.is_dir ? "" : e.size + " B"));
        tr.appendChild(el("td", e.modified));
        var actions = el("td");
        if (!e.protected) {
          var del = el("button", "Delete");
          del.className = "link delete";
          del.addEventListener("click", function () { remove(e); });
          actions.appendChild(del);
        }
        tr.appendChild(actions);
        tbody.appendChild(tr);
      });
      if (!data.entries.length) { var tr = el("tr"); tr.appendChild(el("td", "Empty folder.")); tbody.appendChild(tr); }
    }).catch(function (err) { say(err.message, true); });
  }

  function remove(entry) {
    if (!window.confirm("Delete " + entry.path + (entry.is_dir ? " and everything in it" : "") + "?")) return;
    call("DELETE", api + "delete", { path: entry.path }).then(function () {
      say("Deleted " + entry.path); load();
    }).catch(function (err) { say(err.message, true); });
  }

  document.getElementById("new-folder").addEventListener("click", function () {
    var name = window.prompt("Folder name");
    if (!name) return;
    call("POST", api + "mkdir", { path: current(), name: name }).then(load)
      .catch(function (err) { say(err.message, true); });
  });
  document.getElementById("browser-upload").addEventListener("change", function (e) {
    var data = new FormData();
    data.append("path", current());
    Array.prototype.forEach.call(e.target.files, function (f) { data.append("file", f); });
    say("Uploading…");
    call("POST", api + "upload", data).then(load).catch(function (err) { say(err.message, true); });
    e.target.value = "";
  });
  window.addEventListener("hashchange", function () { say(""); load(); });
  load();
})();
