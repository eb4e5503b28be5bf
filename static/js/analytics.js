// The analytics dashboard: Chart.js charts that follow the theme, recent plays, the settings
// menu, and the history import with a progress bar.
(function () {
  "use strict";
  var root = document.getElementById("analytics");
  if (!root || !window.Chart) return;
  var charts = {};
  var recentPage = 1;
  var $ = function (id) { return document.getElementById(id); };

  function palette() {
    var css = getComputedStyle(document.documentElement);
    return {text: css.getPropertyValue("--text").trim(), muted: css.getPropertyValue("--muted").trim(),
            grid: css.getPropertyValue("--border").trim(), accent: css.getPropertyValue("--accent").trim(),
            ok: css.getPropertyValue("--ok").trim()};
  }

  function options() {
    var c = palette();
    return {responsive: true, animation: false, plugins: {legend: {display: false}},
      scales: {x: {ticks: {color: c.muted}, grid: {color: c.grid}},
               y: {ticks: {color: c.muted}, grid: {color: c.grid}, beginAtZero: true}}};
  }

  // Truthful empty states: a blank chart says so, with what to do about it.
  function empty(id, isEmpty) {
    var note = document.querySelector('.empty[data-for="' + id + '"]');
    note.textContent = "No plays in this range. Choose a longer range above, or import your Spotify history below.";
    note.hidden = !isEmpty;
    $(id).closest("section").classList.toggle("is-empty", isEmpty);
  }

  function draw(id, type, labels, values, horizontal) {
    empty(id, values.length === 0);
    var c = palette();
    var config = {type: type, data: {labels: labels, datasets: [{data: values, borderColor: c.accent,
      backgroundColor: type === "line" ? c.accent + "33" : c.ok, fill: type === "line", tension: .25}]},
      options: options()};
    if (horizontal) config.options.indexAxis = "y";
    if (charts[id]) charts[id].destroy();
    charts[id] = new Chart($(id), config);
  }

  function recolor() {
    var c = palette();
    Object.keys(charts).forEach(function (id) {
      var chart = charts[id];
      ["x", "y"].forEach(function (axis) {
        chart.options.scales[axis].ticks.color = c.muted;
        chart.options.scales[axis].grid.color = c.grid;
      });
      chart.data.datasets.forEach(function (set) {
        set.borderColor = c.accent;
        set.backgroundColor = chart.config.type === "line" ? c.accent + "33" : c.ok;
      });
      chart.update();
    });
  }
  window.songhubCharts = charts;  // for the browser tests
  document.addEventListener("songhub:themechange", recolor);

  function get(url) {
    return fetch(url, {headers: {"Accept": "application/json"}}).then(function (r) { return r.json(); });
  }

  function load() {
    var days = $("range").value;
    get("/analytics/playsPerDay/?days=" + days).then(function (d) {
      draw("chart-days", "line", d.days.map(function (x) { return x.date; }), d.days.map(function (x) { return x.plays; }));
    });
    get("/analytics/top/?limit=10&days=" + days).then(function (d) {
      draw("chart-tracks", "bar", d.tracks.map(function (x) { return x.name; }), d.tracks.map(function (x) { return x.plays; }), true);
      draw("chart-artists", "bar", d.artists.map(function (x) { return x.name; }), d.artists.map(function (x) { return x.plays; }), true);
    });
    get("/analytics/heatmap/?days=" + days).then(function (d) {
      var max = Math.max(1, Math.max.apply(null, d.grid.map(function (row) { return Math.max.apply(null, row); })));
      empty("heatmap", d.grid.every(function (row) { return row.every(function (n) { return n === 0; }); }));
      var names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
      $("heatmap").innerHTML = d.grid.map(function (row, i) {
        return "<tr><th>" + names[i] + "</th>" + row.map(function (n) {
          return '<td title="' + n + ' plays" style="background: rgba(29,185,84,' + (n / max).toFixed(2) + ')"></td>';
        }).join("") + "</tr>";
      }).join("");
    });
    loadStatus();
    loadRecent();
  }

  function loadStatus() {
    get("/analytics/status/").then(function (s) {
      $("status-dot").style.background = s.color;
      $("status-label").textContent = s.status + " · " + s.mode;
      $("status-label").className = "status-badge status-" + s.status.replace(/ /g, "-");
      $("status-error").textContent = s.error ? "Polling failed: " + s.error : "";
      $("status-error").hidden = !s.error;
    });
  }

  function text(value) { var span = document.createElement("span"); span.textContent = value; return span.innerHTML; }

  function loadRecent() {
    get("/analytics/listeningHistory/?page=" + recentPage).then(function (d) {
      document.querySelector("#recent tbody").innerHTML = d.items.map(function (p) {
        return "<tr><td>" + text(new Date(p.played_at).toLocaleString()) + "</td><td>" + text(p.track) +
          "</td><td>" + text(p.artists) + "</td></tr>";
      }).join("") || '<tr><td colspan="3" class="muted">No plays yet.</td></tr>';
      $("recent-prev").disabled = recentPage === 1;
      $("recent-next").disabled = !d.has_next;
    });
  }

  $("range").addEventListener("change", load);
  $("recent-prev").addEventListener("click", function () { recentPage--; loadRecent(); });
  $("recent-next").addEventListener("click", function () { recentPage++; loadRecent(); });

  var menu = $("settings-menu");
  $("settings-button").addEventListener("click", function (event) {
    event.stopPropagation();
    menu.hidden = !menu.hidden;
    this.setAttribute("aria-expanded", String(!menu.hidden));
  });
  document.addEventListener("click", function (event) {
    if (!menu.hidden && !menu.contains(event.target)) menu.hidden = true;
  });
  Array.prototype.forEach.call(menu.querySelectorAll("form[data-confirm]"), function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
  Array.prototype.forEach.call(menu.querySelectorAll("form[data-prompt]"), function (form) {
    form.addEventListener("submit", function (event) {
      var typed = window.prompt(form.dataset.prompt, "");
      if (typed === null) { event.preventDefault(); return; }
      form.querySelector('input[name="confirm"]').value = typed;
    });
  });

  function upload(url) {
    var file = $("import-file").files[0];
    if (!file) { $("import-message").textContent = "Choose my_spotify_data.zip first."; return null; }
    var body = new FormData();
    body.append("file", file);
    return fetch(url, {method: "POST", body: body, headers: {"X-CSRFToken": root.dataset.csrf}})
      .then(function (r) { return r.json().then(function (b) { return {ok: r.ok, body: b}; }); });
  }

  // Both buttons upload the file and get a job back; the worker does the reading.
  function follow(statusUrl, showProgress, done) {
    var bar = $("import-progress");
    bar.hidden = !showProgress;
    var timer = setInterval(function () {
      get(statusUrl).then(function (s) {
        bar.max = Math.max(1, s.total);
        bar.value = s.done;
        if (showProgress) $("import-message").textContent = s.status + ": " + s.done + " / " + s.total;
        if (s.status === "done" || s.status === "failed") {
          clearInterval(timer);
          if (s.status === "failed") { $("import-message").textContent = s.error; return; }
          done(s);
        }
      });
    }, 500);
  }

  $("import-analyze").addEventListener("click", function () {
    var sent = upload("/analytics/analyzeHistoricalImport/");
    if (!sent) return;
    $("import-message").textContent = "Analyzing…";
    sent.then(function (a) {
      if (!a.ok) { $("import-message").textContent = a.body.error.message; return; }
      follow(a.body.status_url, false, function (s) {
        $("import-stats").textContent = JSON.stringify(s.stats, null, 1);
        $("import-message").textContent = s.stats.to_import + " plays to import.";
        $("import-run").disabled = s.stats.to_import === 0;
      });
    });
  });

  $("import-run").addEventListener("click", function () {
    var sent = upload("/analytics/executeHistoricalImport/");
    if (!sent) return;
    $("import-run").disabled = true;
    sent.then(function (a) {
      if (!a.ok) { $("import-message").textContent = a.body.error.message; return; }
      follow(a.body.status_url, true, function (s) {
        $("import-message").textContent = "Imported " + s.done + " plays.";
        load();
      });
    });
  });

  load();
})();
