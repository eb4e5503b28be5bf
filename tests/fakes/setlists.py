"""Loopback servers speaking the slices of MixesDB's MediaWiki API, the setlist.fm REST API
and the MusicBrainz web service that songhub's graph uses. Each records requests (path,
query, headers, monotonic time) and can be told to fail (`inject(status, headers, times)`).
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class LoopbackJSON:
    def __init__(self):
        self.requests: list[dict] = []
        self.injected: list[tuple[int, dict]] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return "http://%s:%d" % self.server.server_address[:2]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def inject(self, status: int, headers: dict | None = None, times: int = 1):
        with self.lock:
            self.injected += [(status, headers or {})] * times

    def route(self, path: str, query: dict, headers) -> tuple[int, dict]:
        raise NotImplementedError

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                parsed = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
                with fake.lock:
                    fake.requests.append({"path": parsed.path, "query": query,
                                          "headers": dict(self.headers), "at": time.monotonic()})
                    failure = fake.injected.pop(0) if fake.injected else None
                if failure:
                    status, body, headers = failure[0], {"error": "injected"}, failure[1]
                else:
                    status, body = fake.route(parsed.path, query, self.headers)
                    headers = {}
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

        return Handler


class FakeMixesDB(LoopbackJSON):
    """`/db/api.php?action=query&list=search&srsearch=` and `action=parse&pageid=`; a page is
    found when every word of the search appears in its wikitext or title."""

    api_path = "/db/api.php"

    def __init__(self):
        self.pages: dict[int, dict] = {}  # pageid -> {"title", "wikitext", "revid"}
        super().__init__()

    @property
    def api_url(self) -> str:
        return self.url + self.api_path

    def add_page(self, title: str, wikitext: str, revid: int = 1) -> int:
        pageid = len(self.pages) + 1000
        self.pages[pageid] = {"title": title, "wikitext": wikitext, "revid": revid}
        return pageid

    def route(self, path, query, headers):
        if path != self.api_path:
            return 404, {"error": "no such path"}
        if query.get("action") == "query" and query.get("list") == "search":
            words = query.get("srsearch", "").lower().split()
            hits = [{"pageid": pid, "title": p["title"], "ns": 0}
                    for pid, p in self.pages.items()
                    if words and all(w in (p["title"] + " " + p["wikitext"]).lower() for w in words)]
            return 200, {"query": {"search": hits[:int(query.get("srlimit", 10))]}}
        if query.get("action") == "parse":
            page = self.pages.get(int(query.get("pageid", 0)))
            if page is None:
                return 200, {"error": {"code": "missingtitle", "info": "The page doesn't exist."}}
            return 200, {"parse": {"title": page["title"], "pageid": int(query["pageid"]),
                                   "revid": page["revid"], "wikitext": page["wikitext"]}}
        return 400, {"error": {"code": "badvalue"}}


class FakeSetlistFm(LoopbackJSON):
    """`/rest/1.0/search/setlists?artistName=&p=` (20 per page) and `/rest/1.0/setlist/{id}`;
    requires `x-api-key`."""

    def __init__(self, api_key="setlistfm-key"):
        self.api_key = api_key
        self.setlists: list[dict] = []
        super().__init__()

    @property
    def api_url(self) -> str:
        return self.url + "/rest"

    def add_setlist(self, artist: str, songs: list, date="15-06-2019", venue="Stadium",
                    version="v1") -> str:
        sid = f"{len(self.setlists) + 1:08x}"
        self.setlists.append({
            "id": sid, "versionId": version, "eventDate": date,
            "artist": {"name": artist}, "venue": {"name": venue, "city": {"name": "Town"}},
            "tour": {"name": "Tour"}, "url": f"https://www.setlist.fm/setlist/{sid}.html",
            "sets": {"set": [{"song": [s if isinstance(s, dict) else {"name": s} for s in songs]}]}})
        return sid

    def route(self, path, query, headers):
        if headers.get("x-api-key") != self.api_key:
            return 403, {"code": 403, "message": "Forbidden"}
        if path == "/rest/1.0/search/setlists":
            items = [s for s in self.setlists
                     if s["artist"]["name"].lower() == query.get("artistName", "").lower()]
            page = int(query.get("p", 1))
            if not items:
                return 404, {"code": 404, "message": "not found"}
            return 200, {"type": "setlists", "itemsPerPage": 20, "page": page,
                         "total": len(items), "setlist": items[(page - 1) * 20:page * 20]}
        if path.startswith("/rest/1.0/setlist/"):
            found = next((s for s in self.setlists if s["id"] == path.rsplit("/", 1)[1]), None)
            return (200, found) if found else (404, {"code": 404})
        return 404, {"code": 404}


class FakeMusicBrainz(LoopbackJSON):
    """`/ws/2/recording?query=recording:"T" AND artist:"A"&fmt=json`, scored like MusicBrainz:
    100 for an exact title (and artist, when asked), else nothing."""

    def __init__(self):
        self.recordings: list[dict] = []
        super().__init__()

    @property
    def api_url(self) -> str:
        return self.url + "/ws/2"

    def add_recording(self, artist: str, title: str, isrcs=(), score: int = 100):
        self.recordings.append({"id": f"mbid-{len(self.recordings)}", "title": title,
                                "score": score, "isrcs": list(isrcs),
                                "artist-credit": [{"name": artist, "joinphrase": ""}]})

    def route(self, path, query, headers):
        import re

        if path != "/ws/2/recording":
            return 404, {"error": "not found"}
        fields = dict(re.findall(r'(recording|artist):"([^"]*)"', query.get("query", "")))
        hits = [r for r in self.recordings
                if r["title"].lower() == fields.get("recording", "").lower()
                and ("artist" not in fields
                     or r["artist-credit"][0]["name"].lower() == fields["artist"].lower())]
        return 200, {"count": len(hits), "offset": 0, "recordings": hits[:int(query.get("limit", 25))]}
