"""The daily playlist scan: the listener's playlists and their tracks, 100 per page."""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from .models import Artist, Listener, Playlist, PlaylistTrack, Track
from .polling import play_from_track
from .spotify import SpotifyClient, SpotifyError

logger = logging.getLogger(__name__)
Status = Listener.Status


def _pages(client: SpotifyClient, path: str, **params):
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


def scan_playlists(client: SpotifyClient, listener: Listener) -> int:
    """Returns how many playlists changed since the last scan."""
    Listener.objects.filter(pk=listener.pk).update(status_playlist=Status.RUNNING)
    changed = 0
    try:
        for page in _pages(client, "/v1/me/playlists", limit=50):
            for item in page.get("items", []):
                playlist = Playlist.objects.filter(pk=item["id"]).first()
                if playlist and playlist.snapshot_id == item.get("snapshot_id"):
                    continue
                _store_playlist(client, listener, item)
                changed += 1
        Listener.objects.filter(pk=listener.pk).update(last_playlist_scan=timezone.now())
    finally:
        Listener.objects.filter(pk=listener.pk).update(status_playlist=Status.STOPPED)
    return changed


def _store_playlist(client: SpotifyClient, listener: Listener, item: dict) -> None:
    entries = []
    path = f"/v1/playlists/{item['id']}/tracks"
    for page in _pages(client, path, limit=100):
        for row in page.get("items", []):
            track = row.get("track")
            if not track or track.get("type", "track") != "track":
                continue  # removed tracks and podcast episodes
            added = parse_datetime(row.get("added_at") or "") if row.get("added_at") else None
            entries.append((play_from_track(track, added or datetime.min), added))
    with transaction.atomic():
        Artist.objects.bulk_create([Artist(id=a, name=n[:300]) for play, _ in entries
                                    for a, n in play.artists], ignore_conflicts=True)
        Track.objects.bulk_create([Track(id=p.track_id, name=p.name, duration_ms=p.duration_ms,
                                         album=p.album) for p, _ in entries],
                                  ignore_conflicts=True)
        Track.artists.through.objects.bulk_create(
            [Track.artists.through(track_id=p.track_id, artist_id=a) for p, _ in entries
             for a, _ in p.artists], ignore_conflicts=True)
        playlist, _ = Playlist.objects.update_or_create(
            pk=item["id"], defaults={"listener": listener, "name": (item.get("name") or "")[:300],
                                     "snapshot_id": item.get("snapshot_id") or "",
                                     "scanned_at": timezone.now()})
        PlaylistTrack.objects.filter(playlist=playlist).delete()
        PlaylistTrack.objects.bulk_create(
            [PlaylistTrack(playlist=playlist, track_id=p.track_id, position=n, added_at=added)
             for n, (p, added) in enumerate(entries)], batch_size=1000)
