"""The song data directory: ChordPro sources, rendered assets and the stable-ID map.

Layout under SONG_DATA_DIR::

    songs/<repo path>            ChordPro sources, mirrored from the source
    songs_pdf/<id>.pdf           rendered PDFs
    songs_img/<id>/page_<n>.webp page images, n from 1
    songs_metadata.json          {"songs": {path: {"id", "sha", "source"}}, "next_id": int}
    songs_list.json.gz           the public song index

Every write goes to a temporary file first and is renamed into place, so a crash mid-run
leaves the previous version intact.

Each entry remembers the source that last supplied it (`github:owner/name`, `dir:/abs/path`;
empty for songs stored before sources were recorded), so a sync can remove only songs that
came from the source it is mirroring and never touches songs imported from anywhere else.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

CHORDPRO_EXTENSIONS = (".cho", ".pro", ".chopro", ".chordpro", ".crd")


class UnsafePath(ValueError):
    """A source path that would escape the songs directory."""


def atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def safe_relative_path(path: str) -> PurePosixPath:
    """Reject absolute paths, `..` and empty parts; the result stays inside its root."""
    if not path or path.startswith(("/", "\\")) or "\\" in path or "\x00" in path:
        raise UnsafePath(f"unsafe path {path!r}")
    pure = PurePosixPath(path)
    if pure.is_absolute() or any(part in ("", ".", "..") for part in pure.parts) or ":" in pure.parts[0]:
        raise UnsafePath(f"unsafe path {path!r}")
    return pure


def is_chordpro_candidate(path: str) -> bool:
    """ChordPro by extension, minus macOS junk (`__MACOSX/`, AppleDouble `._*`)."""
    pure = PurePosixPath(path)
    if "__MACOSX" in pure.parts or pure.name.startswith("._"):
        return False
    return pure.suffix.lower() in CHORDPRO_EXTENSIONS


def git_blob_sha(data: bytes) -> str:
    """The SHA git (and GitHub's tree API) gives a file, so local and remote compare directly."""
    import hashlib

    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class Entry:
    id: int
    sha: str
    source: str = ""  # the source key that last supplied this path; "" = unknown (legacy)


class SongStore:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.songs_dir = self.root / "songs"
        self.pdf_dir = self.root / "songs_pdf"
        self.img_dir = self.root / "songs_img"
        self.metadata_path = self.root / "songs_metadata.json"
        self.index_path = self.root / "songs_list.json.gz"
        self.entries: dict[str, Entry] = {}
        self.next_id = 1

    # -- stable ID map --------------------------------------------------------------------
    def load(self) -> "SongStore":
        if self.metadata_path.exists():
            raw = json.loads(self.metadata_path.read_text(encoding="utf-8"))
            songs = raw.get("songs", raw)  # tolerate the seed's flat {path: id} layout
            for path, value in songs.items():
                if path == "next_id":
                    continue
                if isinstance(value, int):
                    value = {"id": value, "sha": ""}
                self.entries[path] = Entry(int(value["id"]), value.get("sha", ""),
                                           value.get("source", ""))
            used = max((e.id for e in self.entries.values()), default=0)
            self.next_id = max(int(raw.get("next_id", 1)), used + 1)
        return self

    def save(self) -> None:
        body = {
            "next_id": self.next_id,
            "songs": {p: {"id": e.id, "sha": e.sha, "source": e.source}
                      for p, e in sorted(self.entries.items())},
        }
        atomic_write(self.metadata_path, json.dumps(body, indent=1).encode())

    def reserve(self, path: str) -> Entry:
        """The path's entry; a new path gets the next free ID, which is never reused."""
        entry = self.entries.get(path)
        if entry is None:
            entry = Entry(self.next_id, "")
            self.entries[path] = entry
            self.next_id += 1
        return entry

    def assign(self, path: str, sha: str) -> Entry:
        entry = self.reserve(path)
        entry.sha = sha
        return entry

    # -- files ----------------------------------------------------------------------------
    def source_path(self, path: str) -> Path:
        return self.songs_dir / safe_relative_path(path)

    def pdf_path(self, song_id: int) -> Path:
        return self.pdf_dir / f"{song_id}.pdf"

    def image_dir(self, song_id: int) -> Path:
        return self.img_dir / str(song_id)

    def image_path(self, song_id: int, page: int) -> Path:
        return self.image_dir(song_id) / f"page_{page}.webp"

    def has_assets(self, song_id: int, page_count: int) -> bool:
        if page_count < 1 or not self.pdf_path(song_id).exists():
            return False
        return all(self.image_path(song_id, n).exists() for n in range(1, page_count + 1))

    def write_assets(self, song_id: int, pdf: bytes, images: list[bytes], marker: dict) -> None:
        """Swap in a new PDF and image folder. The folder's `source.json` marker is swapped
        with the images, so assets count as current only once all of them are in place."""
        atomic_write(self.pdf_path(song_id), pdf)
        self.img_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=self.img_dir, prefix=f".{song_id}.new-"))
        try:
            for number, image in enumerate(images, start=1):
                (staging / f"page_{number}.webp").write_bytes(image)
            (staging / "source.json").write_text(json.dumps(marker))
            target = self.image_dir(song_id)
            retired = None
            if target.exists():
                retired = target.with_name(f".{song_id}.old-{os.getpid()}")
                os.replace(target, retired)
            os.replace(staging, target)
            if retired is not None:
                shutil.rmtree(retired, ignore_errors=True)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)

    def remove(self, path: str) -> Entry | None:
        """Delete a song's source, assets and ID entry (the DB row is the caller's)."""
        entry = self.entries.pop(path, None)
        try:
            self.source_path(path).unlink(missing_ok=True)
        except UnsafePath:
            pass
        if entry is not None:
            self.pdf_path(entry.id).unlink(missing_ok=True)
            shutil.rmtree(self.image_dir(entry.id), ignore_errors=True)
        return entry

    def scan_sources(self, root: Path | None = None) -> dict[str, Path]:
        """Every ChordPro file under `root` (default: the songs folder), by relative POSIX path."""
        root = Path(root or self.songs_dir)
        found = {}
        if root.is_dir():
            for file in root.rglob("*"):
                rel = file.relative_to(root).as_posix()
                if file.is_file() and is_chordpro_candidate(rel) and not file.name.startswith("."):
                    found[rel] = file
        return found
