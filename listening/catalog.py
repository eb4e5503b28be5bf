"""Tracks and artists as Spotify describes them, stored from whatever track objects a job
already holds (a poll's recently-played or currently-playing item, a playlist page).

Storing the artists and track–artist links at poll time means most tracks never need the
artist linker (Development Mode apps lost the batch endpoints in 2026). Spotify's artists
replace provisional ones (ids starting with ':' on a Spotify track, from a data export's artist
names, see `local_ids.export_artist_id`). Bulk and idempotent: safe under concurrent polls.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from .models import Artist, Track

Link = Track.artists.through


class TrackData(Protocol):  # polling.Play
    track_id: str
    name: str
    duration_ms: int
    album: str
    artists: tuple[tuple[str, str], ...]


def store_tracks(plays: Iterable[TrackData]) -> None:
    """Create the artists, tracks and links that are missing; call inside a transaction.

    Reads first and inserts only what is missing: after warm-up nearly every poll finds its
    tracks stored, and an INSERT … ON CONFLICT on a row another poll inserted a moment ago waits
    for that poll's transaction to end, which serialised concurrent polls of popular songs."""
    plays = list(plays)
    if not plays:
        return
    artists = {a: n for p in plays for a, n in p.artists}
    known = set(Artist.objects.filter(id__in=artists).values_list("id", flat=True))
    if len(known) < len(artists):
        Artist.objects.bulk_create([Artist(id=a, name=n[:300]) for a, n in artists.items()
                                    if a not in known], ignore_conflicts=True)
    tracks = {p.track_id: p for p in plays}
    known = set(Track.objects.filter(id__in=tracks).values_list("id", flat=True))
    if len(known) < len(tracks):
        Track.objects.bulk_create([Track(id=t, name=p.name, duration_ms=p.duration_ms,
                                         album=p.album) for t, p in tracks.items()
                                   if t not in known], ignore_conflicts=True)
    real = {p.track_id for p in plays
            if not p.track_id.startswith(":") and any(not a.startswith(":") for a, _ in p.artists)}
    if real:  # Spotify's artists supersede names from an export
        Link.objects.filter(track_id__in=real, artist__id__startswith=":").delete()
    wanted = {(p.track_id, a) for p in plays for a, _ in p.artists}
    known = set(Link.objects.filter(track_id__in=tracks).values_list("track_id", "artist_id"))
    if wanted - known:
        Link.objects.bulk_create([Link(track_id=t, artist_id=a) for t, a in wanted - known],
                                 ignore_conflicts=True)
