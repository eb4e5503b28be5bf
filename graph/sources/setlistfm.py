"""setlist.fm REST API (SETLISTFM_API_URL, SETLISTFM_API_KEY): concert setlists.

setlist.fm has no free-text search, so a target's search is the artist *and* the title
together: setlists of `artistName` are listed and only those whose songs include the target
title are hits (never every setlist of the artist)."""

from __future__ import annotations

import json

from django.conf import settings

from ..identity import normalise
from ..parsers import ParsedSetlist, parse_date, structured_track
from ..resilience import PoliteClient, SourceError
from . import Fetched, Hit


class SetlistFm:
    name = "setlistfm"

    def __init__(self):
        if not settings.SETLISTFM_API_KEY:
            raise SourceError("setlist.fm needs SETLISTFM_API_KEY")
        self.client = PoliteClient("setlistfm", settings.SETLISTFM_API_URL,
                                   settings.GRAPH_REQUEST_INTERVAL_SECONDS,
                                   headers={"x-api-key": settings.SETLISTFM_API_KEY})

    def search_target(self, artist: str, title: str, limit: int = 5, pages: int = 3) -> list[Hit]:
        hits, wanted = [], normalise(title)
        for page in range(1, pages + 1):
            body = self.client.get("/1.0/search/setlists", {"artistName": artist, "p": page})
            items = body.get("setlist") or []
            for item in items:
                songs = [normalise(s.get("name", "")) for s in _songs(item)]
                if wanted in songs:
                    hits.append(Hit(item["id"], _title(item), item))
                    if len(hits) >= limit:
                        return hits
            if page * int(body.get("itemsPerPage") or 20) >= int(body.get("total") or 0):
                break
        return hits

    def fetch(self, hit: Hit) -> Fetched | None:
        item = hit.data or self.client.get(f"/1.0/setlist/{hit.external_id}")
        if not item:
            return None
        return Fetched(to_setlist(item), json.dumps(item, sort_keys=True), "json",
                       item["id"], str(item.get("versionId", "")))


def _songs(item: dict) -> list[dict]:
    return [song for part in (item.get("sets") or {}).get("set", []) for song in part.get("song", [])]


def _title(item: dict) -> str:
    venue = item.get("venue") or {}
    return f"{item.get('eventDate', '')} - {(item.get('artist') or {}).get('name', '')} @ " \
           f"{venue.get('name', '')}"


def to_setlist(item: dict) -> ParsedSetlist:
    artist = (item.get("artist") or {}).get("name", "")
    venue = item.get("venue") or {}
    setlist = ParsedSetlist(title=_title(item), dj=artist, venue=venue.get("name", ""),
                            event=(item.get("tour") or {}).get("name", ""), url=item.get("url", ""))
    day = item.get("eventDate", "")  # dd-MM-yyyy
    if len(day) == 10:
        setlist.date = parse_date(f"{day[6:]}-{day[3:5]}-{day[:2]}")
    for song in _songs(item):
        performer = (song.get("cover") or {}).get("name") or artist
        name = song.get("name") or "?"
        setlist.add(f"{performer} - {name}", structured_track(performer, name))
    return setlist
