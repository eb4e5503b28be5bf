"""The storage contract both backends keep (local folder, WebDAV/Nextcloud).

Paths are relative POSIX strings under the storage root ("Songs/Artist/Title_ab12/song.ini");
`confine()` is the one gate every path passes: it refuses `..`, absolute paths, backslashes,
percent-encoded traversal, NUL and control characters, so no caller can leave the root.
Errors are `StorageError` subclasses carrying an API error code and an HTTP status.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import unquote

CHUNK = 256 * 1024


class StorageError(Exception):
    code = "storage_error"
    status = 502


class UnsafePath(StorageError):
    code = "unsafe_path"
    status = 400


class NotFound(StorageError):
    code = "not_found"
    status = 404


class AuthFailed(StorageError):
    code = "storage_auth"
    status = 502


class PermissionDenied(StorageError):
    code = "storage_forbidden"
    status = 502


class InsufficientStorage(StorageError):
    code = "storage_full"
    status = 507


class Unavailable(StorageError):
    code = "storage_unavailable"
    status = 503


class AlreadyExists(StorageError):
    code = "exists"
    status = 409


@dataclass(frozen=True)
class Entry:
    path: str  # relative to the root, no leading or trailing slash
    is_dir: bool
    size: int = 0
    etag: str = ""
    modified: str = ""  # as the backend reports it; compared, never parsed

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def parent(self) -> str:
        return self.path.rsplit("/", 1)[0] if "/" in self.path else ""

    def as_dict(self) -> dict:
        return {"path": self.path, "name": self.name, "is_dir": self.is_dir, "size": self.size,
                "etag": self.etag, "modified": self.modified}


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def confine(path: str, allow_root: bool = True) -> str:
    """`path` normalised to a relative POSIX path under the root, or `UnsafePath`."""
    if not isinstance(path, str):
        raise UnsafePath("path must be text")
    raw = path
    for _ in range(3):  # %252e%252e decodes twice; anything still encoded after that is refused
        decoded = unquote(raw)
        if decoded == raw:
            break
        raw = decoded
    else:
        raise UnsafePath(f"over-encoded path: {path!r}")
    if raw != path:
        raise UnsafePath(f"percent-encoded path: {path!r}")
    if _CONTROL.search(path) or "\\" in path:
        raise UnsafePath(f"control characters or backslashes in path: {path!r}")
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path):
        raise UnsafePath(f"absolute path: {path!r}")
    parts = [p for p in unicodedata.normalize("NFC", path).split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise UnsafePath(f"'..' in path: {path!r}")
    if not parts and not allow_root:
        raise UnsafePath("the storage root itself cannot be changed")
    return "/".join(parts)


def join(*parts: str) -> str:
    return confine("/".join(p.strip("/") for p in parts if p and p.strip("/")))


def safe_name(text: str, fallback: str = "Unknown", limit: int = 80) -> str:
    """One path component made from metadata: no separators, no dots at the ends."""
    cleaned = re.sub(r'[\\/:*?"<>|\x00-\x1f\x7f]+', " ", text or "")
    cleaned = re.sub(r"\s+", " ", cleaned).strip(" .")
    return cleaned[:limit].strip(" .") or fallback


class Storage:
    """The interface. Backends implement the methods that raise NotImplementedError."""

    name = "base"
    # True when a folder's ETag changes whenever anything below it changes (Nextcloud)
    propagates_etags = False

    def describe(self) -> dict:
        raise NotImplementedError

    def stat(self, path: str) -> Entry:
        raise NotImplementedError

    def list(self, path: str) -> list[Entry]:
        """Children of a folder (not the folder itself)."""
        raise NotImplementedError

    def walk(self, path: str) -> Iterator[Entry]:
        """Every entry below `path`, folders and files, in no particular order."""
        raise NotImplementedError

    def open_read(self, path: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """The bytes of a file as chunks (never the whole file at once); `end` is inclusive."""
        raise NotImplementedError

    def write(self, path: str, chunks: Iterable[bytes] | bytes, size: int | None = None) -> None:
        raise NotImplementedError

    def mkdir(self, path: str) -> None:
        """Create the folder and any missing parents; an existing folder is fine."""
        raise NotImplementedError

    def delete(self, path: str) -> None:
        raise NotImplementedError

    def move(self, src: str, dst: str, overwrite: bool = True) -> None:
        raise NotImplementedError

    # -- shared on top of the primitives ------------------------------------------------------
    def read_bytes(self, path: str, max_bytes: int = 64 * 2**20) -> bytes:
        data = bytearray()
        for chunk in self.open_read(path):
            data += chunk
            if len(data) > max_bytes:
                raise StorageError(f"{path} is larger than {max_bytes} bytes")
        return bytes(data)

    def exists(self, path: str) -> bool:
        try:
            self.stat(path)
            return True
        except NotFound:
            return False

    def write_atomic(self, path: str, data: bytes) -> None:
        """Metadata writes: NAME.tmp then MOVE onto NAME, so a reader never sees half a file.
        When the server refuses the MOVE, a direct write is the fallback."""
        path = confine(path, allow_root=False)
        tmp = f"{path}.tmp"
        self.write(tmp, data, size=len(data))
        try:
            self.move(tmp, path, overwrite=True)
        except (PermissionDenied, MoveRefused):
            self.write(path, data, size=len(data))
            try:
                self.delete(tmp)
            except StorageError:
                pass  # a stray .tmp is harmless; sync ignores it

    def upload_folder(self, local_dir, remote_dir: str) -> int:
        """Every file below a local folder, written under `remote_dir`; returns bytes sent."""
        from pathlib import Path

        local_dir = Path(local_dir)
        sent = 0
        self.mkdir(remote_dir)
        made = {confine(remote_dir)}
        for file in sorted(local_dir.rglob("*")):
            if file.is_symlink() or not file.is_file():
                continue
            rel = file.relative_to(local_dir).as_posix()
            target = join(remote_dir, rel)
            parent = target.rsplit("/", 1)[0]
            if parent not in made:
                self.mkdir(parent)
                made.add(parent)
            size = file.stat().st_size
            with open(file, "rb") as handle:
                self.write(target, iter(lambda h=handle: h.read(CHUNK), b""), size=size)
            sent += size
        return sent


class MoveRefused(StorageError):
    code = "move_refused"

