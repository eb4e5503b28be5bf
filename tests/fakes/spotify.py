"""A real HTTP server on loopback speaking the slice of Spotify's accounts service and Web API
songhub uses. Tests and benches point SPOTIFY_ACCOUNTS_URL and SPOTIFY_API_URL at it.

It plays either API dialect (`mode`): "extended" is the full Web API; "development" is what
Spotify serves Development Mode apps since 2026-03-09: 403 on the playlist `/tracks` path and
on the batch endpoints (`/v1/tracks?ids=`, `/v1/artists?ids=`, `/v1/albums?ids=`), playlist
entries under `item`, simplified playlists with `items: {href, total}`, and the removed fields
(`popularity`, `available_markets`, `followers`, `genres`, `country`, `email`, `product`,
`explicit_content`) absent. `/items` works in both.

Tokens it issues are random; `expire_all_tokens()` makes every current access token answer
401 (as an expired one does). Failures (429 with Retry-After, 5xx) can be injected; requests are
counted per endpoint and `latency` adds a delay to every answer.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class FakeSpotify:
    def __init__(self, client_id="songhub-app", client_secret="app-secret", latency=0.0,
                 mode="extended"):
        assert mode in ("extended", "development")
        self.client_id, self.client_secret, self.latency = client_id, client_secret, latency
        self.mode = mode
        self.in_flight = self.max_in_flight = 0  # concurrent GET /v1/tracks/{id}
        self.per_id_delay = 0.0  # extra time each GET /v1/tracks/{id} takes (overlap tests)
        self.per_id_429_after: int | None = None  # GET /v1/tracks/{id} answers 429 past this
        self.counts: Counter = Counter()
        self.tracks: dict[str, dict] = {}  # id -> Web API track object
        self.users: dict[str, dict] = {}  # refresh token -> {"id", "display_name"}
        self.codes: dict[str, str] = {}  # authorization code -> refresh token
        self.access: dict[str, str] = {}  # valid access token -> refresh token
        self.injected: list[tuple[int, dict, str]] = []
        self.history: dict[str, list[dict]] = {}  # spotify user id -> recently-played items
        self.playing: dict[str, dict | None] = {}  # spotify user id -> currently-playing body
        self.requests_by_user: Counter = Counter()
        self.playlists: dict[str, list[dict]] = {}  # spotify user id -> playlist objects
        self.playlist_tracks: dict[str, list[str]] = {}  # playlist id -> track ids
        self.features: dict[str, dict] = {}  # track id -> audio features (tempo, key, mode)
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

    # -- test controls --------------------------------------------------------------------
    def add_user(self, spotify_id: str, display_name: str = "") -> str:
        """A user who authorized the app; returns their refresh token."""
        refresh = secrets.token_hex(8)
        self.users[refresh] = {"id": spotify_id, "display_name": display_name or spotify_id}
        return refresh

    def authorize(self, spotify_id: str, display_name: str = "") -> str:
        """What Spotify does when the user clicks "Agree": returns the code for the redirect."""
        refresh = next((r for r, u in self.users.items() if u["id"] == spotify_id), None) \
            or self.add_user(spotify_id, display_name)
        code = secrets.token_hex(8)
        self.codes[code] = refresh
        return code

    def play(self, spotify_id: str, track_id: str, played_at: str):
        """Add a finished play to the user's recently-played history (newest first)."""
        item = {"track": self.tracks[track_id], "played_at": played_at,
                "context": None}
        self.history.setdefault(spotify_id, []).insert(0, item)

    def add_playlist(self, spotify_id: str, playlist_id: str, name: str, track_ids: list[str],
                     snapshot: str = "s1"):
        self.playlists.setdefault(spotify_id, []).append(
            {"id": playlist_id, "name": name, "snapshot_id": snapshot,
             "total": len(track_ids)})
        self.playlist_tracks[playlist_id] = list(track_ids)

    def _page(self, path, items, query, default_limit):
        limit = int(query.get("limit", [str(default_limit)])[0])
        offset = int(query.get("offset", ["0"])[0])
        chunk = items[offset:offset + limit]
        more = offset + limit < len(items)
        return {"items": chunk, "total": len(items), "limit": limit, "offset": offset,
                "next": f"{self.url}{path}?offset={offset + limit}&limit={limit}" if more else None}

    def now_playing(self, spotify_id: str, body: dict | None):
        self.playing[spotify_id] = body

    def add_track(self, track_id: str, name: str, artists: list[tuple[str, str]], isrc: str = ""):
        self.tracks[track_id] = {"id": track_id, "name": name, "duration_ms": 200000,
                                 "type": "track", "popularity": 50,
                                 "available_markets": ["US", "DE"],
                                 "album": {"name": f"{name} (album)", "available_markets": ["US"]},
                                 "artists": [{"id": a, "name": n} for a, n in artists]}
        if isrc:
            self.tracks[track_id]["external_ids"] = {"isrc": isrc}

    def search_tracks(self, q: str) -> list[dict]:
        """`artist:X track:Y` (quotes optional) matched case-insensitively, as Spotify does."""
        import re

        fields = {k: (a or b).lower() for k, a, b in
                  re.findall(r'(artist|track):(?:"([^"]*)"|(\S+))', q)}
        return [t for t in self.tracks.values()
                if fields.get("track", t["name"].lower()) == t["name"].lower()
                and any(fields.get("artist", a["name"].lower()) == a["name"].lower()
                        for a in t["artists"])]

    # -- the two dialects -----------------------------------------------------------------
    REMOVED = {"popularity", "available_markets", "followers", "genres", "country", "email",
               "product", "explicit_content"}

    def shape(self, obj):
        """An object as this dialect sends it (removed fields dropped in development mode)."""
        if self.mode == "extended" or not isinstance(obj, dict):
            return obj
        return {k: self.shape(v) for k, v in obj.items() if k not in self.REMOVED}

    def simplified_playlist(self, playlist: dict) -> dict:
        key = "items" if self.mode == "development" else "tracks"
        body = {k: v for k, v in playlist.items() if k != "total"}
        body[key] = {"href": f"{self.url}/v1/playlists/{playlist['id']}/{key}",
                     "total": playlist["total"]}
        return body

    def expire_all_tokens(self):
        with self.lock:
            self.access.clear()

    def inject(self, status: int, headers: dict | None = None, path_prefix: str = "", times=1):
        with self.lock:
            self.injected += [(status, headers or {}, path_prefix)] * times

    # -- HTTP -----------------------------------------------------------------------------
    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body go out in two writes: with Nagle on, the body waits for the
            # client's delayed ACK (~40 ms), which the latency figures must not include
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def reply(self, status, body=None, headers=None):
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def injected(self, path):
                with fake.lock:
                    for index, (status, headers, prefix) in enumerate(fake.injected):
                        if path.startswith(prefix):
                            fake.injected.pop(index)
                            return status, headers
                return None

            def do_POST(self):
                if fake.latency:
                    time.sleep(fake.latency)
                path = urlparse(self.path).path
                fake.counts[path] += 1
                failure = self.injected(path)
                if failure:
                    return self.reply(failure[0], {"error": "injected"}, failure[1])
                if path != "/api/token":
                    return self.reply(404, {"error": "not found"})
                auth = self.headers.get("Authorization", "")
                expected = base64.b64encode(f"{fake.client_id}:{fake.client_secret}".encode())
                if auth != f"Basic {expected.decode()}":
                    return self.reply(401, {"error": "invalid_client"})
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                if form.get("grant_type") == "authorization_code":
                    refresh = fake.codes.pop(form.get("code", ""), None)
                elif form.get("grant_type") == "client_credentials":
                    refresh = "__app__"  # an app token: no user behind it
                    fake.users.setdefault("__app__", {"id": "__app__", "display_name": "app"})
                elif form.get("grant_type") == "refresh_token":
                    refresh = form.get("refresh_token") if form.get("refresh_token") in \
                        fake.users else None
                else:
                    refresh = None
                if refresh is None:
                    return self.reply(400, {"error": "invalid_grant"})
                access = secrets.token_hex(12)
                with fake.lock:
                    fake.access[access] = refresh
                self.reply(200, {"access_token": access, "token_type": "Bearer",
                                 "expires_in": 3600, "refresh_token": refresh,
                                 "scope": "user-read-recently-played"})

            def do_GET(self):
                if fake.latency:
                    time.sleep(fake.latency)
                parsed = urlparse(self.path)
                path, query = parsed.path, parse_qs(parsed.query)
                name = "/v1/tracks/{id}" if path.startswith("/v1/tracks/") else \
                    "/v1/audio-features/{id}" if path.startswith("/v1/audio-features/") else path
                fake.counts[name] += 1
                failure = self.injected(path)
                if failure:
                    return self.reply(failure[0], {"error": {"status": failure[0]}}, failure[1])
                token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                with fake.lock:
                    refresh = fake.access.get(token)
                if refresh is None:
                    return self.reply(401, {"error": {"status": 401,
                                                      "message": "The access token expired"}})
                user = fake.users[refresh]
                fake.requests_by_user[user["id"]] += 1
                dev = fake.mode == "development"
                if path == "/v1/me":
                    return self.reply(200, fake.shape({
                        **user, "type": "user", "country": "US", "email": "x@example.invalid",
                        "product": "premium", "followers": {"total": 3},
                        "explicit_content": {"filter_enabled": False}}))
                if path == "/v1/me/player/recently-played":
                    after = int(query.get("after", ["0"])[0])
                    limit = int(query.get("limit", ["20"])[0])
                    items = [fake.shape(i) for i in fake.history.get(user["id"], [])
                             if _ms(i["played_at"]) > after][:limit]
                    cursors = {"after": str(_ms(items[0]["played_at"])),
                               "before": str(_ms(items[-1]["played_at"]))} if items else None
                    return self.reply(200, {"items": items, "cursors": cursors,
                                            "limit": limit, "next": None})
                if path == "/v1/me/playlists":
                    lists = [fake.simplified_playlist(p) for p in fake.playlists.get(user["id"], [])]
                    return self.reply(200, fake._page(path, lists, query, 20))
                if path.startswith("/v1/playlists/") and path.endswith(("/tracks", "/items")):
                    if dev and path.endswith("/tracks"):
                        return self.reply(403, {"error": {"status": 403, "message": "Forbidden"}})
                    key = "track" if path.endswith("/tracks") else "item"
                    playlist_id = path.split("/")[3]
                    rows = [{"added_at": "2026-01-01T00:00:00Z",
                             key: fake.shape(fake.tracks.get(t))}
                            for t in fake.playlist_tracks.get(playlist_id, [])]
                    return self.reply(200, fake._page(path, rows, query, 100))
                if dev and path in ("/v1/tracks", "/v1/artists", "/v1/albums"):
                    return self.reply(403, {"error": {"status": 403, "message": "Forbidden"}})
                if path == "/v1/me/player/currently-playing":
                    body = fake.playing.get(user["id"])
                    return self.reply(204) if body is None else self.reply(200, body)
                if path == "/v1/tracks":
                    ids = query.get("ids", [""])[0].split(",")
                    if len(ids) > 50:
                        return self.reply(400, {"error": {"status": 400,
                                                          "message": "Too many ids requested"}})
                    return self.reply(200, {"tracks": [fake.tracks.get(i) for i in ids]})
                if path == "/v1/search":
                    items = fake.search_tracks(query.get("q", [""])[0])
                    limit = int(query.get("limit", ["20"])[0])
                    return self.reply(200, {"tracks": {"items": items[:limit],
                                                       "total": len(items)}})
                if path.startswith("/v1/audio-features/"):
                    features = fake.features.get(path.rsplit("/", 1)[1])
                    return self.reply(200 if features else 404,
                                      features or {"error": {"status": 404}})
                if path.startswith("/v1/tracks/"):
                    if fake.per_id_429_after is not None and \
                            fake.counts["/v1/tracks/{id}"] > fake.per_id_429_after:
                        return self.reply(429, {"error": {"status": 429}}, {"Retry-After": "30"})
                    with fake.lock:
                        fake.in_flight += 1
                        fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
                    try:
                        time.sleep(fake.per_id_delay)
                        track = fake.shape(fake.tracks.get(path.rsplit("/", 1)[1]))
                    finally:
                        with fake.lock:
                            fake.in_flight -= 1
                    return self.reply(200 if track else 404, track or {"error": {"status": 404}})
                self.reply(404, {"error": {"status": 404}})

        return Handler


def _ms(iso: str) -> int:
    from datetime import datetime

    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)
