// The karaoke display (rooms/display.html): joins the room over /ws as the `display` client,
// plays the player's entry (audio/video files, YouTube through the IFrame Player API, or a
// library song's pages turning over its duration), follows play/pause/seek/volume from the host,
// reports what it really plays (`update_player_state`, finite numbers only) and, when a song
// ends, sends the seed's `queue_update` so the server moves the next entry into the player.
(function () {
  "use strict";
  var root = document.getElementById("display");
  if (!root) return;
  var $ = function (id) { return document.getElementById(id); };
  var roomId = Number(root.dataset.roomId);
  // a song sheet without a duration turns a page this often (ROOMS_DISPLAY_SECONDS_PER_PAGE)
  var SECONDS_PER_PAGE = Number(root.dataset.secondsPerPage) || 30;
  var socket = null, attempts = 0, admitted = true;
  var player = {entry: null, play_state: "paused", volume: 1, version: -1};
  var queue = [];
  var current = null;  // what is loaded: {entry, kind, media?, clock?, pages?}
  var reportTimer = null;

  function send(name, payload) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify([name, payload || {}]));
  }
  function status(text) { $("display-status").textContent = text; }
  function finite(x) { return typeof x === "number" && isFinite(x) && x >= 0 ? x : 0; }

  // -- what is playing -----------------------------------------------------------------
  function kindOf(entry) {
    var url = entry.video_url || "";
    if (entry.source === "youtube" || /\/embed\/[A-Za-z0-9_-]+/.test(url)) return "youtube";
    if (entry.song_id && (!url || /\/songs\/\d+\/pages\//.test(url))) return "pages";
    if (/\.(ogg|opus|mp3|wav|m4a|flac|aac)(\?|$)/i.test(url)) return "audio";
    return url ? "video" : "none";
  }

  function position() {
    if (!current) return 0;
    if (current.media) return finite(current.media.currentTime);
    if (current.clock) return current.clock.elapsed + (current.clock.since ? (Date.now() - current.clock.since) / 1000 : 0);
    if (current.yt && current.yt.getCurrentTime) return finite(current.yt.getCurrentTime());
    return 0;
  }
  function duration() {
    if (!current) return 0;
    if (current.media) return finite(current.media.duration);
    if (current.clock) return current.clock.duration;
    if (current.yt && current.yt.getDuration) return finite(current.yt.getDuration());
    return 0;
  }
  function isPlaying() { return root.dataset.state === "playing"; }

  function unload() {
    if (current && current.media) { current.media.pause(); current.media.removeAttribute("src"); current.media.load(); }
    if (current && current.yt && current.yt.destroy) current.yt.destroy();
    if (current && current.clock && current.clock.timer) clearInterval(current.clock.timer);
    ["display-video", "display-audio", "display-youtube", "display-page"].forEach(function (id) { $(id).hidden = true; });
    current = null;
    root.dataset.state = "idle";
    root.dataset.entry = "";
  }

  function load(entry) {
    unload();
    if (!entry) { $("display-idle").hidden = false; $("display-now").textContent = ""; return; }
    $("display-idle").hidden = true;
    $("display-now").textContent = entry.title + (entry.artist ? " — " + entry.artist : "");
    current = {entry: entry, kind: kindOf(entry)};
    root.dataset.entry = entry.id || "";
    root.dataset.kind = current.kind;
    if (current.kind === "audio" || current.kind === "video") loadMedia(entry);
    else if (current.kind === "pages") loadPages(entry);
    else if (current.kind === "youtube") loadYouTube(entry);
    else { status("Nothing to play for “" + entry.title + "”; skipping."); setTimeout(ended, 3000); }
  }

  function loadMedia(entry) {
    var media = $(current.kind === "audio" ? "display-audio" : "display-video");
    current.media = media;
    media.hidden = false;
    media.volume = player.volume;
    media.src = entry.video_url;
    media.load();
    follow();
  }

  function loadPages(entry) {
    var img = $("display-page");
    img.hidden = false;
    current.pages = 1;
    current.clock = {elapsed: 0, since: 0, duration: finite(entry.duration), timer: null};
    showPage(1);
    fetch("/api/songs/" + entry.song_id, {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (song) {
        if (!current || current.entry !== entry) return;
        current.pages = song && song.page_count ? song.page_count : 1;
        if (!current.clock.duration) current.clock.duration = current.pages * SECONDS_PER_PAGE;
        follow();
      });
  }

  function showPage(page) {
    var img = $("display-page");
    if (img.dataset.page === String(page) && !img.hidden && img.src) return;
    img.src = "/songs/" + current.entry.song_id + "/pages/" + page;
    img.dataset.page = String(page);
    img.alt = "Page " + page;
  }

  function tickPages() {
    if (!current || !current.clock || !current.clock.duration) return;  // page count pending
    var t = position(), d = current.clock.duration;
    showPage(Math.min(current.pages, 1 + Math.floor(t / d * current.pages)));
    $("display-time").textContent = Math.floor(t) + " / " + Math.floor(d) + " s";
    if (t >= d) ended();
  }

  function loadYouTube(entry) {
    var api = root.dataset.youtubeApi;
    var match = /\/embed\/([A-Za-z0-9_-]+)/.exec(entry.video_url || "") || [null, entry.id];
    if (!api) { status("YouTube is not available here; skipping."); setTimeout(ended, 3000); return; }
    $("display-youtube").hidden = false;
    var start = function () {
      if (!current || current.entry !== entry) return;
      var holder = document.createElement("div");
      $("display-youtube").innerHTML = "";
      $("display-youtube").appendChild(holder);
      current.yt = new window.YT.Player(holder, {videoId: match[1], playerVars: {autoplay: 0, controls: 0},
        events: {
          onReady: function () { current.yt.setVolume(player.volume * 100); follow(); },
          onStateChange: function (e) {
            if (e.data === window.YT.PlayerState.ENDED) ended();
            else if (e.data === window.YT.PlayerState.PLAYING) playing(true);
            else if (e.data === window.YT.PlayerState.PAUSED) playing(false);
          },
          onError: function () { status("YouTube cannot play this video; skipping."); ended(); }
        }});
    };
    if (window.YT && window.YT.Player) { start(); return; }
    window.onYouTubeIframeAPIReady = start;
    var script = document.createElement("script");
    script.src = api;
    script.onerror = function () { status("YouTube could not be loaded; skipping."); setTimeout(ended, 3000); };
    document.head.appendChild(script);
  }

  // -- following the room ----------------------------------------------------------------
  function follow() {
    if (!current) return;
    var want = player.play_state === "playing" || player.play_state === "loading";
    if (current.media) {
      current.media.volume = player.volume;
      if (want && current.media.paused) {
        current.media.play().catch(function () { status("Click anywhere to start playback."); });
      } else if (!want && !current.media.paused) current.media.pause();
    } else if (current.clock) {
      var c = current.clock;
      if (want && !c.since) { c.since = Date.now(); c.timer = setInterval(tickPages, 250); playing(true); }
      else if (!want && c.since) {
        c.elapsed += (Date.now() - c.since) / 1000; c.since = 0;
        clearInterval(c.timer); c.timer = null; playing(false);
      }
    } else if (current.yt && current.yt.playVideo) {
      current.yt.setVolume(player.volume * 100);
      if (want) current.yt.playVideo(); else current.yt.pauseVideo();
    }
    root.dataset.volume = String(player.volume);
  }

  function playing(on) {
    root.dataset.state = on ? "playing" : "paused";
    status(on ? "Playing" : "Paused");
    var wanted = on ? "playing" : "paused";
    if (player.play_state !== wanted) report({play_state: wanted});
    clearInterval(reportTimer);
    if (on) reportTimer = setInterval(function () { report({}); }, 5000);
  }

  function report(changes) {
    if (!admitted || !current) return;
    changes.version = player.version;
    changes.current_time = Math.min(position(), 86400);
    var d = duration();
    if (d) changes.duration = Math.min(d, 86400);
    send("update_player_state", changes);
  }

  function ended() {
    if (!current || current.done) return;
    current.done = true;
    clearInterval(reportTimer);
    root.dataset.state = "ended";
    if (admitted) send("queue_update", {ended_entry_id: current.entry.id || null});
  }

  function seek(seconds) {
    if (!current) return;
    if (current.media) current.media.currentTime = seconds;
    else if (current.clock) { current.clock.elapsed = seconds; if (current.clock.since) current.clock.since = Date.now(); }
    else if (current.yt && current.yt.seekTo) current.yt.seekTo(seconds, true);
  }

  function applyPlayer(state) {
    if (typeof state.version === "number" && state.version < player.version) return;
    // a seek: a controller changed current_time (our own reports match where we are; other
    // changes, like pause, leave it as it was)
    var moved = current && state.entry && current.entry.id === state.entry.id &&
      typeof state.current_time === "number" && state.current_time !== player.current_time &&
      Math.abs(state.current_time - position()) > 2;
    player = state;
    if (moved) seek(state.current_time);
    var id = state.entry ? state.entry.id : null;
    if (!current || (current.entry.id || null) !== id || (!state.entry && current)) {
      if (state.entry || current) load(state.entry);
    }
    follow();
    if (!state.entry && queue.length && admitted) send("queue_update", {ended_entry_id: null});
  }

  function applyQueue(q) {
    queue = q.items || [];
    $("display-next").textContent = queue.length ? "Next: " + queue[0].entry.title + " · " + queue[0].singer : "";
    if (!player.entry && queue.length && admitted && player.version >= 0) send("queue_update", {ended_entry_id: null});
  }

  var handlers = {
    room_state: function (s) {  // (re)joined: try again, the host may have admitted us since
      admitted = true; applyQueue(s.queue); applyPlayer(s.player_state);
    },
    queue_update: applyQueue,
    player_state: applyPlayer,
    play_song: function () { player.play_state = "playing"; follow(); },
    pause_song: function () { player.play_state = "paused"; follow(); },
    set_volume: function (p) {
      var v = typeof p === "number" ? p : p && p.volume;  // the seed's number, or {volume}
      if (typeof v === "number" && isFinite(v)) { player.volume = v; follow(); }
    },
    ping: function (p) { send("pong", {timestamp: p.timestamp}); },
    room_closed: function () { status("The room was closed."); unload(); },
    error: function (e) {
      if (e.error_type === "FORBIDDEN" && /admit|allow/i.test(e.message)) {
        admitted = false;
        status("Waiting for the host to allow this display…");
      } else if (e.error_type !== "VALIDATION_ERROR") status(e.message);
    },
    ack: function () {}
  };

  function connect() {
    var proto = location.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(proto + "//" + location.host + "/ws");
    socket.onopen = function () {
      attempts = 0;
      $("display-conn").textContent = "●";
      send("handshake", {client_type: "display"});
      send("join_room", {room_id: roomId, name: "Display", display_token: root.dataset.token || undefined});
    };
    socket.onmessage = function (event) {
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      var handler = handlers[frame[0]];
      if (handler) handler(frame[1]);
    };
    socket.onclose = function (event) {
      $("display-conn").textContent = "○";
      if (event.code === 4001) return;  // room closed
      attempts += 1;
      setTimeout(connect, Math.min(10000, 500 * Math.pow(2, attempts)));
    };
  }

  ["display-audio", "display-video"].forEach(function (id) {
    var media = $(id);
    media.addEventListener("playing", function () { if (current && current.media === media) playing(true); });
    media.addEventListener("pause", function () { if (current && current.media === media && !media.ended) playing(false); });
    media.addEventListener("ended", function () { if (current && current.media === media) ended(); });
    media.addEventListener("error", function () {
      if (!current || current.media !== media || current.retried) { status("This file cannot be played; skipping."); ended(); return; }
      current.retried = true;  // the URL may have expired: ask the provider again, once
      var e = current.entry;
      fetch("/get_video_url", {method: "POST", credentials: "same-origin", headers: {"Content-Type": "application/json", "X-CSRFToken": root.dataset.csrf},
                               body: JSON.stringify({source: e.source, id: e.id})})
        .then(function (r) { return r.ok ? r.json() : {}; })
        .then(function (body) { if (body.video_url && current && current.entry === e) { media.src = body.video_url; media.load(); follow(); } else ended(); });
    });
  });
  document.addEventListener("click", follow);
  $("display-idle").hidden = false;
  connect();
})();
