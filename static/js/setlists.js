// Setlist pages: create, add songs, drag to reorder, keys/capo, duplicate, "what next".
(function () {
  "use strict";
  function csrf() {
    var input = document.querySelector("[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }
  function send(method, url, body) {
    return fetch(url, {method: method, credentials: "same-origin",
                       headers: {"Content-Type": "application/json", "X-CSRFToken": csrf()},
                       body: body === undefined ? undefined : JSON.stringify(body)})
      .then(function (r) {
        return r.json().then(function (data) {
          if (!r.ok) { throw new Error((data.error && data.error.message) || r.statusText); }
          return data;
        });
      });
  }

  var create = document.getElementById("new-setlist");
  if (create) {
    create.addEventListener("submit", function (event) {
      event.preventDefault();
      var body = {name: create.elements.name.value};
      if (create.elements.date.value) { body.date = create.elements.date.value; }
      send("POST", create.dataset.api, body).then(function (s) {
        window.location.href = "/setlists/" + s.id;
      }).catch(function (e) { window.alert(e.message); });
    });
  }

  var list = document.getElementById("setlist-items");
  if (!list) { return; }
  var status = document.getElementById("status");
  var dragged = null;

  function items() {
    return Array.prototype.map.call(list.children, function (li) {
      var item = {transpose: Number(li.querySelector(".transpose").value) || 0,
                  capo: Number(li.querySelector(".capo").value) || 0,
                  notes: li.dataset.notes || ""};
      if (li.dataset.song) { item.song_id = Number(li.dataset.song); }
      else { item.work_id = Number(li.dataset.work); }
      if (li.dataset.duration) { item.duration = Number(li.dataset.duration); }
      return item;
    });
  }
  function save() {
    return send("PUT", list.dataset.api, {items: items()}).then(function () {
      status.textContent = "Saved.";
    }).catch(function (e) { status.textContent = e.message; });
  }
  function reload() { window.location.reload(); }

  list.addEventListener("dragstart", function (e) { dragged = e.target.closest("li"); });
  list.addEventListener("dragover", function (e) { e.preventDefault(); });
  list.addEventListener("drop", function (e) {
    e.preventDefault();
    var target = e.target.closest("li");
    if (dragged && target && target !== dragged) {
      var after = dragged.compareDocumentPosition(target) & Node.DOCUMENT_POSITION_FOLLOWING;
      list.insertBefore(dragged, after ? target.nextSibling : target);
      save();
    }
  });
  list.addEventListener("click", function (e) {
    if (e.target.classList.contains("remove")) { e.target.closest("li").remove(); save(); }
  });
  document.getElementById("save").addEventListener("click", save);
  document.getElementById("duplicate").addEventListener("click", function () {
    send("POST", list.dataset.api + "/duplicate", {}).then(function (s) {
      window.location.href = "/setlists/" + s.id;
    });
  });
  var add = document.getElementById("add-song");
  add.addEventListener("submit", function (event) {
    event.preventDefault();
    send("POST", list.dataset.api + "/items", {song_id: Number(add.elements.song_id.value)})
      .then(reload).catch(function (e) { status.textContent = e.message; });
  });

  // The song picker: search the library, "Add" appends to the setlist.
  var search = document.getElementById("song-search");
  var timer = null;
  search.addEventListener("input", function () {
    var q = search.value.trim();
    var results = document.getElementById("song-results");
    window.clearTimeout(timer);
    timer = window.setTimeout(function () {
      results.textContent = "";
      if (!q) { return; }
      send("GET", "/api/songs/search?limit=8&q=" + encodeURIComponent(q)).then(function (data) {
        (data.results || []).forEach(function (hit) {
          var li = document.createElement("li");
          var button = document.createElement("button");
          button.type = "button";
          button.className = "link add";
          button.textContent = "+ " + hit.title + (hit.artist ? " — " + hit.artist : "");
          button.addEventListener("click", function () {
            send("POST", list.dataset.api + "/items", {song_id: hit.id}).then(reload);
          });
          li.appendChild(button);
          results.appendChild(li);
        });
      });
    }, 180);
  });

  // "What next" after the last song with a chord sheet.
  var last = Array.prototype.filter.call(list.children, function (li) { return li.dataset.song; }).pop();
  var box = document.getElementById("suggestions");
  if (last) {
    var url = list.dataset.suggest + "?song=" + last.dataset.song + "&transpose=" +
      (Number(last.querySelector(".transpose").value) || 0);
    send("GET", url).then(function (data) {
      data.suggestions.forEach(function (s) {
        var li = document.createElement("li");
        var button = document.createElement("button");
        button.type = "button";
        button.textContent = "Add";
        button.addEventListener("click", function () {
          send("POST", list.dataset.api + "/items", {song_id: s.song_id}).then(reload);
        });
        li.textContent = s.title + (s.artist ? " — " + s.artist : "") + " · " + s.reason +
          (s.key_hint ? " · " + s.key_hint : "") + " ";
        li.appendChild(button);
        box.appendChild(li);
      });
    });
  }
}());
