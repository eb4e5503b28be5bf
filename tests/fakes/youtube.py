"""A real HTTP server on loopback speaking the slice of the YouTube Data API v3 songhub uses:
`search.list` and `videos.list` with an API key. It can spend its quota (403 quotaExceeded),
answer slowly, and counts requests."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class FakeYouTube:
    def __init__(self, key: str = "yt-test-key"):
        self.key = key
        self.videos: dict[str, dict] = {}  # id -> {title, channel, duration}
        self.counts: Counter = Counter()
        self.quota_spent = False
        self.latency = 0.0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def add_video(self, video_id: str, title: str, channel: str = "Sing King",
                  duration: str = "PT3M30S") -> None:
        self.videos[video_id] = {"title": title, "channel": channel, "duration": duration}

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def answer(self, status: int, body: dict):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                resource = url.path.rsplit("/", 1)[-1]
                fake.counts[resource] += 1
                time.sleep(fake.latency)
                if query.get("key") != fake.key:
                    return self.answer(400, {"error": {"code": 400, "errors": [
                        {"reason": "keyInvalid"}], "message": "API key not valid."}})
                if fake.quota_spent:
                    return self.answer(403, {"error": {"code": 403, "errors": [
                        {"domain": "youtube.quota", "reason": "quotaExceeded"}],
                        "message": "The request cannot be completed because you have exceeded "
                                   "your quota."}})
                if url.path == "/youtube/v3/search":
                    assert query["type"] == "video" and query["videoEmbeddable"] == "true"
                    words = query["q"].lower().split()
                    hits = [{"id": {"kind": "youtube#video", "videoId": vid},
                             "snippet": {"title": v["title"], "channelTitle": v["channel"]}}
                            for vid, v in fake.videos.items()
                            if all(w in (v["title"] + " karaoke").lower() for w in words)]
                    return self.answer(200, {"items": hits[: int(query.get("maxResults", 5))]})
                if url.path == "/youtube/v3/videos":
                    ids = query.get("id", "").split(",")
                    return self.answer(200, {"items": [
                        {"id": vid, "contentDetails": {"duration": fake.videos[vid]["duration"]}}
                        for vid in ids if vid in fake.videos]})
                return self.answer(404, {"error": {"code": 404, "message": "Not found"}})

        return Handler
