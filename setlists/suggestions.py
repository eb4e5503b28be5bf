""""What next": songs that followed the current one in the transition graph (DJ sets, band
setlists, rooms), kept only when the library has them as chord sheets, with a key hint."""

from __future__ import annotations

from django.db import connection

from graph.identity import camelot, camelot_compatible
from ingestion.models import Song
from ingestion.transpose import transpose_key
from works.models import Kind, WorkLink


def key_hint(current: str, candidate: str) -> str:
    a, b = camelot(current), camelot(candidate)
    if not a or not b:
        return ""
    if a == b:
        return "same key"
    if a[:-1] == b[:-1]:
        return "relative major/minor"
    return "Camelot-compatible" if camelot_compatible(a, b) else ""


# A few small indexed reads instead of one clever query: the graph_edges view filters the whole
# node set first (~45 ms at bench size) and the planner joins the works links by hash scans;
# works.related._next asks per track and per follower. Here: the seed's graph tracks, their
# transitions (index on from_track_id), the followers' works and chord sheets, then the node rule
# for just those tracks.
_TRANSITIONS = """
SELECT to_track_id, setlists, occurrences FROM graph_transition
WHERE from_track_id = ANY(%s) AND to_track_id <> from_track_id
ORDER BY setlists DESC, occurrences DESC LIMIT 300
"""


def _valid_nodes(ids: list[int]) -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM graph_nodes WHERE id = ANY(%s)", [ids])
        return {row[0] for row in cursor.fetchall()}


def next_songs(song_id: int, transpose: int = 0, limit: int = 8) -> list[dict]:
    """Chord sheets that followed `song_id` in the graph, most setlists first."""
    if connection.vendor != "postgresql":
        return []
    work = WorkLink.objects.filter(kind=Kind.SONG, object_id=str(song_id)).values_list(
        "work_id", flat=True).first()
    if work is None:
        return []
    seeds = [int(i) for i in WorkLink.objects.filter(kind=Kind.GRAPH, work_id=work)
             .values_list("object_id", flat=True)]
    if not seeds:
        return []
    with connection.cursor() as cursor:
        cursor.execute(_TRANSITIONS, [seeds])
        edges = cursor.fetchall()
    follower_work = dict(WorkLink.objects.filter(
        kind=Kind.GRAPH, object_id__in=[str(e[0]) for e in edges]).exclude(work_id=work)
        .values_list("object_id", "work_id"))
    sheet_of = dict(WorkLink.objects.filter(kind=Kind.SONG, work_id__in=set(follower_work.values()))
                    .values_list("work_id", "object_id"))
    edges = [e for e in edges if sheet_of.get(follower_work.get(str(e[0])))]
    valid = _valid_nodes(seeds + [e[0] for e in edges])
    best: dict[int, tuple[int, int]] = {}  # song id -> (setlists, occurrences), edges are ranked
    if set(seeds) & valid:
        for track, n, occurrences in edges:
            sheet = int(sheet_of[follower_work[str(track)]])
            if track in valid and sheet not in best:
                best[sheet] = (n, occurrences)
    ranked = sorted(best.items(), key=lambda kv: (-kv[1][0], -kv[1][1], kv[0]))[:limit]
    songs = Song.objects.in_bulk([sid for sid, _ in ranked] + [song_id])
    current = songs[song_id].key if song_id in songs else ""
    current = transpose_key(current, transpose) if current and transpose else current
    out = []
    for found_id, (n, _) in ranked:
        song = songs.get(found_id)
        if song is None:
            continue
        out.append({"song_id": song.id, "title": song.title, "artist": song.artist,
                    "key": song.key, "key_hint": key_hint(current, song.key), "setlists": n,
                    "reason": f"followed it in {n} setlist{'s' if n != 1 else ''}"})
    return out
