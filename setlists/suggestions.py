""""What next": songs that followed the current one in the transition graph (DJ sets, band
setlists, rooms), kept only when the library has them as chord sheets, with a key hint."""

from __future__ import annotations

from graph.identity import camelot, camelot_compatible
from ingestion.models import Song
from ingestion.transpose import transpose_key
from works.models import Kind, WorkLink
from works.related import _next, work_for


def key_hint(current: str, candidate: str) -> str:
    a, b = camelot(current), camelot(candidate)
    if not a or not b:
        return ""
    if a == b:
        return "same key"
    if a[:-1] == b[:-1]:
        return "relative major/minor"
    return "Camelot-compatible" if camelot_compatible(a, b) else ""


def next_songs(song_id: int, transpose: int = 0, limit: int = 8) -> list[dict]:
    work = work_for(Kind.SONG, song_id)
    if work is None:
        return []
    graph_ids = list(work.links.filter(kind=Kind.GRAPH).values_list("object_id", flat=True))
    ranked = [i for i in _next(graph_ids, limit * 3) if i["work_id"] and i["work_id"] != work.pk]
    links = dict(WorkLink.objects.filter(kind=Kind.SONG, work_id__in=[i["work_id"] for i in ranked])
                 .values_list("work_id", "object_id"))
    songs = Song.objects.in_bulk([int(v) for v in links.values()])
    current = Song.objects.filter(pk=song_id).values_list("key", flat=True).first() or ""
    current = transpose_key(current, transpose) if current and transpose else current
    out = []
    for item in ranked:
        song = songs.get(int(links.get(item["work_id"], 0) or 0))
        if song is None:
            continue
        n = item["setlists"]
        out.append({"song_id": song.id, "title": song.title, "artist": song.artist,
                    "key": song.key, "key_hint": key_hint(current, song.key),
                    "setlists": n,
                    "reason": f"followed it in {n} setlist{'s' if n != 1 else ''}"})
        if len(out) >= limit:
            break
    return out
