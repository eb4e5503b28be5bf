"""One song folder's files → the `Chart` fields, shared by library sync and archive import.

`describe_folder(names, read)` takes the folder's file names and a `read(name) -> bytes`
callable (a storage download in sync, a local read in import) and reads only song.ini and the
chart file. The result is plain data; nothing here touches the database.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from . import validate
from .formats import CHART_FILES, ini, parse_chart
from .formats.common import DIFF_KEYS

INI_MAX_BYTES = 1 * 2**20
CHART_MAX_BYTES = 32 * 2**20


def is_song_folder(names) -> bool:
    lower = {n.lower() for n in names}
    return "song.ini" in lower or any(c in lower for c in CHART_FILES)


def pick(names, wanted) -> str | None:
    """The actual name of the first wanted file present, matched case-insensitively."""
    by_lower = {n.lower(): n for n in names}
    return next((by_lower[w] for w in wanted if w in by_lower), None)


@dataclass
class FolderInfo:
    fields: dict
    chart_bytes_hash: str = ""
    ini_doc: ini.IniDocument | None = None
    issues: list[str] = field(default_factory=list)


def wanted_files(names) -> list[str]:
    """The files `describe_folder` reads: song.ini and the chart file."""
    return [n for n in (pick(names, ["song.ini"]), pick(names, CHART_FILES)) if n]


def describe_blobs(names: list[str], blobs: dict[str, bytes]) -> dict:
    """`describe_folder` over downloaded bytes, returning only the fields (cheap to pickle:
    sync runs this in worker processes)."""
    return describe_folder(names, blobs.__getitem__).fields


def describe_folder(names: list[str], read) -> FolderInfo:
    ini_name = pick(names, ["song.ini"])
    chart_name = pick(names, CHART_FILES)
    doc = ini.parse(read(ini_name)) if ini_name else None
    chart_data, chart_hash = None, ""
    if chart_name:
        raw = read(chart_name)
        chart_hash = hashlib.sha256(raw).hexdigest()
        chart_data = parse_chart(chart_name, raw)
    values = doc.values if doc else {}
    known, other = ini.typed(values)
    meta = chart_data.metadata if chart_data else {}
    issues = validate.check(names, values if doc else None, doc.issues if doc else [],
                            chart_data)
    audio = validate.audio_files(names)
    lower = [n.lower() for n in names]
    title = values.get("name") or meta.get("Name", "")
    artist = values.get("artist") or meta.get("Artist", "")
    charter = values.get("charter") or values.get("frets") or meta.get("Charter", "")
    fields = {
        "title": title[:500], "artist": artist[:500],
        "album": (values.get("album") or meta.get("Album", ""))[:500],
        "genre": (values.get("genre") or meta.get("Genre", ""))[:200],
        "year": (values.get("year") or meta.get("Year", ""))[:40].strip(),
        "charter": charter[:500],
        "search_text": " ".join(ini.strip_tags(t) for t in (title, artist, charter) if t),
        "song_length_ms": known.get("song_length"),
        "chart_length_ms": chart_data.length_ms if chart_data else None,
        "preview_start_ms": known.get("preview_start_time"),
        "diffs": {k: v for k, v in known.items() if k.startswith("diff_")},
        "chart_format": chart_data.format if chart_data else "",
        "chart_file": chart_name or "",
        "note_counts": chart_data.notes if chart_data else {},
        "star_power": chart_data.star_power if chart_data else {},
        "sections": (chart_data.sections if chart_data else [])[:200],
        "audio_files": audio,
        "album_art": next((n for n in names if validate.stem_and_ext(n)[0] == "album"
                           and validate.stem_and_ext(n)[1] in validate.IMAGE_EXTENSIONS), ""),
        "has_audio": bool(audio),
        "has_video": any(n.rpartition(".")[0] == "video" or n.endswith(validate.VIDEO_EXTENSIONS)
                         for n in lower),
        "has_background": any(n.startswith("background") and n.endswith(
            validate.IMAGE_EXTENSIONS) for n in lower),
        "ini": known, "ini_other": other,
        "files": sorted(names),
        "issues": issues,
        "chart_hash": chart_hash,
    }
    return FolderInfo(fields, chart_hash, doc, issues)


def instruments_with_notes(note_counts: dict) -> list[str]:
    return [i for i in DIFF_KEYS if any(note_counts.get(i, {}).values())]
