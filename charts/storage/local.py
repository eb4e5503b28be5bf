"""The embedded default storage: a folder on this machine (SONG_DATA_DIR/charts).

Same contract as WebDAV. Symlinks anywhere on a path are refused (a link inside the root could
point outside it); etags are `mtime_ns-size`, which change whenever a file is rewritten.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

from .base import CHUNK, AlreadyExists, Entry, NotFound, Storage, StorageError, UnsafePath, confine


class LocalStorage(Storage):
    name = "local"

    def __init__(self, root):
        self.root = Path(root).resolve()

    def describe(self) -> dict:
        return {"backend": "local", "root": str(self.root)}

    def _path(self, path: str, allow_root: bool = True) -> Path:
        rel = confine(path, allow_root=allow_root)
        current = self.root
        for part in rel.split("/") if rel else []:
            current = current / part
            if current.is_symlink():
                raise UnsafePath(f"symlink in path: {rel!r}")
        return current

    def _entry(self, full: Path) -> Entry:
        st = full.lstat()
        is_dir = full.is_dir()
        return Entry(path=full.relative_to(self.root).as_posix(), is_dir=is_dir,
                     size=0 if is_dir else st.st_size,
                     etag="" if is_dir else f"{st.st_mtime_ns:x}-{st.st_size:x}",
                     modified=str(st.st_mtime_ns))

    def stat(self, path: str) -> Entry:
        full = self._path(path)
        if full == self.root:
            self.root.mkdir(parents=True, exist_ok=True)
            return Entry("", True)
        if not full.exists():
            raise NotFound(f"{path} does not exist")
        return self._entry(full)

    def _entries(self, paths: Iterable[Path]) -> Iterator[Entry]:
        """Entries for `paths` without links, and without what another request deleted
        between the folder listing and its stat (a 500 for the listing before)."""
        for full in paths:
            try:
                if not full.is_symlink():
                    yield self._entry(full)
            except FileNotFoundError:
                continue

    def list(self, path: str) -> list[Entry]:
        full = self._path(path)
        if full == self.root:
            self.root.mkdir(parents=True, exist_ok=True)
        if not full.is_dir():
            raise NotFound(f"{path} is not a folder")
        try:
            children = sorted(full.iterdir())
        except (FileNotFoundError, NotADirectoryError):  # deleted since the check above
            raise NotFound(f"{path} is not a folder") from None
        return list(self._entries(children))

    def walk(self, path: str) -> Iterator[Entry]:
        start = self._path(path)
        if not start.is_dir():
            raise NotFound(f"{path} is not a folder")
        for dirpath, dirnames, filenames in os.walk(start):  # os.walk never follows links
            base = Path(dirpath)
            yield from self._entries(base / name for name in dirnames + filenames)

    def open_read(self, path: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        full = self._path(path, allow_root=False)
        if not full.is_file():
            raise NotFound(f"{path} is not a file")
        handle = open(full, "rb")  # opened now, so errors surface at the call, not mid-stream

        def chunks():
            with handle:
                handle.seek(start)
                left = None if end is None else end - start + 1
                while left is None or left > 0:
                    chunk = handle.read(CHUNK if left is None else min(CHUNK, left))
                    if not chunk:
                        return
                    if left is not None:
                        left -= len(chunk)
                    yield chunk

        return chunks()

    def write(self, path: str, chunks: Iterable[bytes] | bytes, size: int | None = None) -> None:
        full = self._path(path, allow_root=False)
        if not full.parent.is_dir():
            raise NotFound(f"the folder of {path} does not exist")
        if full.is_dir():
            raise AlreadyExists(f"{path} is a folder")
        if isinstance(chunks, bytes | bytearray):
            chunks = [chunks]
        tmp = full.with_name(f".{full.name}.part")
        try:
            with open(tmp, "wb") as handle:
                for chunk in chunks:
                    handle.write(chunk)
            os.replace(tmp, full)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise StorageError(f"cannot write {path}: {exc}") from exc

    def mkdir(self, path: str) -> None:
        full = self._path(path)
        if full.exists() and not full.is_dir():
            raise AlreadyExists(f"{path} is a file")
        full.mkdir(parents=True, exist_ok=True)

    def delete(self, path: str) -> None:
        full = self._path(path, allow_root=False)
        if not full.exists():
            raise NotFound(f"{path} does not exist")
        if full.is_dir():
            shutil.rmtree(full)
        else:
            full.unlink()

    def move(self, src: str, dst: str, overwrite: bool = True) -> None:
        source, target = self._path(src, allow_root=False), self._path(dst, allow_root=False)
        if not source.exists():
            raise NotFound(f"{src} does not exist")
        if target.exists() and not overwrite:
            raise AlreadyExists(f"{dst} exists")
        if not target.parent.is_dir():
            raise NotFound(f"the folder of {dst} does not exist")
        os.replace(source, target)
