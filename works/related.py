"""What songhub knows about a song elsewhere: from any one thing (a chord sheet, a Spotify
track, a chart, a graph track) through its Work to the others, plus your plays and what DJs and
bands play next. Pages and APIs call `related(kind, object_id, user)`."""

from __future__ import annotations

from collections import defaultdict

from django.db import connection
from django.db.models import Count, Max
from django.urls import reverse

from .models import Kind, Work, WorkLink


def work_for(kind: str, object_id) -> Work | None:
    link = WorkLink.objects.select_related("work").filter(kind=kind,
                                                          object_id=str(object_id)).first()
    return link.work if link else None


def related(kind: str, object_id, user=None, next_limit: int = 5) -> dict | None:
    """None when the thing has no work yet (link_works has not seen it)."""
    work = work_for(kind, object_id)
    if work is None:
        return None
    ids: dict[str, list[str]] = defaultdict(list)
    for link_kind, link_id in work.links.values_list("kind", "object_id"):
        ids[link_kind].append(link_id)
    return {
        "work": {"id": work.pk, "title": work.title, "artist": work.artist},
        "songs": _songs(ids[Kind.SONG]),
        "charts": _charts(ids[Kind.CHART]),
        "spotify_tracks": ids[Kind.SPOTIFY],
        "plays": _plays(ids[Kind.SPOTIFY], user),
        "next": _next(ids[Kind.GRAPH], next_limit),
    }


def _songs(ids: list[str]) -> list[dict]:
    from ingestion.models import Song

    songs = Song.objects.filter(pk__in=[int(i) for i in ids]).values("id", "title", "artist", "key")
    return [{**s, "url": reverse("song-detail", args=[s["id"]])} for s in songs]


def _charts(ids: list[str]) -> list[dict]:
    from charts.models import Chart

    found = Chart.objects.filter(pk__in=[int(i) for i in ids]).values("id", "title", "artist",
                                                                      "charter", "note_counts")
    return [{"id": c["id"], "title": c["title"], "artist": c["artist"], "charter": c["charter"],
             "difficulties": {instrument: sorted(levels) for instrument, levels
                              in (c["note_counts"] or {}).items()},
             "url": reverse("chart-detail", args=[c["id"]])} for c in found]


def _plays(track_ids: list[str], user) -> dict | None:
    """Your plays of the work (every Spotify track of it), for a signed-in listener."""
    if not track_ids or user is None or not user.is_authenticated:
        return None
    from listening.models import ListeningEvent

    stats = ListeningEvent.objects.filter(listener__user=user, track_id__in=track_ids) \
        .aggregate(count=Count("pk"), last=Max("played_at"))
    return {"count": stats["count"], "last_played": stats["last"].isoformat()
            if stats["last"] else None}


def _next(graph_ids: list[str], limit: int) -> list[dict]:
    """The graph's most frequent next songs after any track of this work (valid nodes only)."""
    if not graph_ids or connection.vendor != "postgresql":
        return []
    from graph import queries

    merged: dict[int, dict] = {}
    for graph_id in graph_ids:
        found = queries.next_tracks(int(graph_id), limit=limit) or {"next": []}
        for item in found["next"]:
            track_id = item["track"]["id"]
            if track_id not in merged or merged[track_id]["setlists"] < item["setlists"]:
                merged[track_id] = item
    ranked = sorted(merged.values(), key=lambda i: (-i["setlists"], -i["occurrences"]))[:limit]
    for item in ranked:
        work = work_for(Kind.GRAPH, item["track"]["id"])
        item["work_id"] = work.pk if work else None
    return ranked
