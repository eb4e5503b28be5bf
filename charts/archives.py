"""Safe archive extraction (.zip, .7z, .rar) for chart imports.

`inspect(path)` lists members and refuses, before a single byte is extracted: unknown or
corrupt archives, encrypted archives (clear message), more than CHARTS_MAX_MEMBERS members,
absolute or `..` names (also with backslashes or drive letters), symlinks and devices, a total
uncompressed size over CHARTS_MAX_UNCOMPRESSED_MB, and a member over 1 MiB compressed more than
CHARTS_MAX_RATIO times. `extract(path, dest)` then writes members one by one, counting the bytes
really produced, so an archive whose headers lie is stopped at the limit too.
"""

from __future__ import annotations

import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from .storage.base import UnsafePath, confine

RATIO_CHECK_FROM_BYTES = 1 * 2**20
COPY_CHUNK = 1 * 2**20
MAGIC = {b"PK\x03\x04": "zip", b"PK\x05\x06": "zip", b"7z\xbc\xaf\x27\x1c": "7z",
         b"Rar!\x1a\x07": "rar"}


class ArchiveRefused(ValueError):
    """The archive is not imported; the message says why. Nothing was written anywhere."""


@dataclass(frozen=True)
class Member:
    name: str  # confined relative path
    size: int
    compressed: int
    is_dir: bool


@dataclass(frozen=True)
class Limits:
    members: int
    total_bytes: int
    ratio: int

    @classmethod
    def from_settings(cls) -> Limits:
        return cls(settings.CHARTS_MAX_MEMBERS, settings.CHARTS_MAX_UNCOMPRESSED_MB * 2**20,
                   settings.CHARTS_MAX_RATIO)


def kind_of(path: Path) -> str | None:
    with open(path, "rb") as handle:
        head = handle.read(8)
    for magic, kind in MAGIC.items():
        if head.startswith(magic):
            return kind
    return None


def _name(raw: str) -> str:
    name = raw.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise ArchiveRefused(f"The archive contains an absolute path: {raw!r}.")
    if ".." in name.split("/"):
        raise ArchiveRefused(f"The archive contains a '..' path: {raw!r}.")
    try:
        return confine(name)
    except UnsafePath as exc:
        raise ArchiveRefused(f"The archive contains an unsafe name: {raw!r} ({exc}).") from None


def _zip_members(path: Path) -> list[Member]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ArchiveRefused(f"This ZIP file is damaged: {exc}.") from None
    members = []
    with archive:
        for info in archive.infolist():
            if info.flag_bits & 0x1:
                raise ArchiveRefused("The archive is encrypted (password-protected); "
                                     "upload it without a password.")
            mode = info.external_attr >> 16
            if mode and (stat.S_ISLNK(mode) or stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
                         or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
                raise ArchiveRefused(f"The archive contains a link or device: {info.filename!r}.")
            members.append(Member(_name(info.filename), info.file_size, info.compress_size,
                                  info.is_dir()))
    return members


def _7z_members(path: Path) -> list[Member]:
    import py7zr

    try:
        with py7zr.SevenZipFile(path) as archive:
            if archive.needs_password():
                raise ArchiveRefused("The archive is encrypted (password-protected); "
                                     "upload it without a password.")
            infos = archive.list()
    except py7zr.exceptions.PasswordRequired:
        raise ArchiveRefused("The archive is encrypted (password-protected); upload it without "
                             "a password.") from None
    except (py7zr.exceptions.ArchiveError, OSError, EOFError, ValueError) as exc:
        raise ArchiveRefused(f"This 7z file is damaged: {exc}.") from None
    members = []
    for info in infos:
        if info.is_symlink or not (info.is_directory or info.is_file):
            raise ArchiveRefused(f"The archive contains a link or device: {info.filename!r}.")
        members.append(Member(_name(info.filename), int(info.uncompressed or 0),
                              int(info.compressed or 0), info.is_directory))
    return members


def _rar_members(path: Path) -> list[Member]:
    import rarfile

    try:
        archive = rarfile.RarFile(path)
    except rarfile.PasswordRequired:
        raise ArchiveRefused("The archive is encrypted (password-protected); upload it without "
                             "a password.") from None
    except (rarfile.Error, OSError) as exc:
        raise ArchiveRefused(f"This RAR file is damaged: {exc}.") from None
    with archive:
        if archive.needs_password():
            raise ArchiveRefused("The archive is encrypted (password-protected); upload it "
                                 "without a password.")
        members = []
        for info in archive.infolist():
            if info.is_symlink() or not (info.is_dir() or info.is_file()):
                raise ArchiveRefused(f"The archive contains a link or device: {info.filename!r}.")
            if info.needs_password():
                raise ArchiveRefused("The archive is encrypted (password-protected); upload it "
                                     "without a password.")
            members.append(Member(_name(info.filename), int(info.file_size or 0),
                                  int(info.compress_size or 0), info.is_dir()))
    return members


READERS = {"zip": _zip_members, "7z": _7z_members, "rar": _rar_members}


def inspect(path, limits: Limits | None = None) -> tuple[str, list[Member]]:
    """(kind, members) after every check; `ArchiveRefused` otherwise."""
    path = Path(path)
    limits = limits or Limits.from_settings()
    kind = kind_of(path)
    if kind is None:
        raise ArchiveRefused("Not a .zip, .7z or .rar archive.")
    members = READERS[kind](path)
    if len(members) > limits.members:
        raise ArchiveRefused(f"The archive has {len(members)} entries; the limit is "
                             f"{limits.members}.")
    total = sum(m.size for m in members)
    if total > limits.total_bytes:
        raise ArchiveRefused(f"The archive unpacks to {total // 2**20} MiB; the limit is "
                             f"{limits.total_bytes // 2**20} MiB.")
    for m in members:
        if m.size > RATIO_CHECK_FROM_BYTES and m.compressed and \
                m.size / m.compressed > limits.ratio:
            raise ArchiveRefused(f"{m.name} is compressed {m.size // m.compressed}:1 "
                                 "(a zip bomb?); refusing the archive.")
    if kind == "7z" and total > RATIO_CHECK_FROM_BYTES:  # solid blocks: judge the whole file
        if total / max(1, path.stat().st_size) > limits.ratio:
            raise ArchiveRefused("The archive is compressed suspiciously well (a bomb?); "
                                 "refusing it.")
    return kind, members


def extract(path, dest, limits: Limits | None = None, progress=None) -> list[Member]:
    """Inspect, then extract into `dest` (which must be empty). Raises ArchiveRefused."""
    path, dest = Path(path), Path(dest)
    limits = limits or Limits.from_settings()
    kind, members = inspect(path, limits)
    dest.mkdir(parents=True, exist_ok=True)
    try:
        _extract(kind, path, dest, members, limits, progress)
    except ArchiveRefused:
        raise
    except Exception as exc:  # CRC errors, truncated data, backend failures: all "damaged"
        raise ArchiveRefused(f"The archive is damaged and cannot be unpacked: {exc}.") from None
    return members


def _extract(kind, path, dest, members, limits, progress) -> None:
    budget = [limits.total_bytes]
    if kind == "zip":
        with zipfile.ZipFile(path) as archive:
            for done, info in enumerate(archive.infolist(), 1):
                _write_member(archive.open(info), dest, _name(info.filename), info.is_dir(),
                              info.file_size, budget)
                if progress:
                    progress(done, len(members))
    elif kind == "rar":
        import rarfile

        with rarfile.RarFile(path) as archive:
            for done, info in enumerate(archive.infolist(), 1):
                opener = None if info.is_dir() else archive.open(info)
                _write_member(opener, dest, _name(info.filename), info.is_dir(),
                              info.file_size, budget)
                if progress:
                    progress(done, len(members))
    else:
        import py7zr

        # py7zr sanitises names itself and stops output beyond the declared sizes
        # (DecompressionBombError); the checks above already bounded those sizes.
        try:
            with py7zr.SevenZipFile(path) as archive:
                archive.extractall(path=dest)
        except (py7zr.exceptions.ArchiveError, py7zr.exceptions.DecompressionBombError,
                OSError, EOFError, ValueError) as exc:
            raise ArchiveRefused(f"This 7z file could not be unpacked: {exc}.") from None
        used = sum(f.stat().st_size for f in dest.rglob("*") if f.is_file())
        if used > limits.total_bytes or any(f.is_symlink() for f in dest.rglob("*")):
            raise ArchiveRefused("The archive unpacked to more than it declared; refused.")
        if progress:
            progress(len(members), len(members))


def _write_member(handle, dest: Path, name: str, is_dir: bool, declared: int, budget) -> None:
    target = dest / name if name else dest
    if is_dir:
        target.mkdir(parents=True, exist_ok=True)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with handle, open(target, "wb") as out:
        while True:
            chunk = handle.read(COPY_CHUNK)
            if not chunk:
                break
            written += len(chunk)
            budget[0] -= len(chunk)
            if written > declared or budget[0] < 0:
                raise ArchiveRefused(f"{name} unpacks to more than its header says; refused.")
            out.write(chunk)


def remove_tree(path) -> None:
    shutil.rmtree(path, ignore_errors=True)
