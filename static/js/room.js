// A room: follow the host's song and page live over /ws; the host also picks songs and turns
// pages (buttons or arrow keys) and runs the karaoke queue (drag to reorder, play next, remove,
// skip). Guests add songs when the host allows it. Reconnects with backoff and resyncs from the
// room_state frame; events not newer than the snapshot (room_version) are ignored.
(function () {
  "use strict";
  var root = document.getElementById("room");
  if (!root) return;
  var roomId = Number(root.dataset.roomId);
  var isHost = root.dataset.isHost === "1";
  var state = {song: null, page: 0, total: 0, etag: "", version: -1, transpose: 0};
  var roomVersion = -1;  // newest room event applied (snapshot or event)
  var me = null;  // my participant id
  var guestsCanQueue = false;
  var socket = null;
  var attempts = 0;
  var joined = false;
  var guestName = root.dataset.guestName || "";
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
    img.dataset.retries = "0";
    img.src = pageUrl();
    img.alt = "Page " + state.page;
    img.dataset.page = String(state.page);
    $("page-label").textContent = state.page + " / " + state.total;
    $("prev").hidden = $("next").hidden = !isHost;
    if (state.page < state.total) { new Image().src = pageUrl().replace("/pages/" + state.page, "/pages/" + (state.page + 1)); }
  }

  // a page in a personal key may still be rendering (202): try again shortly
  $("page-image").addEventListener("error", function () {
    var img = this, tries = Number(img.dataset.retries || 0);
    if (tries < 20 && state.transpose) {
      img.dataset.retries = String(tries + 1);
      setTimeout(function () { img.src = pageUrl() + "&try=" + (tries + 1); }, 500);
    }
  });

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

  function button(label, title, onClick) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "link";
    b.textContent = label;
    b.title = title;
    b.addEventListener("click", onClick);
    return b;
  }

  function renderQueue(queue) {
    guestsCanQueue = !!queue.guests_can_queue;
    $("guests-can-queue").checked = guestsCanQueue;
    $("song-controls").hidden = !(isHost || guestsCanQueue);
    $("queue-mode").textContent = queue.mode === "fair" ? "(fair rotation)" : "(first come)";
    $("queue").innerHTML = "";
    queue.items.forEach(function (item, index) {
      var li = document.createElement("li");
      li.dataset.entry = item.id;
      var label = document.createElement("span");
      label.className = "title";
      label.textContent = item.entry.title + " · " + item.singer;
      li.appendChild(label);
      if (isHost) {
        li.draggable = true;
        li.addEventListener("dragstart", function (e) { e.dataTransfer.setData("text/plain", item.id); });
        li.addEventListener("dragover", function (e) { e.preventDefault(); li.classList.add("drop-target"); });
        li.addEventListener("dragleave", function () { li.classList.remove("drop-target"); });
        li.addEventListener("drop", function (e) {
          e.preventDefault();
          li.classList.remove("drop-target");
          var moved = e.dataTransfer.getData("text/plain");
          if (moved && moved !== item.id) send("move_song", {entry_id: moved, position: index});
        });
        if (index > 0) li.appendChild(button("▲ next", "Play this one next", function () { send("queue_next_song", {entry_id: item.id}); }));
      }
      if (isHost || (me !== null && item.queued_by === me)) {
        li.appendChild(button("✕", "Remove from the queue", function () { send("remove_song", {entry_id: item.id}); }));
      }
      $("queue").appendChild(li);
    });
  }

  function participantItem(p) {
    var li = document.createElement("li");
    li.dataset.participant = p.participant_id;
    li.textContent = p.name + (p.role === "host" ? " (host)" : p.role === "display" ? " (display)" : "");
    if (isHost && (p.role === "controller" || p.role === "display")) {
      li.appendChild(document.createTextNode(" "));
      li.appendChild(button(p.can_control ? "revoke" : "allow", "Let them control the room or report playback", function () {
        fetch("/rooms/" + roomId + "/participants/" + p.participant_id + "/control", {
          method: "POST", headers: {"Content-Type": "application/json", "X-CSRFToken": root.dataset.csrf},
          body: JSON.stringify({allowed: !p.can_control})});
      }));
    }
    return li;
  }

  function renderParticipants(list) {
    $("participants").innerHTML = "";
    list.forEach(function (p) { $("participants").appendChild(participantItem(p)); });
  }

  function closed(message) {
    $("room-status").textContent = message;
    attempts = -1;  // do not reconnect
    ["leave-room", "close-room", "song-controls", "queue-controls"].forEach(function (id) { $(id).hidden = true; });
  }

  // events older than what we hold are dropped (room_version); snapshots reset it
  function fresh(payload) {
    if (typeof payload.room_version !== "number") return true;
    if (payload.room_version <= roomVersion) return false;
    roomVersion = payload.room_version;
    return true;
  }

  var handlers = {
    room_state: function (s) {
      joined = true;
      roomVersion = s.room_version;
      $("join-form").hidden = true;
      $("queue-controls").hidden = !isHost;
      $("leave-room").hidden = false;
      $("close-room").hidden = !isHost;
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
        $("participants").appendChild(participantItem(p));
      }
    },
    participant_left: function (p) {
      var li = document.querySelector('[data-participant="' + p.participant_id + '"]');
      if (li) li.remove();
    },
    room_closed: function () { closed("The host closed this room."); },
    ping: function (p) { send("pong", {timestamp: p.timestamp}); },
    ack: function (a) {
      if (a.request_id === "join" && a.success) me = a.result.participant_id;
      if (a.request_id === "leave" && a.success) { closed("You left the room."); window.location.href = "/rooms/"; }
    },
    error: function (e) {
      if (!joined) { $("join-form").hidden = false; $("join-error").textContent = e.message; }
      else { $("room-status").textContent = e.message; }
    },
    player_state: function () {}, leader_status: function () {}
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
      send("join_room", {room_id: roomId, name: guestName, password: password, request_id: "join"});
    };
    socket.onmessage = function (message) {
      var frame;
      try { frame = JSON.parse(message.data); } catch (e) { return; }
      var handler = handlers[frame[0]];
      if (!handler) return;
      if (frame[1] && typeof frame[1] === "object" && frame[0] !== "room_state" && !fresh(frame[1])) return;
      handler(frame[1]);
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
  $("skip").addEventListener("click", function () { send("play_next", {}); });
  $("guests-can-queue").addEventListener("change", function () {
    send("set_guests_can_queue", {allowed: this.checked});
  });
  $("leave-room").addEventListener("click", function () { send("leave_room", {request_id: "leave"}); });
  $("close-room").addEventListener("click", function () {
    if (window.confirm("Close this room for everyone?")) send("close_room", {});
  });
  document.addEventListener("keydown", function (event) {
    if (event.target.tagName === "INPUT") return;
    if (event.key === "ArrowRight" || event.key === "PageDown") turn(1);
    if (event.key === "ArrowLeft" || event.key === "PageUp") turn(-1);
  });

  // the karaoke player, shown on the room's display (/rooms/<id>/display)
  $("play-button").addEventListener("click", function () { send("play_song", {}); });
  $("pause-button").addEventListener("click", function () { send("pause_song", {}); });
  $("volume").addEventListener("change", function () { send("set_volume", {volume: Number(this.value)}); });
  $("display-link-button").addEventListener("click", function () {
    fetch("/rooms/" + roomId + "/display-token", {method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": root.dataset.csrf}, body: "{}"})
      .then(function (r) { return r.json(); })
      .then(function (body) {
        if (!body.url) return;
        $("display-link").href = body.url;
        $("display-link").hidden = false;
      });
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
            if (isHost) {
              var pick = button(hit.title + (hit.artist ? " — " + hit.artist : ""), "Show this song", function () {
                send("select_song", {song_id: hit.id});
                $("picker-results").innerHTML = "";
                $("song-picker").value = "";
              });
              pick.classList.add("pick");
              li.appendChild(pick);
            } else {
              li.appendChild(document.createTextNode(hit.title + (hit.artist ? " — " + hit.artist : "")));
            }
            li.appendChild(document.createTextNode(" "));
            var queue = button("+ queue", "Add to the karaoke queue", function () {
              send("queue_song", {id: "song:" + hit.id, source: "library", song_id: hit.id,
                                  title: hit.title, artist: hit.artist || ""});
            });
            queue.classList.add("queue");
            li.appendChild(queue);
            $("picker-results").appendChild(li);
          });
        });
    }, 180);
  });

  $("join-form").addEventListener("submit", function (event) {
    event.preventDefault();
    guestName = $("guest-name").value.trim();
    password = $("room-password").value;
    $("join-error").textContent = "";
    if (socket) socket.close();
    joined = false;
    connect();
  });

  var member = root.dataset.authenticated === "1" || guestName !== "";
  if (!member || (root.dataset.hasPassword === "1" && !isHost && guestName === "")) {
    $("join-form").hidden = false;
    $("guest-name").hidden = root.dataset.authenticated === "1";
    $("room-password").hidden = root.dataset.hasPassword !== "1";
  }
  if (isHost || (member && (root.dataset.hasPassword !== "1" || guestName !== ""))) connect();
})();
