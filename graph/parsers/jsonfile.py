"""The JSON format (documented in docs/graph.md):

    {"dj": "...", "event": "...", "venue": "...", "date": "YYYY-MM-DD", "title": "...",
     "tracks": [{"artist": "...", "title": "...", "timestamp": "4:23" | 263,
                 "label": "...", "catalog": "..."} | "Artist - Title", ...]}
"""

from __future__ import annotations

import json

from . import ParsedSetlist, ParseError, parse_date, seconds, structured_track


def parse(text: str) -> ParsedSetlist:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(f"invalid JSON: {exc.msg}", exc.lineno) from None
    if not isinstance(data, dict) or not isinstance(data.get("tracks"), list):
        raise ParseError('expected an object with a "tracks" list')
    setlist = ParsedSetlist()
    for key in ("dj", "event", "venue", "title", "url"):
        value = data.get(key) or ""
        if not isinstance(value, str):
            raise ParseError(f'"{key}" must be a string')
        setattr(setlist, key, value)
    setlist.date = parse_date(data.get("date") or "")
    for index, item in enumerate(data["tracks"]):
        where = f"tracks[{index}]"
        if isinstance(item, str):
            setlist.add(item)
            continue
        if not isinstance(item, dict) or not isinstance(item.get("title", ""), str) \
                or not isinstance(item.get("artist", ""), str):
            raise ParseError(f'{where}: expected a string or {{"artist", "title"}} strings')
        stamp = item.get("timestamp")
        if isinstance(stamp, str):
            timestamp = seconds(stamp)
            if timestamp is None:
                raise ParseError(f"{where}: timestamp {stamp!r} is not mm:ss")
        elif isinstance(stamp, int) or stamp is None:
            timestamp = stamp
        else:
            raise ParseError(f"{where}: timestamp must be mm:ss or seconds")
        artist, title = item.get("artist", ""), item.get("title", "") or "?"
        raw = f"{artist} - {title}" if artist else title
        setlist.add(raw, structured_track(artist, title, str(item.get("label") or ""),
                                          str(item.get("catalog") or "")), timestamp)
    return setlist
