// Results as you type: debounced requests to /api/songs/search, stale answers dropped,
// arrow keys move through results, Enter opens one, matches highlighted; a song found by its
// lyrics shows the matching lines.
(function () {
  "use strict";
  var input = document.getElementById("song-search");
  var list = document.getElementById("results");
  var status = document.getElementById("search-status");
  if (!input) return;
  var initial = list.innerHTML;
  var timer = null;
  var inflight = null;
  var active = -1;

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }

  function highlight(text, query) {
    var words = query.trim().split(/\s+/).filter(Boolean).map(function (w) {
      return w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    });
    var safe = escapeHtml(text);
    if (!words.length) return safe;
    var pattern = new RegExp("(" + words.map(escapeHtml).join("|") + ")", "gi");
    return safe.replace(pattern, "<mark>$1</mark>");
  }

  function detailUrl(id) {
    return input.dataset.detail.replace(/0\/$/, id + "/");
  }

  function render(data, query) {
    active = -1;
    if (!data.results.length) {
      list.innerHTML = "";
      status.textContent = "No songs match “" + query + "”.";
      return;
    }
    status.textContent = data.count + (data.count === 1 ? " song" : " songs");
    list.innerHTML = data.results.map(function (hit) {
      var thumb = hit.thumbnail_url ? '<img src="' + escapeHtml(hit.thumbnail_url) + '" alt="" loading="lazy">' : "";
      return '<li role="option" data-url="' + detailUrl(hit.id) + '"><a href="' + detailUrl(hit.id) + '">' + thumb +
        '</a><div><a class="title" href="' + detailUrl(hit.id) + '">' + highlight(hit.title, query) +
        '</a><br><span class="muted">' + highlight(hit.artist || "", query) +
        (hit.key ? " · " + escapeHtml(hit.key) : "") + "</span>" +
        // the server escapes the lyric text and adds only <mark>: safe as HTML
        (hit.snippet ? '<br><span class="snippet">“' + hit.snippet + "”</span>" : "") +
        "</div></li>";
    }).join("");
  }

  function run() {
    var query = input.value.trim();
    if (inflight) inflight.abort();
    if (!query) {
      list.innerHTML = initial;
      status.textContent = "";
      return;
    }
    inflight = new AbortController();
    var url = input.dataset.endpoint + "?q=" + encodeURIComponent(query) + "&limit=30";
    fetch(url, {signal: inflight.signal, headers: {"Accept": "application/json"}})
      .then(function (response) {
        return response.json().then(function (body) { return {ok: response.ok, body: body}; });
      })
      .then(function (answer) {
        if (!answer.ok) {
          list.innerHTML = "";
          status.textContent = (answer.body.error && answer.body.error.message) || "Search failed.";
          return;
        }
        render(answer.body, query);
      })
      .catch(function (error) {
        if (error.name === "AbortError") return;
        status.textContent = "Search is unavailable right now; try again in a moment.";
      });
  }

  function move(step) {
    var items = list.querySelectorAll("li[data-url]");
    if (!items.length) return;
    if (active >= 0) items[active].classList.remove("active");
    active = (active + step + items.length) % items.length;
    items[active].classList.add("active");
    items[active].scrollIntoView({block: "nearest"});
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(run, 180);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "ArrowDown") { event.preventDefault(); move(1); }
    else if (event.key === "ArrowUp") { event.preventDefault(); move(-1); }
    else if (event.key === "Enter") {
      var items = list.querySelectorAll("li[data-url]");
      if (active >= 0 && items[active]) window.location.href = items[active].dataset.url;
    }
  });
})();
