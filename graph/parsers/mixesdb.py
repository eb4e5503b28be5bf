"""MixesDB wikitext: `# [mm] Artist - Title [Label]` lines under the tracklist, `?` for unknown
tracks, `== CD1 ==` / `;CD 2` parts continuing the numbering. The page title
("2019-06-15 - Deadmau5 @ Ultra Music Festival, Miami") gives date, DJ, event and venue."""

from __future__ import annotations

import re

from . import ParsedSetlist, parse_date, seconds

_ITEM = re.compile(r"^#\s*(?:\[(\d{1,3}(?::\d{2}){0,2})\]\s*)?(.*)$")
_LINK = re.compile(r"\[\[(?:[^|\]]*\|)?([^\]]*)\]\]")
_TEMPLATE = re.compile(r"\{\{[^{}]*\}\}")
_TAGS = re.compile(r"<[^>]+>|'''?")
_PAGE_TITLE = re.compile(r"^(\d{4}-\d{2}(?:-\d{2})?)\s+-\s+(.+?)(?:\s+@\s+(.+))?$")


def parse(text: str, page_title: str = "") -> ParsedSetlist:
    setlist = ParsedSetlist()
    if page_title:
        apply_page_title(setlist, page_title)
    for line in text.splitlines():
        match = _ITEM.match(line.strip())
        if not match:
            continue  # headings (CD parts), categories, prose
        stamp, body = match.groups()
        body = _TAGS.sub("", _TEMPLATE.sub("", _LINK.sub(r"\1", body))).strip()
        if not body:
            body = "?"
        timestamp = None
        if stamp:
            timestamp = seconds(stamp) if ":" in stamp else int(stamp) * 60
        setlist.add(body, timestamp=timestamp)
    return setlist


def apply_page_title(setlist: ParsedSetlist, page_title: str) -> None:
    setlist.title = page_title
    match = _PAGE_TITLE.match(page_title.strip())
    if not match:
        return
    day, dj, where = match.groups()
    setlist.date = parse_date(day + "-01" if len(day) == 7 else day)
    setlist.dj = dj.strip()
    if where:
        event, _, venue = where.partition(",")
        setlist.event, setlist.venue = event.strip(), venue.strip()
