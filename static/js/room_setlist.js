// Room page: run the room from a setlist (host), show what is next, and "what next" suggestions.
(function () {
  "use strict";
  var box = document.getElementById("room-setlist");
  var room = document.getElementById("room");
  if (!box || !room || !room.dataset.authenticated) { return; }
  var isHost = room.dataset.isHost === "1";
  var nextList = document.getElementById("setlist-next-songs");
  var suggestions = document.getElementById("what-next");
  var lastSong = null;

  function send(method, url, body) {
    return fetch(url, {method: method, credentials: "same-origin",
                       headers: {"Content-Type": "application/json", "X-CSRFToken": room.dataset.csrf},
                       body: body === undefined ? undefined : JSON.stringify(body)})
      .then(function (r) { return r.json(); })
      .catch(function () { return {}; });  // server restarting or offline: try again later
  }
  function line(text) {
    var li = document.createElement("li");
    li.textContent = text;
    return li;
  }
  function show(run) {
    nextList.textContent = "";
    document.getElementById("setlist-name").textContent = run ? run.name + " · " + run.position + "/" + run.count : "";
    if (!run) { return; }
    run.next.forEach(function (item) {
      nextList.appendChild(line(item.position + ". " + item.title + (item.key ? " (" + item.key + ")" : "")));
    });
    var current = run.current && run.current.song_id;
    if (isHost && current && current !== lastSong) {
      lastSong = current;
      send("GET", box.dataset.suggest + "?song=" + current + "&transpose=" + (run.current.transpose || 0))
        .then(function (data) {
          suggestions.textContent = "";
          (data.suggestions || []).forEach(function (s) {
            suggestions.appendChild(line(s.title + " — " + s.reason + (s.key_hint ? " · " + s.key_hint : "")));
          });
          document.getElementById("what-next-title").hidden = !suggestions.children.length;
        });
    }
  }
  function refresh() {
    send("GET", box.dataset.api).then(function (data) { show(data.run); });
  }
  if (isHost) {
    document.getElementById("setlist-controls").hidden = false;
    var choice = document.getElementById("setlist-choice");
    send("GET", box.dataset.setlists).then(function (data) {
      (data.setlists || []).forEach(function (s) {
        var option = document.createElement("option");
        option.value = s.id;
        option.textContent = s.name + " (" + s.date + ")";
        choice.appendChild(option);
      });
    });
    document.getElementById("setlist-start").addEventListener("click", function () {
      send("POST", box.dataset.api, {setlist_id: Number(choice.value)}).then(function (d) { show(d.run); });
    });
    document.getElementById("setlist-next").addEventListener("click", function () {
      send("POST", box.dataset.api, {step: 1}).then(function (d) { show(d.run); });
    });
    document.getElementById("setlist-prev").addEventListener("click", function () {
      send("POST", box.dataset.api, {step: -1}).then(function (d) { show(d.run); });
    });
  }
  if (isHost) {
    // Drag a song from the picker onto this panel: it joins the chosen setlist at the end.
    var dragged = null;
    document.getElementById("picker-results").addEventListener("dragstart", function (e) {
      var li = e.target.closest && e.target.closest("li");
      dragged = li ? li.dataset.songId : null;
    });
    box.addEventListener("dragover", function (e) { if (dragged) { e.preventDefault(); } });
    box.addEventListener("drop", function (e) {
      e.preventDefault();
      var chosen = document.getElementById("setlist-choice").value;
      if (!dragged || !chosen) { return; }
      send("POST", box.dataset.setlists + "/" + chosen + "/items", {song_id: Number(dragged)})
        .then(refresh);
      dragged = null;
    });
  }
  refresh();
  window.setInterval(refresh, 5000);
}());
