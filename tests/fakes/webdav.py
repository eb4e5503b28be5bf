"""A real WebDAV server on loopback: wsgidav serving a folder through cheroot, Basic auth.

`fail_next(method, status, times)` makes the next requests of one method answer an error
(to exercise retries and error mapping); `counts` records requests per method.
"""

from __future__ import annotations

import threading
from collections import Counter

from cheroot import wsgi
from wsgidav.wsgidav_app import WsgiDAVApp

USER, PASSWORD = "songhub", "webdav-pw-1"


class FakeWebDAV:
    def __init__(self, root, user: str = USER, password: str = PASSWORD,
                 allow_infinity: bool = True):
        self.root = root
        self.counts: Counter = Counter()
        self.failures: dict[str, list[int]] = {}
        self.allow_infinity = allow_infinity
        self.refuse_move = False
        config = {
            "host": "127.0.0.1", "port": 0,
            "provider_mapping": {"/dav": str(root)},
            "simple_dc": {"user_mapping": {"*": {user: {"password": password}}}},
            "http_authenticator": {"accept_basic": True, "accept_digest": False,
                                   "default_to_digest": False, "trusted_auth_header": None},
            "verbose": 0, "logging": {"enable": False, "enable_loggers": []},
            "dir_browser": {"enable": False},
            "lock_storage": True, "property_manager": True,
        }
        self.app = WsgiDAVApp(config)
        self.server = wsgi.Server(("127.0.0.1", 0), self._wrapped, numthreads=16)
        self.server.prepare()
        self.port = self.server.bind_addr[1]
        self.url = f"http://127.0.0.1:{self.port}/dav"
        self.thread = threading.Thread(target=self.server.serve, daemon=True)

    def _wrapped(self, environ, start_response):
        method = environ["REQUEST_METHOD"]
        self.counts[method] += 1
        queued = self.failures.get(method)
        if queued:
            status = queued.pop(0)
            start_response(f"{status} Injected", [("Content-Length", "0")])
            return [b""]
        if method == "PROPFIND" and environ.get("HTTP_DEPTH") == "infinity" \
                and not self.allow_infinity:
            body = (b'<?xml version="1.0"?><d:error xmlns:d="DAV:"><d:propfind-finite-depth/>'
                    b"</d:error>")
            start_response("403 Forbidden", [("Content-Type", "application/xml"),
                                             ("Content-Length", str(len(body)))])
            return [body]
        if method == "MOVE" and self.refuse_move:
            start_response("501 Not Implemented", [("Content-Length", "0")])
            return [b""]
        return self.app(environ, start_response)

    def fail_next(self, method: str, status: int, times: int = 1) -> None:
        self.failures.setdefault(method, []).extend([status] * times)

    def reset_counts(self) -> None:
        self.counts.clear()

    def start(self) -> FakeWebDAV:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.stop()
        self.thread.join(timeout=5)


if __name__ == "__main__":  # a separate server process for bench/charts.py
    import sys
    import time

    server = FakeWebDAV(sys.argv[1]).start()
    print(server.url, flush=True)
    while True:
        time.sleep(3600)
