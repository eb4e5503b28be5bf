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
    """Create the artists, tracks and links that are missing; call inside a transaction."""
    plays = list(plays)
    if not plays:
        return
    Artist.objects.bulk_create([Artist(id=a, name=n[:300]) for p in plays for a, n in p.artists],
                               ignore_conflicts=True)
    Track.objects.bulk_create([Track(id=p.track_id, name=p.name, duration_ms=p.duration_ms,
                                     album=p.album) for p in plays], ignore_conflicts=True)
    real = {p.track_id for p in plays
            if not p.track_id.startswith(":") and any(not a.startswith(":") for a, _ in p.artists)}
    if real:  # Spotify's artists supersede names from an export
        Link.objects.filter(track_id__in=real, artist__id__startswith=":").delete()
    Link.objects.bulk_create([Link(track_id=p.track_id, artist_id=a) for p in plays
                              for a, _ in p.artists], ignore_conflicts=True)
