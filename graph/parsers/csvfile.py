"""CSV with a header row: `artist`, `title` required; `timestamp`, `label`, `catalog`
optional; `dj`, `event`, `venue`, `date` optional (taken from the first row)."""

from __future__ import annotations

import csv
import io

from . import ParsedSetlist, ParseError, parse_date, seconds, structured_track


def parse(text: str) -> ParsedSetlist:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    fields = [f.strip().lower() for f in reader.fieldnames or []]
    if "artist" not in fields or "title" not in fields:
        raise ParseError("the header row must name 'artist' and 'title' columns", 1)
    reader.fieldnames = fields
    setlist = ParsedSetlist()
    try:
        for row in reader:
            number = reader.line_num
            if None in row:
                raise ParseError("more cells than header columns", number)
            row = {k: (v or "").strip() for k, v in row.items()}
            if not setlist.entries:
                setlist.dj, setlist.event = row.get("dj", ""), row.get("event", "")
                setlist.venue = row.get("venue", "")
                setlist.date = parse_date(row.get("date", ""), number)
            if not any(row.values()):
                continue
            timestamp = None
            if row.get("timestamp"):
                timestamp = seconds(row["timestamp"])
                if timestamp is None:
                    raise ParseError(f"timestamp {row['timestamp']!r} is not mm:ss", number)
            artist, title = row["artist"], row["title"] or "?"
            raw = f"{artist} - {title}" if artist else title
            setlist.add(raw, structured_track(artist, title, row.get("label", ""),
                                              row.get("catalog", "")), timestamp)
    except csv.Error as exc:
        raise ParseError(f"malformed CSV: {exc}", reader.line_num) from None
    return setlist
