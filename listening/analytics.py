"""The dashboard's queries. Each one filters by listener and time range (the
(played_at, listener) index) and aggregates in the database; none loads a history."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Count, Sum
from django.db.models.functions import ExtractHour, ExtractIsoWeekDay, TruncDate
from django.utils import timezone

from .models import ListeningEvent, Listener

STATUS_COLORS = {"running": "#1db954", "stopping": "#FFD700", "not running": "#E10000",
                 "error": "#E10000", "not linked": "#5f6672"}


def window(days: int) -> tuple[datetime, datetime]:
    end = timezone.now()
    return end - timedelta(days=days), end


def _events(listener: Listener, start: datetime, end: datetime):
    return ListeningEvent.objects.filter(listener=listener, played_at__gte=start,
                                         played_at__lt=end)


def plays_per_day(listener, start, end) -> list[dict]:
    rows = (_events(listener, start, end).annotate(day=TruncDate("played_at")).values("day")
            .annotate(plays=Count("id")).order_by("day"))
    return [{"date": row["day"].isoformat(), "plays": row["plays"]} for row in rows]


def hour_of_week(listener, start, end) -> list[list[int]]:
    """7 rows (Monday first) of 24 hourly play counts, in UTC."""
    grid = [[0] * 24 for _ in range(7)]
    rows = (_events(listener, start, end)
            .annotate(weekday=ExtractIsoWeekDay("played_at"), hour=ExtractHour("played_at"))
            .values("weekday", "hour").annotate(plays=Count("id")))
    for row in rows:
        grid[row["weekday"] - 1][row["hour"]] = row["plays"]
    return grid


def top_tracks(listener, start, end, limit=10) -> list[dict]:
    rows = (_events(listener, start, end).values("track_id", "track__name")
            .annotate(plays=Count("id"), ms=Sum("track__duration_ms"))
            .order_by("-plays", "track__name")[:limit])
    return [{"id": r["track_id"], "name": r["track__name"], "plays": r["plays"],
             "minutes": round((r["ms"] or 0) / 60000)} for r in rows]


def top_artists(listener, start, end, limit=10) -> list[dict]:
    rows = (_events(listener, start, end).filter(track__artists__isnull=False)
            .values("track__artists__id", "track__artists__name")
            .annotate(plays=Count("id"), ms=Sum("track__duration_ms"))
            .order_by("-plays", "track__artists__name")[:limit])
    return [{"id": r["track__artists__id"], "name": r["track__artists__name"],
             "plays": r["plays"], "minutes": round((r["ms"] or 0) / 60000)} for r in rows]


def recent_plays(listener, page: int, per_page: int = 25) -> dict:
    offset = (page - 1) * per_page
    rows = list(ListeningEvent.objects.filter(listener=listener).select_related("track")
                .prefetch_related("track__artists").order_by("-played_at")
                [offset:offset + per_page + 1])
    return {"page": page, "has_next": len(rows) > per_page,
            "items": [{"played_at": e.played_at.isoformat(), "track": e.track.name,
                       "artists": ", ".join(a.name for a in e.track.artists.all())}
                      for e in rows[:per_page]]}


def service_status(listener: Listener) -> dict:
    """What the dashboard's status badge says. The seed's colours: running #1db954, stopped
    #E10000 (and gold while stopping); an error (the last poll failed for good: no
    credentials, a revoked token) is red too, never a green "running"."""
    if not listener.spotify_id:
        label = "not linked"
    elif listener.enabled and listener.last_error:
        label = "error"
    elif listener.enabled:
        label = "running"
    elif listener.status_song == Listener.Status.PROCESSING:
        label = "stopping"
    else:
        label = "not running"
    return {"status": label, "color": STATUS_COLORS[label], "mode": listener.mode,
            "linked": bool(listener.spotify_id), "error": listener.last_error,
            "error_at": listener.last_error_at and listener.last_error_at.isoformat(),
            "status_song": listener.status_song, "status_playlist": listener.status_playlist,
            "last_history_poll": listener.last_history_poll and
            listener.last_history_poll.isoformat()}
