"""WebDAV (Nextcloud) storage over `requests`, with a real XML parser for PROPFIND answers.

Every call has a timeout; 5xx answers and connection errors are retried a bounded number of
times with jittered exponential backoff (bodies are retried only when they can be replayed:
bytes, or a file we can seek). 401/403/404/507 become clear, typed errors. GET and PUT stream:
no file is ever held whole in memory. `walk()` asks for `Depth: infinity` once and falls back to
concurrent `Depth: 1` listings when the server refuses it (Nextcloud does by default).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote, unquote, urlsplit

import requests
from defusedxml.ElementTree import iterparse
from requests.adapters import HTTPAdapter

from .base import (
    CHUNK, AlreadyExists, AuthFailed, Entry, InsufficientStorage, MoveRefused, NotFound,
    PermissionDenied, Storage, StorageError, Unavailable, confine,
)

logger = logging.getLogger(__name__)

DAV = "{DAV:}"
PROPFIND_BODY = (
    b'<?xml version="1.0" encoding="utf-8"?><d:propfind xmlns:d="DAV:"><d:prop>'
    b"<d:resourcetype/><d:getetag/><d:getlastmodified/><d:getcontentlength/>"
    b"</d:prop></d:propfind>"
)
WALK_THREADS = 8


class WebDAVStorage(Storage):
    name = "webdav"

    def __init__(self, url: str, username: str = "", password: str = "", remote_path: str = "",
                 timeout: float = 30.0, attempts: int = 4, backoff: float = 0.25,
                 propagates_etags: bool = False):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise StorageError(f"NEXTCLOUD_URL must be an http(s) URL, got {url!r}")
        self.base = url.rstrip("/")
        self.remote_path = confine(remote_path or "")
        self.root_url = self.base + ("/" + quote(self.remote_path) if self.remote_path else "")
        self.root_href = unquote(urlsplit(self.root_url).path).rstrip("/")
        self.timeout = timeout
        self.attempts = attempts
        self.backoff = backoff
        self.propagates_etags = propagates_etags
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=WALK_THREADS * 2)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        if username:
            self.session.auth = (username, password)
        self.session.headers["User-Agent"] = "songhub-charts"
        self.requests_made = 0
        self.counts: dict[str, int] = {}
        self._infinity_ok = True
        self._count_lock = threading.Lock()

    def describe(self) -> dict:
        return {"backend": "webdav", "url": self.base, "remote_path": self.remote_path}

    def url(self, path: str) -> str:
        rel = confine(path)
        return self.root_url + ("/" + quote(rel) if rel else "")

    # -- HTTP with retries ------------------------------------------------------------------------
    def _request(self, method: str, path: str, *, ok=(200, 201, 204, 207), data=None,
                 headers=None, stream=False, replayable=True) -> requests.Response:
        url = self.url(path)
        last = ""
        for attempt in range(1, self.attempts + 1):
            if attempt > 1 and hasattr(data, "seek"):
                data.seek(0)
            with self._count_lock:  # walk() and sync call from several threads
                self.requests_made += 1
                self.counts[method] = self.counts.get(method, 0) + 1
            try:
                response = self.session.request(method, url, data=data, headers=headers,
                                                stream=stream, timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout) as exc:
                last = f"{exc.__class__.__name__}: {exc}"
            else:
                if response.status_code in ok:
                    return response
                if response.status_code < 500 or response.status_code in (501, 507):
                    response.close()
                    raise self._error(method, path, response)
                last = f"HTTP {response.status_code}"
                response.close()
            if not replayable or (data is not None and not isinstance(data, bytes | bytearray)
                                  and not hasattr(data, "seek")):
                break
            if attempt < self.attempts:
                time.sleep(min(8.0, self.backoff * 2 ** (attempt - 1)) * (0.5 + random.random()))
        raise Unavailable(f"WebDAV {method} {path or '/'} failed: {last}")

    @staticmethod
    def _error(method: str, path: str, response: requests.Response) -> StorageError:
        status = response.status_code
        where = f"{method} {path or '/'}"
        if status == 401:
            return AuthFailed("Nextcloud rejected the credentials (check NEXTCLOUD_USERNAME and "
                              "NEXTCLOUD_PASSWORD; use an app password)")
        if status == 403:
            return PermissionDenied(f"Nextcloud refused {where} (403 Forbidden)")
        if status == 404:
            return NotFound(f"{path or '/'} does not exist on the storage")
        if status == 405 and method == "MKCOL":
            return AlreadyExists(f"{path} already exists")
        if status == 409:
            return NotFound(f"{where}: a parent folder is missing (409 Conflict)")
        if status == 412 and method == "MOVE":
            return AlreadyExists(f"{path}: the target exists")
        if status == 507:
            return InsufficientStorage("Nextcloud is out of space or quota (507 Insufficient "
                                       "Storage)")
        if method == "MOVE" and status in (400, 405, 501):
            return MoveRefused(f"the server refused MOVE ({status})")
        return StorageError(f"WebDAV {where} answered {status}")

    # -- PROPFIND ------------------------------------------------------------------------------------
    def _propfind(self, path: str, depth: str) -> list[Entry]:
        response = self._request("PROPFIND", path, ok=(207,), data=PROPFIND_BODY, stream=True,
                                 headers={"Depth": depth,
                                          "Content-Type": "application/xml; charset=utf-8"})
        with response:
            response.raw.decode_content = True
            return list(self._parse_multistatus(response.raw))

    def _parse_multistatus(self, stream) -> Iterator[Entry]:
        """Streamed: each <d:response> is turned into an Entry and then dropped from the tree."""
        for _event, element in iterparse(stream, events=("end",)):
            if element.tag != f"{DAV}response":
                continue
            entry = self._entry(element)
            element.clear()
            if entry is not None:
                yield entry

    def _entry(self, element) -> Entry | None:
        href = element.findtext(f"{DAV}href") or ""
        href_path = unquote(urlsplit(href).path).rstrip("/")
        if href_path != self.root_href and not href_path.startswith(self.root_href + "/"):
            return None  # never trust an href outside our root
        try:
            rel = confine(href_path[len(self.root_href):].lstrip("/"))
        except StorageError:
            return None
        props = {}
        for propstat in element.findall(f"{DAV}propstat"):
            if "200" in (propstat.findtext(f"{DAV}status") or ""):
                prop = propstat.find(f"{DAV}prop")
                if prop is not None:
                    props.update({child.tag: child for child in prop})
        rtype = props.get(f"{DAV}resourcetype")
        is_dir = rtype is not None and rtype.find(f"{DAV}collection") is not None
        length = props.get(f"{DAV}getcontentlength")
        try:
            size = int(length.text) if length is not None and length.text else 0
        except ValueError:
            size = 0
        etag = props.get(f"{DAV}getetag")
        modified = props.get(f"{DAV}getlastmodified")
        return Entry(path=rel, is_dir=is_dir, size=size,
                     etag=(etag.text or "").strip('"') if etag is not None else "",
                     modified=(modified.text or "") if modified is not None else "")

    def stat(self, path: str) -> Entry:
        rel = confine(path)
        for entry in self._propfind(rel, "0"):
            if entry.path == rel:
                return entry
        raise NotFound(f"{path} does not exist on the storage")

    def list(self, path: str) -> list[Entry]:
        rel = confine(path)
        entries = self._propfind(rel, "1")
        if not any(e.path == rel and e.is_dir for e in entries):
            raise NotFound(f"{path} is not a folder")
        return sorted((e for e in entries if e.path != rel), key=lambda e: e.path)

    def walk(self, path: str) -> Iterator[Entry]:
        rel = confine(path)
        if self._infinity_ok:
            try:
                entries = self._propfind(rel, "infinity")
            except StorageError as exc:
                if isinstance(exc, NotFound | AuthFailed | Unavailable | InsufficientStorage):
                    raise
                logger.info("Depth: infinity refused (%s); walking folder by folder", exc)
                self._infinity_ok = False
            else:
                yield from (e for e in entries if e.path != rel)
                return
        yield from self._walk_levels(rel)

    def _walk_levels(self, rel: str) -> Iterator[Entry]:
        """Breadth-first, one level of folders listed concurrently."""
        level = [rel]
        with ThreadPoolExecutor(WALK_THREADS) as pool:
            while level:
                nxt = []
                for children in pool.map(self.list, level):
                    for entry in children:
                        yield entry
                        if entry.is_dir:
                            nxt.append(entry.path)
                level = nxt

    # -- files ----------------------------------------------------------------------------------------
    def open_read(self, path: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        headers = {}
        if start or end is not None:
            headers["Range"] = f"bytes={start}-{'' if end is None else end}"
        response = self._request("GET", confine(path, allow_root=False), ok=(200, 206),
                                 stream=True, headers=headers)
        if headers and response.status_code == 200:  # server ignored Range: skip ourselves
            return _slice(response, start, end)

        def chunks():
            with response:
                yield from response.iter_content(CHUNK)

        return chunks()

    def write(self, path: str, chunks: Iterable[bytes] | bytes, size: int | None = None) -> None:
        headers = {"Content-Type": "application/octet-stream"}
        if size is not None and not isinstance(chunks, bytes | bytearray):
            chunks = _Sized(chunks, size)  # Content-Length, not chunked encoding
        self._request("PUT", confine(path, allow_root=False), ok=(200, 201, 204), data=chunks,
                      headers=headers)

    def mkdir(self, path: str) -> None:
        rel = confine(path)
        if not rel:
            return
        parts = rel.split("/")
        # Most folders' parents exist: try the leaf first, walk up only on 409 (missing parent).
        missing = []
        for i in range(len(parts), 0, -1):
            current = "/".join(parts[:i])
            try:
                self._request("MKCOL", current, ok=(201,))
                break
            except AlreadyExists:
                if i == len(parts) and not self.stat(current).is_dir:
                    raise AlreadyExists(f"{current} is a file") from None
                break
            except NotFound:
                missing.append(current)
        for current in reversed(missing):
            try:
                self._request("MKCOL", current, ok=(201,))
            except AlreadyExists:
                pass  # created meanwhile by someone else: fine

    def delete(self, path: str) -> None:
        self._request("DELETE", confine(path, allow_root=False), ok=(200, 204))

    def move(self, src: str, dst: str, overwrite: bool = True) -> None:
        self._request("MOVE", confine(src, allow_root=False), ok=(201, 204),
                      headers={"Destination": self.url(confine(dst, allow_root=False)),
                               "Overwrite": "T" if overwrite else "F"})



class _Sized:
    """An iterable body with a known length, so requests sends Content-Length."""

    def __init__(self, chunks, size: int):
        self.chunks, self.size = chunks, size

    def __iter__(self):
        return iter(self.chunks)

    def __len__(self):
        return self.size


def _slice(response, start: int, end: int | None) -> Iterator[bytes]:
    position = 0
    with response:
        for chunk in response.iter_content(CHUNK):
            lo, hi = position, position + len(chunk)
            position = hi
            if hi <= start:
                continue
            piece = chunk[max(0, start - lo):]
            if end is not None and hi > end + 1:
                piece = piece[: len(piece) - (hi - end - 1)]
                yield piece
                return
            yield piece

