// A room: follow the host's song and page live over /ws; the host also picks songs and turns
// pages (buttons or arrow keys). Reconnects with backoff and resyncs from the room_state frame.
(function () {
  "use strict";
  var root = document.getElementById("room");
  if (!root) return;
  var roomId = Number(root.dataset.roomId);
  var isHost = root.dataset.isHost === "1";
  var state = {song: null, page: 0, total: 0, etag: "", version: -1, transpose: 0};
  var socket = null;
  var attempts = 0;
  var joined = false;
  var guestName = "";
  var password = "";
  var $ = function (id) { return document.getElementById(id); };

  function send(name, payload) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify([name, payload || {}]));
  }

  function pageUrl() {
    var url = "/songs/" + state.song + "/pages/" + state.page;
    var params = [];
    if (state.etag) params.push("v=" + encodeURIComponent(state.etag));
    if (state.transpose) params.push("transpose=" + state.transpose);
    return params.length ? url + "?" + params.join("&") : url;
  }

  function showPage() {
    var img = $("page-image");
    if (!state.song || !state.total) { img.hidden = true; return; }
    img.hidden = false;
    img.src = pageUrl();
    img.alt = "Page " + state.page;
    img.dataset.page = String(state.page);
    $("page-label").textContent = state.page + " / " + state.total;
    $("prev").hidden = $("next").hidden = !isHost;
    if (state.page < state.total) { new Image().src = pageUrl().replace("/pages/" + state.page, "/pages/" + (state.page + 1)); }
  }

  function applySong(payload) {
    if (typeof payload.version === "number" && payload.version < state.version) return;  // stale
    state.version = payload.version;
    state.song = payload.song_id;
    state.page = payload.current_page;
    state.total = payload.total_pages;
    state.etag = payload.image_etag;
    if (payload.title !== undefined) {
      $("song-title").textContent = payload.title + (payload.artist ? " — " + payload.artist : "");
    }
    showPage();
  }

  function renderQueue(queue) {
    $("queue-mode").textContent = queue.mode === "fair" ? "(fair rotation)" : "(first come)";
    $("queue").innerHTML = "";
    queue.items.forEach(function (item) {
      var li = document.createElement("li");
      li.textContent = item.entry.title + " · " + item.singer;
      $("queue").appendChild(li);
    });
  }

  function renderParticipants(list) {
    $("participants").innerHTML = "";
    list.forEach(function (p) {
      var li = document.createElement("li");
      li.dataset.participant = p.participant_id;
      li.textContent = p.name + (p.role === "host" ? " (host)" : "");
      $("participants").appendChild(li);
    });
  }

  var handlers = {
    room_state: function (s) {
      joined = true;
      $("join-form").hidden = true;
      $("host-controls").hidden = !isHost;
      state.version = -1;
      if (s.song.song_id !== null) applySong(s.song);
      renderQueue(s.queue);
      renderParticipants(s.participants);
      $("client-count").textContent = "(" + s.client_count + " online)";
    },
    song_updated: applySong,
    page_updated: applySong,
    queue_update: renderQueue,
    client_count: function (n) { $("client-count").textContent = "(" + n + " online)"; },
    participant_joined: function (p) {
      if (!document.querySelector('[data-participant="' + p.participant_id + '"]')) {
        var li = document.createElement("li");
        li.dataset.participant = p.participant_id;
        li.textContent = p.name + (p.role === "host" ? " (host)" : "");
        $("participants").appendChild(li);
      }
    },
    participant_left: function (p) {
      var li = document.querySelector('[data-participant="' + p.participant_id + '"]');
      if (li) li.remove();
    },
    room_closed: function () {
      $("room-status").textContent = "The host closed this room.";
      attempts = -1;  // do not reconnect
    },
    ping: function (p) { send("pong", {timestamp: p.timestamp}); },
    error: function (e) {
      if (!joined) { $("join-form").hidden = false; $("join-error").textContent = e.message; }
      else { $("room-status").textContent = e.message; }
    },
    player_state: function () {}, leader_status: function () {}, ack: function () {}
  };

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + "/ws");
    $("conn").textContent = "◌";
    socket.onopen = function () {
      attempts = 0;
      $("conn").textContent = "●";
      $("conn").title = "connected";
      send("handshake", {client_type: isHost ? "controller" : "viewer"});
      send("join_room", {room_id: roomId, name: guestName, password: password});
    };
    socket.onmessage = function (message) {
      var frame;
      try { frame = JSON.parse(message.data); } catch (e) { return; }
      var handler = handlers[frame[0]];
      if (handler) handler(frame[1]);
    };
    socket.onclose = function () {
      $("conn").textContent = "○";
      $("conn").title = "reconnecting";
      if (attempts < 0 || !joined) return;
      var delay = Math.min(10000, 250 * Math.pow(2, attempts++)) * (0.5 + Math.random());
      setTimeout(connect, delay);
    };
  }

  function turn(step) {
    if (!isHost || !state.song) return;
    var page = state.page + step;
    if (page >= 1 && page <= state.total) send("set_page", {page: page});
  }

  for (var k = -11; k <= 11; k++) {
    var option = document.createElement("option");
    option.value = String(k);
    option.textContent = k === 0 ? "original" : (k > 0 ? "+" + k : String(k));
    if (k === 0) option.selected = true;
    $("transpose").appendChild(option);
  }
  $("transpose").addEventListener("change", function () {
    state.transpose = Number(this.value);
    send("set_key", {transpose: state.transpose, capo: 0});
    showPage();
  });
  $("prev").addEventListener("click", function () { turn(-1); });
  $("next").addEventListener("click", function () { turn(1); });
  document.addEventListener("keydown", function (event) {
    if (event.target.tagName === "INPUT") return;
    if (event.key === "ArrowRight" || event.key === "PageDown") turn(1);
    if (event.key === "ArrowLeft" || event.key === "PageUp") turn(-1);
  });

  var timer = null;
  $("song-picker").addEventListener("input", function () {
    var q = this.value.trim();
    clearTimeout(timer);
    timer = setTimeout(function () {
      if (!q) { $("picker-results").innerHTML = ""; return; }
      fetch("/api/songs/search?limit=8&q=" + encodeURIComponent(q)).then(function (r) { return r.json(); })
        .then(function (data) {
          $("picker-results").innerHTML = "";
          (data.results || []).forEach(function (hit) {
            var li = document.createElement("li");
            li.draggable = true;  // drop on the setlist panel (room_setlist.js) to add it
            li.dataset.songId = hit.id;
            var button = document.createElement("button");
            button.type = "button";
            button.className = "link pick";
            button.textContent = hit.title + (hit.artist ? " — " + hit.artist : "");
            button.addEventListener("click", function () {
              send("select_song", {song_id: hit.id});
              $("picker-results").innerHTML = "";
              $("song-picker").value = "";
            });
            var queue = document.createElement("button");
            queue.type = "button";
            queue.className = "link queue";
            queue.textContent = "+ queue";
            queue.title = "Add to the karaoke queue";
            queue.addEventListener("click", function () {
              send("queue_song", {song_id: hit.id, title: hit.title, artist: hit.artist || ""});
            });
            li.appendChild(button);
            li.appendChild(document.createTextNode(" "));
            li.appendChild(queue);
            $("picker-results").appendChild(li);
          });
        });
    }, 180);
  });

  $("join-button").addEventListener("click", function () {
    guestName = $("guest-name").value.trim();
    password = $("room-password").value;
    $("join-error").textContent = "";
    if (socket) socket.close();
    joined = false;
    connect();
  });

  if (root.dataset.authenticated !== "1" || root.dataset.hasPassword === "1") {
    $("join-form").hidden = false;
    $("guest-name").hidden = root.dataset.authenticated === "1";
    $("room-password").hidden = root.dataset.hasPassword !== "1";
  }
  if (root.dataset.authenticated === "1" && root.dataset.hasPassword !== "1") connect();
  else if (isHost) connect();
})();
