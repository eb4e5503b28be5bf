"""CUE sheets: the sheet's PERFORMER/TITLE are the DJ and the set; each `TRACK nn AUDIO` has
its own PERFORMER, TITLE and `INDEX 01 mm:ss:ff` (the timestamp)."""

from __future__ import annotations

import re
import shlex

from . import ParsedSetlist, ParseError, structured_track

_INDEX = re.compile(r"^(\d+):(\d{2}):(\d{2})$")


def parse(text: str) -> ParsedSetlist:
    setlist = ParsedSetlist()
    tracks: list[dict] = []
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped:
            continue
        try:
            words = shlex.split(stripped, posix=True)
        except ValueError:
            raise ParseError(f"unbalanced quotes in {stripped!r}", number) from None
        command, args = words[0].upper(), words[1:]
        if command == "TRACK":
            if len(args) < 2 or not args[0].isdigit():
                raise ParseError(f"TRACK needs a number and a type, got {stripped!r}", number)
            tracks.append({"line": number, "performer": "", "title": "", "timestamp": None})
        elif command in ("PERFORMER", "TITLE"):
            value = " ".join(args)
            key = command.lower()
            if tracks:
                tracks[-1][key] = value
            elif key == "performer":
                setlist.dj = value
            else:
                setlist.title = setlist.event = value
        elif command == "INDEX" and tracks and args[:1] == ["01"]:
            match = _INDEX.match(args[1] if len(args) > 1 else "")
            if not match:
                raise ParseError(f"INDEX 01 needs mm:ss:ff, got {stripped!r}", number)
            tracks[-1]["timestamp"] = int(match.group(1)) * 60 + int(match.group(2))
    for track in tracks:
        if not track["title"]:
            raise ParseError("TRACK without TITLE", track["line"])
        raw = f"{track['performer']} - {track['title']}" if track["performer"] else track["title"]
        setlist.add(raw, structured_track(track["performer"], track["title"]), track["timestamp"])
    return setlist
