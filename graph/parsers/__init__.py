"""Tracklist parsers: text in, `ParsedSetlist` out, nothing written.

Each format module has `parse(text) -> ParsedSetlist` and raises `ParseError` naming the line
(1-based) on malformed input. `parse(text, fmt="auto", filename="")` picks the module; the
ETL (graph.etl) is the only writer. Formats: mixesdb (MediaWiki wikitext), text, cue, m3u,
json (schema in docs/graph.md), csv.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from ..identity import ParsedTrack, parse_track

FORMATS = ("mixesdb", "text", "cue", "m3u", "json", "csv")


class ParseError(ValueError):
    def __init__(self, message: str, line: int | None = None):
        self.line = line
        super().__init__(f"line {line}: {message}" if line else message)


@dataclass
class ParsedEntry:
    position: int
    raw_line: str
    track: ParsedTrack
    timestamp: int | None = None  # seconds from the start of the set


@dataclass
class ParsedSetlist:
    entries: list[ParsedEntry] = field(default_factory=list)
    title: str = ""
    dj: str = ""
    event: str = ""
    venue: str = ""
    date: date | None = None
    url: str = ""

    def add(self, raw_line: str, track: ParsedTrack | None = None, timestamp: int | None = None):
        self.entries.append(ParsedEntry(len(self.entries) + 1, raw_line.strip(),
                                        track if track is not None else parse_track(raw_line),
                                        timestamp))


_TIME = re.compile(r"^(?:(\d{1,2}):)?(\d{1,3}):(\d{2})$")


def seconds(text: str) -> int | None:
    """"1:02:03" / "62:03" / "4:23" -> seconds; None when it is not a time."""
    match = _TIME.match(text.strip())
    if not match:
        return None
    hours, minutes, secs = (int(g) if g else 0 for g in match.groups())
    return hours * 3600 + minutes * 60 + secs


def structured_track(artist: str, title: str, label: str = "", catalog: str = "") -> ParsedTrack:
    """A track from separate artist/title fields (CUE, JSON, CSV)."""
    track = parse_track(f"{artist.strip()} - {title.strip()}" if artist.strip() else title)
    if not artist.strip():
        track.artists = []
    track.label = label.strip() or track.label
    track.catalog = catalog.strip() or track.catalog
    return track


def parse_date(text: str, line: int | None = None) -> date | None:
    if not text or not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError:
        raise ParseError(f"date {text!r} is not YYYY-MM-DD", line) from None


def detect(text: str, filename: str = "") -> str:
    """The format of a file, from its extension first and its content second."""
    name = filename.lower()
    for ext, fmt in ((".cue", "cue"), (".m3u", "m3u"), (".m3u8", "m3u"), (".json", "json"),
                     (".csv", "csv"), (".wiki", "mixesdb")):
        if name.endswith(ext):
            return fmt
    head = text.lstrip()[:2000]
    if head.startswith(("{", "[")) and not head.startswith("{{"):
        return "json"
    if head.startswith("#EXTM3U") or "#EXTINF" in head:
        return "m3u"
    if re.search(r"^\s*TRACK\s+\d+\s+AUDIO", head, re.MULTILINE):
        return "cue"
    if re.search(r"^#\s", head, re.MULTILINE) or "==" in head:
        return "mixesdb"
    first = head.splitlines()[0] if head else ""
    if "," in first and "artist" in first.lower() and "title" in first.lower():
        return "csv"
    return "text"


def parse(text: str, fmt: str = "auto", filename: str = "") -> ParsedSetlist:
    from . import cue, csvfile, jsonfile, m3u, mixesdb, plaintext

    if fmt == "auto":
        fmt = detect(text, filename)
    modules = {"mixesdb": mixesdb, "text": plaintext, "cue": cue, "m3u": m3u, "json": jsonfile,
               "csv": csvfile}
    if fmt not in modules:
        raise ParseError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    setlist = modules[fmt].parse(text)
    if not setlist.entries:
        raise ParseError(f"no tracks found ({fmt})")
    return setlist
