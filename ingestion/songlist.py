"""The public song index, `songs_list.json.gz`: written after each sync, served without a query."""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from .store import atomic_write


def build_index(rows) -> bytes:
    """rows: (id, filename, title) tuples. Sorted by title; gzip without a timestamp so the
    same library always gives the same bytes (and the same ETag)."""
    items = sorted(
        ({"id": i, "filename": f, "title": t} for i, f, t in rows),
        key=lambda item: (item["title"].casefold(), item["id"]),
    )
    raw = json.dumps(items, ensure_ascii=False, separators=(",", ":")).encode()
    return gzip.compress(raw, compresslevel=9, mtime=0)


def write_index(path: Path, rows) -> None:
    atomic_write(path, build_index(rows))


@dataclass(frozen=True)
class LoadedIndex:
    gzipped: bytes
    etag: str

    def json_bytes(self) -> bytes:
        return gzip.decompress(self.gzipped)


_cache: dict[Path, tuple[tuple[int, int], LoadedIndex]] = {}


def load_index(path: Path) -> LoadedIndex | None:
    """The index file, re-read only when its size or mtime changed."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    stamp = (stat.st_mtime_ns, stat.st_size)
    cached = _cache.get(path)
    if cached and cached[0] == stamp:
        return cached[1]
    data = path.read_bytes()
    loaded = LoadedIndex(data, '"' + hashlib.sha1(data).hexdigest()[:20] + '"')
    _cache[path] = (stamp, loaded)
    return loaded
