"""Write uncompressed ("store") RAR 5.0 archives, so tests can build RAR song packs here.

No program that creates RAR archives is installable on this machine (`rar` is non-free), and the
three archives under tests/fixtures/rar hold no song folder. This follows RARLAB's format
description (https://www.rarlab.com/technote.htm, "RAR 5.0 archive format"): signature, main
archive header, one file header per member with its data stored as-is, end of archive header.
Each header is CRC32(size + header) | vint size | header; integers are vints (7 bits per byte,
low group first, high bit = "more bytes follow"). Tests check the output with `lsar`/rarfile, an
implementation that is not ours.
"""

import struct
import zlib
from pathlib import Path

SIGNATURE = b"Rar!\x1a\x07\x01\x00"
MAIN, FILE, END = 1, 2, 5  # header types
HAS_DATA = 0x0002  # header flag: a data area follows the header
FILE_HAS_MTIME, FILE_HAS_CRC = 0x0002, 0x0004  # file flags
HOST_UNIX = 1
UNIX_REGULAR_FILE = 0o100644


def vint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def block(header_type: int, flags: int, fields: bytes, data_size: int | None = None) -> bytes:
    body = vint(header_type) + vint(flags)
    if data_size is not None:
        body += vint(data_size)
    body += fields
    sized = vint(len(body)) + body
    return struct.pack("<I", zlib.crc32(sized)) + sized


def file_entry(name: str, data: bytes, mtime: int = 1_700_000_000) -> bytes:
    encoded = name.encode("utf-8")
    fields = (vint(FILE_HAS_MTIME | FILE_HAS_CRC) + vint(len(data)) + vint(UNIX_REGULAR_FILE)
              + struct.pack("<I", mtime) + struct.pack("<I", zlib.crc32(data))
              + vint(0)  # compression: version 0, not solid, method 0 (store), smallest dictionary
              + vint(HOST_UNIX) + vint(len(encoded)) + encoded)
    return block(FILE, HAS_DATA, fields, data_size=len(data)) + data


def write_rar5(target: Path, members: dict[str, bytes]) -> Path:
    """`members` maps archive paths (forward slashes) to contents."""
    parts = [SIGNATURE, block(MAIN, 0, vint(0))]
    parts += [file_entry(name, data) for name, data in members.items()]
    parts.append(block(END, 0, vint(0)))
    target.write_bytes(b"".join(parts))
    return target


def rar_folder(src: Path, target: Path, prefix: str = "") -> Path:
    """A RAR5 archive of every file under `src` (the counterpart of a zip of the folder)."""
    return write_rar5(target, {prefix + f.relative_to(src).as_posix(): f.read_bytes()
                               for f in sorted(src.rglob("*")) if f.is_file()})
