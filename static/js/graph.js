/* The transition graph page: sigma.js (WebGL) over a graphology graph, ForceAtlas2 in a web
 * worker, live updates over /ws/graph. Interaction rules from the seed (5.4): pointerdown/up
 * with < 5 px movement is a click, more is a drag; click selects one, Ctrl+click toggles,
 * Shift+click adds the path from the last selected node; keys D/H/Space/Esc/Ctrl+A; 150 ms click
 * debounce; hit area = radius + 10 px. Everything added here is removed by destroy(), which
 * runs on pagehide (no leaked listeners, workers or sockets).
 *
 * The frontend layer of the artist rule: validNode() drops every node whose primary artists
 * fail the rule (the same pattern as graph/identity.py, handed over by the page) before it
 * reaches the graph, whatever the API sent. There is no switch to show them. */
(function () {
  "use strict";

  var CLICK_PX = 5, DEBOUNCE_MS = 150, HIT_EXTRA_PX = 10;
  // The layout settles in a few seconds; stopping it then keeps the frame rate of large graphs
  // up (bench/graph.py: 5,000 nodes draw at ~56 fps paused, far less while FA2 runs). Space resumes.
  var LAYOUT_SECONDS = 5;

  function createRule(spec) {
    var invalid = new RegExp(spec.invalid_artist, "i");
    var unknownTitles = new Set(spec.unknown_titles);
    function validArtist(name) {
      return typeof name === "string" && /\w/.test(name) && !invalid.test(name);
    }
    function validTitle(title) {
      if (typeof title !== "string" || !/\w/.test(title)) return false;
      var core = title.replace(/[(\[].*$/, "").normalize("NFKD").replace(/[\u0300-\u036f]/g, "")
        .toLowerCase().replace(/\s+/g, " ").trim();
      return !unknownTitles.has(core);
    }
    function validNode(node) {
      if (!node || !Array.isArray(node.artists)) return false;
      var primaries = node.artists.filter(function (a) { return a && a.role === "primary"; });
      return primaries.length > 0 && primaries.every(function (a) { return validArtist(a.name); }) &&
        validTitle(node.title);
    }
    return { validNode: validNode, validArtist: validArtist };
  }

  function mount(root) {
    var rule = createRule(JSON.parse(document.getElementById("graph-rule").textContent));
    var container = root.querySelector("#graph-canvas");
    var panel = root.querySelector("#graph-panel");
    var status = root.querySelector("#graph-status");
    var debugBox = root.querySelector("#graph-debug");
    var helpBox = root.querySelector("#graph-help");
    var graph = new graphology.Graph({ type: "directed", multi: false });
    var listeners = [];
    var selected = new Set();
    var anchor = null, layout = null, socket = null, renderer = null, destroyed = false;
    var params = { seed: null, depth: 2, min_count: 1, limit: 500 };
    var pointer = null, lastClick = 0, paused = false, rafId = null, reloadTimer = null;
    var settleTimer = null;
    var fps = { frames: 0, since: performance.now(), value: 0 };

    function on(target, type, fn, options) {
      target.addEventListener(type, fn, options);
      listeners.push([target, type, fn, options]);
    }
    function css(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim(); }
    function palette() { return { node: css("--muted") || "#888", selected: css("--accent") || "#2457c5", text: css("--text") || "#222", edge: css("--border") || "#ccc" }; }
    var colors = palette();

    renderer = new Sigma(graph, container, {
      renderEdgeLabels: false, labelRenderedSizeThreshold: 8, defaultEdgeType: "arrow",
      labelColor: { color: colors.text }, zIndex: true,
      nodeReducer: function (node, data) {
        var out = Object.assign({}, data);
        out.color = selected.has(node) ? colors.selected : colors.node;
        out.zIndex = selected.has(node) ? 1 : 0;
        return out;
      },
      edgeReducer: function (edge, data) { return Object.assign({}, data, { color: colors.edge }); }
    });

    // -- data -------------------------------------------------------------------------------
    function label(node) {
      var primaries = node.artists.filter(function (a) { return a.role === "primary"; });
      return primaries.map(function (a) { return a.name; }).join(" & ") + " – " + node.title;
    }

    function applyData(body) {
      var nodes = (body.nodes || []).filter(rule.validNode);  // the frontend layer of the rule
      var keep = new Set(nodes.map(function (n) { return String(n.id); }));
      graph.forEachNode(function (key) { if (!keep.has(key)) graph.dropNode(key); });
      nodes.forEach(function (n) {
        var key = String(n.id), size = 3 + Math.min(12, Math.sqrt(n.degree || 1) * 2);
        var attrs = { label: label(n), size: size, track: n };
        if (graph.hasNode(key)) graph.mergeNodeAttributes(key, attrs);
        else graph.addNode(key, Object.assign(attrs, { x: Math.random() * 100, y: Math.random() * 100 }));
      });
      graph.clearEdges();
      (body.edges || []).forEach(function (e) {
        var a = String(e.from), b = String(e.to);
        if (graph.hasNode(a) && graph.hasNode(b) && a !== b && !graph.hasEdge(a, b))
          graph.addEdge(a, b, { size: 1 + Math.min(5, Math.log2(e.setlists + 1)), weight: e.setlists, data: e });
      });
      selected.forEach(function (k) { if (!graph.hasNode(k)) selected.delete(k); });
      status.textContent = graph.order + " tracks · " + graph.size + " transitions";
      restartLayout();
    }

    function load() {
      var query = new URLSearchParams();
      Object.keys(params).forEach(function (k) { if (params[k] !== null) query.set(k, params[k]); });
      return fetch(root.dataset.api + "?" + query.toString(), { headers: { Accept: "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (body) {
          if (destroyed) return;
          if (body.error) { status.textContent = body.error.message; return; }
          applyData(body);
          root.dataset.loads = String(Number(root.dataset.loads || 0) + 1);
        });
    }

    function restartLayout() {
      if (layout) { layout.kill(); layout = null; }
      if (graph.order === 0) return;
      layout = new FA2Layout(graph, { settings: { gravity: 1, scalingRatio: 10, slowDown: 5, barnesHutOptimize: graph.order > 500 } });
      if (!paused) runLayout();
      root.dataset.layout = paused ? "paused" : "running";
    }

    function runLayout() {
      layout.start();
      clearTimeout(settleTimer);
      settleTimer = setTimeout(function () {
        if (layout && layout.isRunning()) { layout.stop(); paused = true; root.dataset.layout = "paused"; }
      }, LAYOUT_SECONDS * 1000);
    }

    // -- selection ----------------------------------------------------------------------------
    function pathBetween(from, to) {
      var previous = new Map([[from, null]]), queue = [from];
      while (queue.length) {
        var current = queue.shift();
        if (current === to) break;
        graph.forEachNeighbor(current, function (next) {
          if (!previous.has(next)) { previous.set(next, current); queue.push(next); }
        });
      }
      if (!previous.has(to)) return [to];
      var path = [];
      for (var at = to; at !== null; at = previous.get(at)) path.unshift(at);
      return path;
    }

    function clickNode(node, event) {
      var now = performance.now();
      if (now - lastClick < DEBOUNCE_MS) return;  // debounce double hits
      lastClick = now;
      if (event.ctrlKey || event.metaKey) {
        if (selected.has(node)) selected.delete(node); else selected.add(node);
      } else if (event.shiftKey && anchor && graph.hasNode(anchor)) {
        pathBetween(anchor, node).forEach(function (k) { selected.add(k); });
      } else {
        selected.clear();
        selected.add(node);
      }
      anchor = node;
      selectionChanged();
      if (selected.has(node)) showPanel(node);
    }

    function selectionChanged() {
      root.dataset.selected = Array.from(selected).sort().join(",");
      renderer.refresh();
    }

    function showPanel(key) {
      var track = graph.getNodeAttribute(key, "track");
      panel.innerHTML = "";
      var title = document.createElement("h3");
      title.textContent = label(track) + (track.camelot ? " (" + track.camelot + ")" : "");
      panel.appendChild(title);
      Promise.all([
        fetch(root.dataset.api + "/tracks/" + track.id + "/next?limit=15").then(function (r) { return r.json(); }),
        fetch(root.dataset.api + "/setlists?limit=15&track=" + track.id).then(function (r) { return r.json(); })
      ]).then(function (answers) {
        if (destroyed) return;
        var next = document.createElement("ol");
        next.id = "graph-next";
        ((answers[0] || {}).next || []).filter(function (i) { return rule.validNode(i.track); }).forEach(function (item) {
          var li = document.createElement("li");
          li.textContent = label(item.track) + " · " + item.setlists + " setlists";
          if (item.camelot_compatible) { var ok = document.createElement("span"); ok.className = "camelot-ok"; ok.textContent = " ♪ " + item.track.camelot; li.appendChild(ok); }
          next.appendChild(li);
        });
        var sets = document.createElement("ul");
        sets.id = "graph-setlists";
        ((answers[1] || {}).items || []).forEach(function (s) {
          var li = document.createElement("li");
          li.textContent = (s.date || "") + " " + (s.dj || "") + (s.event ? " @ " + s.event : "");
          sets.appendChild(li);
        });
        panel.append(Object.assign(document.createElement("h4"), { textContent: "DJs who play it also play" }), next,
          Object.assign(document.createElement("h4"), { textContent: "Setlists" }), sets);
      });
    }

    // -- pointer: click vs drag with an extended hit area -----------------------------------
    function localPoint(event) {
      var rect = container.getBoundingClientRect();
      return { x: event.clientX - rect.left, y: event.clientY - rect.top };
    }

    function nodeAt(point) {
      var best = null, bestDistance = Infinity;
      graph.forEachNode(function (key) {
        var display = renderer.getNodeDisplayData(key);
        if (!display || display.hidden) return;
        var at = renderer.framedGraphToViewport(display);
        var radius = renderer.scaleSize(display.size) + HIT_EXTRA_PX;
        var distance = Math.hypot(at.x - point.x, at.y - point.y);
        if (distance <= radius && distance < bestDistance) { best = key; bestDistance = distance; }
      });
      return best;
    }

    function onPointerDown(event) {
      if (event.button !== 0) return;
      var start = localPoint(event);
      pointer = { start: start, node: nodeAt(start), dragging: false };
      if (pointer.node) {
        renderer.getCamera().disable();
        // freeze the graph's frame while dragging, or moving a node past the edge would
        // re-normalise every position and the node would jump away from the pointer
        if (!renderer.getCustomBBox()) renderer.setCustomBBox(renderer.getBBox());
      }
    }

    function onPointerMove(event) {
      if (!pointer || !pointer.node) return;
      var at = localPoint(event);
      if (!pointer.dragging && Math.hypot(at.x - pointer.start.x, at.y - pointer.start.y) >= CLICK_PX) pointer.dragging = true;
      if (pointer.dragging) {
        var position = renderer.viewportToGraph(at);
        graph.mergeNodeAttributes(pointer.node, { x: position.x, y: position.y, fixed: true });
      }
    }

    function onPointerUp(event) {
      if (!pointer) return;
      var at = localPoint(event), state = pointer;
      pointer = null;
      renderer.getCamera().enable();
      var moved = Math.hypot(at.x - state.start.x, at.y - state.start.y);
      root.dataset.lastGesture = moved < CLICK_PX ? "click" : "drag";
      if (moved < CLICK_PX && state.node) clickNode(state.node, event);
    }

    // -- keys ---------------------------------------------------------------------------------
    function onKey(event) {
      var target = event.target;
      if (target && (target.tagName === "INPUT" || target.tagName === "SELECT" || target.tagName === "TEXTAREA")) return;
      var key = event.key;
      if ((event.ctrlKey || event.metaKey) && (key === "a" || key === "A")) {
        event.preventDefault();
        graph.forEachNode(function (k) { selected.add(k); });
        selectionChanged();
      } else if (event.ctrlKey || event.metaKey || event.altKey) {
        return;
      } else if (key === "d" || key === "D") {
        debugBox.hidden = !debugBox.hidden;
      } else if (key === "h" || key === "H") {
        helpBox.hidden = !helpBox.hidden;
      } else if (key === " ") {
        event.preventDefault();
        paused = !paused;
        if (layout) { if (paused) { layout.stop(); clearTimeout(settleTimer); } else runLayout(); }
        root.dataset.layout = paused ? "paused" : "running";
      } else if (key === "Escape") {
        selected.clear();
        anchor = null;
        selectionChanged();
      }
    }

    function frame(now) {
      fps.frames += 1;
      if (now - fps.since >= 1000) {
        fps.value = Math.round(fps.frames * 1000 / (now - fps.since));
        fps.frames = 0;
        fps.since = now;
        if (!debugBox.hidden) debugBox.textContent = "fps " + fps.value + " · nodes " + graph.order + " · edges " + graph.size + " · layout " + (paused ? "paused" : "running");
      }
      rafId = requestAnimationFrame(frame);
    }

    // -- search, controls, live updates ---------------------------------------------------
    var searchBox = root.querySelector("#graph-search"), results = root.querySelector("#graph-results");
    var searchTimer = null;
    function onSearchInput() {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(function () {
        var q = searchBox.value.trim();
        if (!q) { results.hidden = true; return; }
        fetch(root.dataset.api + "/tracks/search?q=" + encodeURIComponent(q)).then(function (r) { return r.json(); }).then(function (body) {
          if (destroyed) return;
          results.innerHTML = "";
          (body.items || []).filter(rule.validNode).forEach(function (n) {
            var li = document.createElement("li");
            li.textContent = label(n);
            li.dataset.id = n.id;
            results.appendChild(li);
          });
          results.hidden = !results.children.length;
        });
      }, 200);
    }
    function onResultClick(event) {
      var id = event.target.dataset && event.target.dataset.id;
      if (!id) return;
      results.hidden = true;
      params.seed = Number(id);
      load().then(function () { if (graph.hasNode(id)) { selected.clear(); selected.add(id); anchor = id; selectionChanged(); showPanel(id); } });
    }
    function onControls() {
      params.depth = Number(root.querySelector("#graph-depth").value);
      params.min_count = Math.max(1, Number(root.querySelector("#graph-min").value) || 1);
      load();
    }

    function connect() {
      var scheme = location.protocol === "https:" ? "wss://" : "ws://";
      socket = new WebSocket(scheme + location.host + root.dataset.ws);
      socket.onmessage = function (message) {
        var frameData;
        try { frameData = JSON.parse(message.data); } catch (e) { return; }
        if (frameData[0] !== "graph_updated") return;
        clearTimeout(reloadTimer);
        reloadTimer = setTimeout(load, 300);  // coalesce bursts of imports
      };
      socket.onopen = function () { root.dataset.live = "open"; };
      socket.onclose = function () {
        root.dataset.live = "closed";
        if (!destroyed) reloadTimer = setTimeout(connect, 3000);
      };
    }

    var observer = new MutationObserver(function () { colors = palette(); renderer.setSetting("labelColor", { color: colors.text }); renderer.refresh(); });
    observer.observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });

    on(container, "pointerdown", onPointerDown, true);
    on(window, "pointermove", onPointerMove);
    on(window, "pointerup", onPointerUp);
    on(document, "keydown", onKey);
    on(searchBox, "input", onSearchInput);
    on(results, "click", onResultClick);
    on(root.querySelector("#graph-depth"), "change", onControls);
    on(root.querySelector("#graph-min"), "change", onControls);
    rafId = requestAnimationFrame(frame);
    connect();
    load();

    function destroy() {
      if (destroyed) return;
      destroyed = true;
      listeners.forEach(function (l) { l[0].removeEventListener(l[1], l[2], l[3]); });
      listeners = [];
      observer.disconnect();
      cancelAnimationFrame(rafId);
      clearTimeout(reloadTimer);
      clearTimeout(searchTimer);
      clearTimeout(settleTimer);
      if (layout) { layout.kill(); layout = null; }
      if (socket) { socket.onclose = null; socket.close(); socket = null; }
      root.dataset.live = "closed";
      renderer.kill();
    }

    return {
      graph: graph, renderer: renderer, destroy: destroy, load: load, rule: rule,
      fps: function () { return fps.value; },
      selected: function () { return Array.from(selected).sort(); },
      activeListeners: function () { return listeners.length; },
      layoutRunning: function () { return !!(layout && layout.isRunning()); },
      nodeAt: nodeAt, params: params
    };
  }

  function start() {
    var root = document.getElementById("graph-app");
    if (!root || typeof Sigma === "undefined") return;
    var app = mount(root);
    window.songhubGraph = app;
    window.addEventListener("pagehide", function stop() {
      app.destroy();
      window.removeEventListener("pagehide", stop);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
