"""Reading a Spotify data export (my_spotify_data.zip) safely: the archive's central directory
is checked before any member is inflated, and the history files are parsed as a stream.

Promises, so that a hostile upload costs neither memory nor time:

- `check_archive(path)` reads only the central directory. It refuses a file that is not a ZIP
  (or a broken one), member paths that are absolute or contain `..`, any member larger than
  RATIO_FLOOR_BYTES compressed more than IMPORT_MAX_RATIO times, and a declared total over
  IMPORT_MAX_UNCOMPRESSED_BYTES. It is cheap enough to run inside a web request.
- `records(path)` yields one play record (a dict, or whatever the file holds) at a time from
  the history members, with ijson: memory stays at one record, however large a file is. The
  bytes actually inflated are counted against each member's declared size and the running
  total; a lying header stops the read at once.

Every problem is an `ImportFileError` whose message is meant for the person uploading.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import PurePosixPath

import ijson
from django.conf import settings

RATIO_FLOOR_BYTES = 64 * 1024  # a member this small cannot hurt, whatever its ratio
_MEMBER = re.compile(r"(Streaming_History_Audio_.*|StreamingHistory.*|endsong_.*)\.json$",
                     re.IGNORECASE)
_BOM = b"\xef\xbb\xbf"


class ImportFileError(ValueError):
    """The upload cannot be imported; the message says why. Nothing was written."""


def check_archive(path) -> list[zipfile.ZipInfo]:
    """The history members of the archive at `path`, after the central-directory checks."""
    with _open(path) as archive:
        return _checked_members(archive)


def records(path) -> Iterator:
    """Every play record of every history member, streamed (see the module docstring)."""
    with _open(path) as archive:
        budget = [settings.IMPORT_MAX_UNCOMPRESSED_BYTES]
        for info in _checked_members(archive):
            try:
                with archive.open(info) as handle:
                    yield from _member_records(info, _Counted(handle, info, budget))
            except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, NotImplementedError,
                    EOFError, OSError) as exc:
                raise ImportFileError(f"{info.filename} cannot be unpacked ({exc}).") from None


def _open(path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError):
        raise ImportFileError("This is not a ZIP file. Upload my_spotify_data.zip as Spotify "
                              "sent it.") from None


def _checked_members(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    limit, ratio = settings.IMPORT_MAX_UNCOMPRESSED_BYTES, settings.IMPORT_MAX_RATIO
    total = 0
    members = [info for info in archive.infolist() if not info.is_dir()]
    for info in members:
        name = info.filename.replace("\\", "/")
        if name.startswith("/") or ".." in PurePosixPath(name).parts:
            raise ImportFileError(f"The archive contains an unsafe path: {info.filename!r}.")
        if info.file_size > RATIO_FLOOR_BYTES and \
                info.file_size > ratio * max(info.compress_size, 1):
            raise ImportFileError(f"{info.filename} is compressed suspiciously well "
                                  "(a zip bomb?); refusing it.")
        total += info.file_size
        if total > limit:
            raise ImportFileError(f"The archive unpacks to more than {limit // 2**20} MiB.")
    history = [m for m in members if _MEMBER.search(PurePosixPath(m.filename).name)]
    if not history:
        raise ImportFileError("No streaming history files (Streaming_History_Audio_*.json) "
                              "in this archive.")
    return history


class _Counted:
    """A read-only stream over one member that stops past its declared size or the budget
    shared by all members (the running total)."""

    def __init__(self, handle, info: zipfile.ZipInfo, budget: list[int]):
        self.handle, self.info, self.budget, self.read_bytes = handle, info, budget, 0

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(65536 if size is None or size < 0 else min(size, 65536))
        self.read_bytes += len(data)
        self.budget[0] -= len(data)
        if self.read_bytes > self.info.file_size:
            raise ImportFileError(f"{self.info.filename} is larger than its header says.")
        if self.budget[0] < 0:
            raise ImportFileError("The archive unpacks to more than "
                                  f"{settings.IMPORT_MAX_UNCOMPRESSED_BYTES // 2**20} MiB.")
        return data


class _Prefixed:
    """`stream` with `head` (already read) put back in front."""

    def __init__(self, head: bytes, stream):
        self.head, self.stream = head, stream

    def read(self, size: int = -1) -> bytes:
        if size == 0:  # ijson's probe for bytes or str
            return b""
        if self.head:
            head, self.head = self.head, b""
            return head
        return self.stream.read(size)


def _member_records(info: zipfile.ZipInfo, stream: _Counted) -> Iterator:
    head = b""
    while len(head.lstrip()) < 4:
        chunk = stream.read(4096)
        if not chunk:
            break
        head += chunk
    head = head.lstrip()
    if head.startswith(_BOM):
        head = head[len(_BOM):].lstrip()
    if not head.startswith(b"["):  # valid JSON of another shape, or not JSON at all
        try:
            for _ in ijson.parse(_Prefixed(head, stream)):
                pass  # streamed: a huge object costs no memory
        except (ijson.JSONError, UnicodeDecodeError, ValueError) as exc:
            if isinstance(exc, ImportFileError):
                raise
            raise ImportFileError(f"{info.filename} is not valid JSON.") from None
        raise ImportFileError(f"{info.filename} should hold a list of plays.")
    try:
        yield from ijson.items(_Prefixed(head, stream), "item", use_float=True)
    except (ijson.JSONError, UnicodeDecodeError, ValueError) as exc:
        if isinstance(exc, ImportFileError):
            raise
        raise ImportFileError(f"{info.filename} is not valid JSON.") from None
