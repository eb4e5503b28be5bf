"""What one poll of one listener does, and how a counted play is stored.

history: `GET /v1/me/player/recently-played?limit=50&after=<last stored play>`; every new
item is a play. realtime: `GET /v1/me/player/currently-playing`; a play counts when something
is playing, it is a track, more than 30 s in, and not the track counted last. hybrid: both,
realtime counting only local files (history cannot see them).

A poll returns how many plays it counted; the caller records when it polled
(`listening.poller` batches those writes for all listeners of a worker).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone as dt_timezone

from django.db import IntegrityError, transaction
from django.db.models import F, Max, OuterRef, Subquery
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from . import catalog
from .local_ids import local_artist_id, local_track_id
from .models import ListeningEvent, Listener, PlayCount, Track
from .spotify import SpotifyClient, entry_track

logger = logging.getLogger(__name__)

MIN_PROGRESS_MS = 30_000


@dataclass(frozen=True)
class Play:
    track_id: str
    name: str
    duration_ms: int
    album: str
    artists: tuple[tuple[str, str], ...]  # (id, name)
    played_at: datetime


def play_from_track(track: dict, played_at: datetime) -> Play:
    if track.get("is_local") or not track.get("id"):
        uri = track.get("uri") or f"spotify:local:::{track.get('name', '')}:0"
        artists = tuple((local_artist_id(a.get("name", "")), a.get("name", ""))
                        for a in track.get("artists", []))
        track_id = local_track_id(uri)
    else:
        artists = tuple((a["id"], a.get("name", "")) for a in track.get("artists", [])
                        if a.get("id"))
        track_id = track["id"]
    return Play(track_id, (track.get("name") or "")[:500], int(track.get("duration_ms") or 0),
                ((track.get("album") or {}).get("name") or "")[:500], artists, played_at)


def record_play(listener: Listener, play: Play) -> bool:
    """Store one play: artists, track, event, play count, in one transaction. Idempotent:
    the same (listener, played_at) twice is stored once. True when it was new."""
    try:
        with transaction.atomic():
            catalog.store_tracks([play])  # artists and links too: the linker skips it
            track = Track(pk=play.track_id)
            ListeningEvent.objects.create(listener=listener, track=track,
                                          played_at=play.played_at)
            if not PlayCount.objects.filter(listener=listener, track=track).update(
                    count=F("count") + 1):
                PlayCount.objects.create(listener=listener, track=track, count=1)
        return True
    except IntegrityError:  # already stored (another poll, or a retry)
        return False


def _history_events(listener):
    # the cursor is the newest play history reported: realtime-counted local files do not count
    return ListeningEvent.objects.filter(listener=listener).exclude(track__id__startswith=":")


def with_history_cursor(listeners):
    """Annotate each listener with `history_cursor`, so a poll reads it in the same query as
    the listener (the poller does; one query less per history poll)."""
    newest = _history_events(OuterRef("pk")).order_by("-played_at").values("played_at")[:1]
    return listeners.annotate(history_cursor=Subquery(newest))


def poll_history(client: SpotifyClient, listener: Listener) -> int:
    if hasattr(listener, "history_cursor"):
        last = listener.history_cursor
    else:
        last = _history_events(listener).aggregate(last=Max("played_at"))["last"]
    params = {"limit": 50}
    if last is not None:
        params["after"] = int(last.timestamp() * 1000)
    body = client.get("/v1/me/player/recently-played", **params) or {}
    counted = 0
    for item in body.get("items", []):
        played_at = parse_datetime(item.get("played_at", ""))
        track = entry_track(item) or {}  # `track`, or `item` in the 2026 shape
        if played_at is None or (last is not None and played_at <= last):
            continue
        if listener.mode == Listener.Mode.HYBRID and track.get("is_local"):
            continue  # realtime counts local files in hybrid mode
        counted += record_play(listener, play_from_track(track, played_at))
    return counted


def poll_realtime(client: SpotifyClient, listener: Listener) -> int:
    body = client.get("/v1/me/player/currently-playing")
    if not body or not body.get("is_playing") or body.get("currently_playing_type") != "track":
        return 0
    track = body.get("item") or {}
    if (body.get("progress_ms") or 0) <= MIN_PROGRESS_MS:
        return 0
    if listener.mode == Listener.Mode.HYBRID and not track.get("is_local"):
        return 0
    started_ms = int(body.get("timestamp") or 0) or int(timezone.now().timestamp() * 1000)
    played_at = datetime.fromtimestamp(started_ms / 1000, tz=dt_timezone.utc)
    play = play_from_track(track, played_at)
    if play.track_id == listener.last_counted_track:
        return 0
    counted = record_play(listener, play)
    Listener.objects.filter(pk=listener.pk).update(last_counted_track=play.track_id)
    listener.last_counted_track = play.track_id
    return int(counted)
