"""A real WebDAV server on loopback: wsgidav serving a folder through cheroot, Basic auth.

Folder ETags behave as Nextcloud's: a folder's ETag changes whenever anything below it changes
(wsgidav's own folders have none). `propagate_etags=False` serves folders without ETags, as
plain WebDAV servers do.

`fail_next(method, status, times)` makes the next requests of one method answer an error
(to exercise retries and error mapping); `counts` records requests per method.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import Counter

from cheroot import wsgi
from wsgidav.fs_dav_provider import FilesystemProvider, FolderResource
from wsgidav.wsgidav_app import WsgiDAVApp

USER, PASSWORD = "songhub", "webdav-pw-1"


def tree_digest(folder: str, memo: dict) -> str:
    """A hash of every name, size and modification time below `folder`; `memo` holds the
    folders already hashed while answering one request (each folder is read once)."""
    if folder not in memo:
        digest = hashlib.md5()
        with os.scandir(folder) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                st = entry.stat(follow_symlinks=False)
                digest.update(f"{entry.name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
                if entry.is_dir(follow_symlinks=False):
                    digest.update(tree_digest(entry.path, memo).encode())
        memo[folder] = digest.hexdigest()
    return memo[folder]


class PropagatingFolder(FolderResource):
    def get_etag(self):
        return tree_digest(self._file_path, self.environ.setdefault("fake.digests", {}))


class PropagatingProvider(FilesystemProvider):
    def get_resource_inst(self, path: str, environ: dict):
        resource = super().get_resource_inst(path, environ)
        if isinstance(resource, FolderResource):
            return PropagatingFolder(resource.path, environ, resource._file_path)
        return resource


class FakeWebDAV:
    def __init__(self, root, user: str = USER, password: str = PASSWORD,
                 allow_infinity: bool = True, propagate_etags: bool = True):
        self.root = root
        self.counts: Counter = Counter()
        self.failures: dict[str, list[int]] = {}
        self.allow_infinity = allow_infinity
        self.refuse_move = False
        config = {
            "host": "127.0.0.1", "port": 0,
            "provider_mapping": {"/dav": PropagatingProvider(str(root), fs_opts={}) if propagate_etags
                                 else str(root)},
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
