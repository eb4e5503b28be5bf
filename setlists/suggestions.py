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


# One round trip: transitions out of any graph track of the seed's work, joined through the
# works links to the chord sheets of the following works. It reads graph_transition and checks
# graph_nodes only for the few tracks involved: the graph_edges view filters the whole node set
# first (~45 ms here), and works.related._next asks per track and per follower — both over the
# 20 ms budget at bench size.
_NEXT_SQL = """
WITH seeds AS (
  SELECT id FROM graph_nodes WHERE id IN (
    SELECT object_id::bigint FROM works_worklink WHERE kind = 'graph' AND work_id = %(work)s)
), cand AS (
  SELECT song.object_id::int AS song_id, e.to_track_id, e.setlists, e.occurrences
  FROM graph_transition e
  JOIN works_worklink follower ON follower.kind = 'graph'
       AND follower.object_id = e.to_track_id::text AND follower.work_id <> %(work)s
  JOIN works_worklink song ON song.kind = 'song' AND song.work_id = follower.work_id
  WHERE e.from_track_id IN (SELECT id FROM seeds) AND e.to_track_id <> e.from_track_id
)
SELECT DISTINCT ON (song_id) song_id, setlists, occurrences FROM cand
WHERE to_track_id IN (SELECT id FROM graph_nodes WHERE id IN (SELECT to_track_id FROM cand))
ORDER BY song_id, setlists DESC, occurrences DESC
"""


def next_songs(song_id: int, transpose: int = 0, limit: int = 8) -> list[dict]:
    """Chord sheets that followed `song_id` in the graph, most setlists first."""
    if connection.vendor != "postgresql":
        return []
    work = WorkLink.objects.filter(kind=Kind.SONG, object_id=str(song_id)).values_list(
        "work_id", flat=True).first()
    if work is None:
        return []
    with connection.cursor() as cursor:
        cursor.execute(_NEXT_SQL, {"work": work})
        ranked = sorted(cursor.fetchall(), key=lambda r: (-r[1], -r[2], r[0]))[:limit]
    songs = Song.objects.in_bulk([r[0] for r in ranked] + [song_id])
    current = songs[song_id].key if song_id in songs else ""
    current = transpose_key(current, transpose) if current and transpose else current
    out = []
    for found_id, n, _ in ranked:
        song = songs.get(found_id)
        if song is None:
            continue
        out.append({"song_id": song.id, "title": song.title, "artist": song.artist,
                    "key": song.key, "key_hint": key_hint(current, song.key), "setlists": n,
                    "reason": f"followed it in {n} setlist{'s' if n != 1 else ''}"})
    return out
