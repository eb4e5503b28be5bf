"""Plain text: one `Artist - Title` per line, optionally numbered ("01.", "1)") and timed
("[04:23]", "4:23", "(1:02:03)"). `?`/`ID` lines are unknown tracks. Header lines
`DJ:`, `Event:`, `Venue:`, `Date:`, `Title:` set the setlist; `//` lines are comments."""

from __future__ import annotations

import re

from . import ParsedSetlist, ParseError, parse_date, seconds

_NUMBER = re.compile(r"^\s*\d{1,3}\s*[.)]\s*")
_STAMP = re.compile(r"^[\[(]?(\d{1,2}(?::\d{2}){1,2})[\])]?\s*(?:[-–]\s+)?")
_HEADER = re.compile(r"^(dj|event|venue|date|title)\s*:\s*(.*)$", re.IGNORECASE)
_UNKNOWN = re.compile(r"^(\?+|id|unknown)$", re.IGNORECASE)


def parse(text: str) -> ParsedSetlist:
    setlist = ParsedSetlist()
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("//"):
            continue
        header = _HEADER.match(stripped)
        if header and not setlist.entries:
            key, value = header.group(1).lower(), header.group(2).strip()
            if key == "date":
                setlist.date = parse_date(value, number)
            else:
                setattr(setlist, key, value)
            continue
        body = _NUMBER.sub("", stripped)
        timestamp = None
        stamp = _STAMP.match(body)
        if stamp:
            timestamp = seconds(stamp.group(1))
            body = body[stamp.end():]
        body = body.strip()
        if not re.search(r"\s[-–—]\s", body) and not _UNKNOWN.match(body):
            raise ParseError(f"expected 'Artist - Title', got {stripped!r}", number)
        setlist.add(body, timestamp=timestamp)
    return setlist
