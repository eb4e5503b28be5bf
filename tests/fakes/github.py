"""A real HTTP server on loopback that speaks the slice of GitHub's REST API songhub uses.

It serves a local folder as repository `owner/name`: the Git Trees API (recursive), the Blobs
API (base64), the Contents API (with `download_url`) and raw downloads. It counts requests by
kind, records Authorization headers, and can be told to answer the next requests with errors
(rate limits, 5xx) or to add latency. Used by the tests and by bench/ingest.py.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse


def blob_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class FakeGitHub:
    def __init__(self, root: Path, repo: str = "hopekcc/song-db-chordpro", latency: float = 0.0):
        self.root = Path(root)
        self.repo = repo
        self.latency = latency
        self.counts: Counter = Counter()
        self.authorizations: list[str | None] = []
        self.injected: list[tuple[int, dict, str]] = []  # (status, headers, kind or "*")
        self.held: dict[str, threading.Event] = {}  # path -> its blob is served once set
        self.lock = threading.Lock()
        self._paths_by_sha: dict[str, str] = {}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> "FakeGitHub":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    # -- test controls --------------------------------------------------------------------
    def reset_counts(self) -> None:
        with self.lock:
            self.counts.clear()
            self.authorizations.clear()

    def inject(self, status: int, headers: dict | None = None, kind: str = "*", times: int = 1):
        """Answer the next `times` requests of `kind` (tree/blob/contents/raw/*) with `status`."""
        with self.lock:
            self.injected.extend([(status, headers or {}, kind)] * times)

    def hold(self, path: str) -> threading.Event:
        """The blob of `path` is answered only once the returned event is set."""
        self.held[path] = threading.Event()
        return self.held[path]

    def write(self, path: str, text: str | bytes) -> None:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text.encode() if isinstance(text, str) else text)

    def delete(self, path: str) -> None:
        (self.root / path).unlink()

    def files(self) -> dict[str, bytes]:
        return {p.relative_to(self.root).as_posix(): p.read_bytes()
                for p in sorted(self.root.rglob("*")) if p.is_file()}

    # -- HTTP -----------------------------------------------------------------------------
    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output quiet
                pass

            def do_GET(self):
                if fake.latency:
                    time.sleep(fake.latency)
                parsed = urlparse(self.path)
                kind, arg = fake._route(unquote(parsed.path))
                with fake.lock:
                    fake.counts[kind] += 1
                    fake.authorizations.append(self.headers.get("Authorization"))
                    injected = next((i for i, (_, _, k) in enumerate(fake.injected)
                                     if k in ("*", kind)), None)
                    failure = fake.injected.pop(injected) if injected is not None else None
                if failure:
                    status, headers, _ = failure
                    return self._send(status, {"message": "injected failure"}, headers)
                if kind == "unknown":
                    return self._send(404, {"message": "Not Found"})
                return getattr(fake, f"_serve_{kind}")(self, arg)

            def _send(self, status, body, headers=None, raw: bytes | None = None):
                data = raw if raw is not None else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/octet-stream" if raw is not None
                                 else "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                headers = {"X-RateLimit-Remaining": "4999", **(headers or {})}
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

        return Handler

    def _route(self, path: str) -> tuple[str, str]:
        prefix = f"/repos/{self.repo}/"
        if path.startswith(prefix + "git/trees/"):
            return "tree", path[len(prefix + "git/trees/"):]
        if path.startswith(prefix + "git/blobs/"):
            return "blob", path[len(prefix + "git/blobs/"):]
        if path.startswith(prefix + "contents/"):
            return "contents", path[len(prefix + "contents/"):]
        if path.startswith("/raw/"):
            return "raw", path[len("/raw/"):]
        return "unknown", ""

    def _serve_tree(self, handler, ref):
        tree, folders = [], set()
        for path, data in self.files().items():
            parts = path.split("/")
            for depth in range(1, len(parts)):
                folders.add("/".join(parts[:depth]))
            tree.append({"path": path, "mode": "100644", "type": "blob", "sha": blob_sha(data),
                         "size": len(data), "url": f"{self.url}/repos/{self.repo}/git/blobs/"
                                                   f"{blob_sha(data)}"})
        tree += [{"path": f, "mode": "040000", "type": "tree", "sha": hashlib.sha1(f.encode())
                  .hexdigest()} for f in sorted(folders)]
        handler._send(200, {"sha": hashlib.sha1(ref.encode()).hexdigest(), "tree": tree,
                            "truncated": False, "url": f"{self.url}/repos/{self.repo}/git/trees/{ref}"})

    def _blob(self, sha: str) -> bytes | None:
        """Blobs by SHA; the SHA -> path map is rebuilt only when a SHA is not in it."""
        path = self._paths_by_sha.get(sha)
        data = (self.root / path).read_bytes() if path and (self.root / path).exists() else None
        if data is not None and blob_sha(data) == sha:
            return data
        files = self.files()
        self._paths_by_sha = {blob_sha(d): p for p, d in files.items()}
        path = self._paths_by_sha.get(sha)
        return files[path] if path else None

    def _serve_blob(self, handler, sha):
        data = self._blob(sha)
        held = self.held.get(self._paths_by_sha.get(sha, ""))
        if held is not None:
            held.wait(timeout=120)
        if data is None:
            return handler._send(404, {"message": "Not Found"})
        content = base64.encodebytes(data).decode()  # GitHub wraps at 60 chars
        handler._send(200, {"sha": sha, "size": len(data), "encoding": "base64",
                            "content": content})

    def _serve_contents(self, handler, path):
        data = self.files().get(path)
        if data is None:
            return handler._send(404, {"message": "Not Found"})
        handler._send(200, {"type": "file", "name": path.rsplit("/", 1)[-1], "path": path,
                            "sha": blob_sha(data), "size": len(data), "encoding": "base64",
                            "content": base64.encodebytes(data).decode(),
                            "download_url": f"{self.url}/raw/{path}"})

    def _serve_raw(self, handler, path):
        data = self.files().get(path)
        if data is None:
            return handler._send(404, {"message": "Not Found"})
        handler._send(200, None, raw=data)
