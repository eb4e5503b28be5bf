"""The daily playlist scan: the listener's playlists and their tracks, 100 per page.

Both API dialects: a development-mode app reads `/v1/playlists/{id}/items` (entries carry the
track under `item`); an extended app reads `/tracks` and falls back to `/items` when that path
is refused (403/404). A 429 does not end the scan until tomorrow: it waits the Retry-After (at
most RATE_LIMIT_MAX_WAIT_SECONDS per wait, RATE_LIMIT_MAX_WAITS waits per scan) and continues
with the same page; playlists already stored with an unchanged snapshot are skipped anyway.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from . import catalog
from .models import Listener, Playlist, PlaylistTrack
from .polling import play_from_track
from .spotify import (RateLimited, SpotifyClient, SpotifyError, app_for, entry_track,
                      playlist_items_path)

logger = logging.getLogger(__name__)
Status = Listener.Status
RATE_LIMIT_MAX_WAIT_SECONDS = 60.0
RATE_LIMIT_MAX_WAITS = 5


class _Waiter:
    """`get` that sleeps through a bounded number of short 429s instead of giving up."""

    def __init__(self, client: SpotifyClient, sleep):
        self.client, self.sleep, self.waits = client, sleep, 0

    def get(self, path: str, **params):
        while True:
            try:
                return self.client.get(path, **params)
            except RateLimited as exc:
                if exc.retry_after > RATE_LIMIT_MAX_WAIT_SECONDS or \
                        self.waits >= RATE_LIMIT_MAX_WAITS:
                    raise
                self.waits += 1
                logger.info("playlist scan of %s: rate limited, waiting %.0f s",
                            self.client.listener, exc.retry_after)
                self.sleep(exc.retry_after)
                self.client.listener.backoff_until = None  # waited it out


def _pages(client, path: str, **params):
    """Follow Spotify's `next` links, which must stay on SPOTIFY_API_URL."""
    body = client.get(path, **params)
    while body:
        yield body
        following = body.get("next")
        if not following:
            return
        if not following.startswith(settings.SPOTIFY_API_URL + "/"):
            raise SpotifyError(f"refusing to follow a paging link off the API host: {following}")
        body = client.get(following[len(settings.SPOTIFY_API_URL):])


def scan_playlists(client: SpotifyClient, listener: Listener, sleep=time.sleep) -> int:
    """Returns how many playlists changed since the last scan."""
    Listener.objects.filter(pk=listener.pk).update(status_playlist=Status.RUNNING)
    changed = 0
    waiter = _Waiter(client, sleep)
    try:
        for page in _pages(waiter, "/v1/me/playlists", limit=50):
            for item in page.get("items") or []:
                if not isinstance(item, dict) or not item.get("id"):
                    continue
                playlist = Playlist.objects.filter(pk=item["id"]).first()
                if playlist and playlist.snapshot_id == item.get("snapshot_id"):
                    continue
                _store_playlist(waiter, listener, item)
                changed += 1
        Listener.objects.filter(pk=listener.pk).update(last_playlist_scan=timezone.now())
    finally:
        Listener.objects.filter(pk=listener.pk).update(status_playlist=Status.STOPPED)
    return changed


def _entries(waiter: _Waiter, playlist_id: str) -> list:
    app = app_for(waiter.client.listener)
    if not app.development:
        try:
            return _read_entries(waiter, playlist_items_path(playlist_id, old=True))
        except SpotifyError as exc:
            if exc.status not in (403, 404):
                raise
            logger.info("playlist %s: /tracks answered %s; reading /items", playlist_id,
                        exc.status)
    return _read_entries(waiter, playlist_items_path(playlist_id))


def _read_entries(waiter: _Waiter, path: str) -> list:
    entries = []
    for page in _pages(waiter, path, limit=100):
        for row in page.get("items") or []:
            track = entry_track(row)
            if not track or track.get("type", "track") != "track":
                continue  # removed tracks and podcast episodes
            added = parse_datetime(row.get("added_at") or "") if row.get("added_at") else None
            entries.append((play_from_track(track, added or datetime.min), added))
    return entries


def _store_playlist(waiter: _Waiter, listener: Listener, item: dict) -> None:
    entries = _entries(waiter, item["id"])
    with transaction.atomic():
        catalog.store_tracks(play for play, _ in entries)
        playlist, _ = Playlist.objects.update_or_create(
            pk=item["id"], defaults={"listener": listener, "name": (item.get("name") or "")[:300],
                                     "snapshot_id": item.get("snapshot_id") or "",
                                     "scanned_at": timezone.now()})
        PlaylistTrack.objects.filter(playlist=playlist).delete()
        PlaylistTrack.objects.bulk_create(
            [PlaylistTrack(playlist=playlist, track_id=p.track_id, position=n, added_at=added)
             for n, (p, added) in enumerate(entries)], batch_size=1000)
