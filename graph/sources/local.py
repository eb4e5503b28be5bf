"""Songhub's own sequences as setlists: songs a room played in order (source `rooms`) and,
for listeners who opted in (ListeningOptIn), listening sessions (source `listening`). A session
is a run of plays less than GRAPH_SESSION_GAP_MINUTES apart; each session is one setlist whose
external id is its start, so a growing session is a new revision of the same setlist."""

from __future__ import annotations

import json
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from .. import etl
from ..parsers import ParsedSetlist
from ..models import ListeningOptIn, RoomPlay


def sessions(plays: list[tuple], gap: timedelta) -> list[list[tuple]]:
    """Split (played_at, artist, title) tuples, oldest first, where the gap reaches `gap`."""
    runs: list[list[tuple]] = []
    for play in plays:
        if runs and play[0] - runs[-1][-1][0] < gap:
            runs[-1].append(play)
        else:
            runs.append([play])
    return runs


def _import(source: str, key: str, title: str, dj: str, run: list[tuple]) -> str:
    setlist = ParsedSetlist(title=title, dj=dj, date=run[0][0].date())
    for _, artist, name in run:
        setlist.add(f"{artist} - {name}" if artist else name)
    payload = json.dumps([[p[0].isoformat(), p[1], p[2]] for p in run])
    return etl.import_setlist(setlist, source=source, payload=payload, fmt="json",
                              external_id=f"{key}:{run[0][0].isoformat()}").status


def import_rooms(since_days: int = 2) -> dict:
    gap = timedelta(minutes=settings.GRAPH_SESSION_GAP_MINUTES)
    since = timezone.now() - timedelta(days=since_days)
    counts: dict[str, int] = {}
    room_ids = RoomPlay.objects.filter(played_at__gte=since).values_list("room_id", flat=True).distinct()
    for room_id in room_ids:
        plays = [(p.played_at, p.artist, p.title) for p in
                 RoomPlay.objects.filter(room_id=room_id, played_at__gte=since).order_by("played_at", "id")]
        for run in sessions(plays, gap):
            if len(run) > 1:
                status = _import("rooms", f"room:{room_id}", f"Room {room_id}", f"room {room_id}", run)
                counts[status] = counts.get(status, 0) + 1
    return counts


def import_listening(since_days: int = 2) -> dict:
    from listening.models import ListeningEvent

    gap = timedelta(minutes=settings.GRAPH_SESSION_GAP_MINUTES)
    since = timezone.now() - timedelta(days=since_days)
    counts: dict[str, int] = {}
    for opt_in in ListeningOptIn.objects.select_related("listener"):
        listener = opt_in.listener
        events = (ListeningEvent.objects.filter(listener=listener, played_at__gte=since)
                  .select_related("track").prefetch_related("track__artists").order_by("played_at"))
        plays = [(e.played_at, " & ".join(a.name for a in e.track.artists.all()), e.track.name)
                 for e in events]
        for run in sessions(plays, gap):
            if len(run) > 1:
                name = listener.display_name or listener.spotify_id
                status = _import("listening", f"listener:{listener.pk}", f"{name}'s session",
                                 name, run)
                counts[status] = counts.get(status, 0) + 1
    return counts
