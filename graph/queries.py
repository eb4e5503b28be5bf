"""Read side of the graph: every query reads the gold views (`graph_nodes`, `graph_edges`,
`graph_node_artists`), which cannot return a node without valid artist attribution, and then
filters again with identity.is_valid_artist (defence in depth: the API layer of the rule).
No parameter of any function here shows an invalid node.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.db.models import Count, Q

from .identity import ROLE_PRIMARY, camelot_compatible, is_identified_title, is_valid_artist, normalise
from .models import Entry, Setlist

EDGE_COLUMNS = "from_track_id, to_track_id, occurrences, setlists, djs"


@dataclass(frozen=True)
class GraphParams:
    seed: int | None = None
    depth: int = 1
    min_count: int = 1
    limit: int = 200


def _rows(sql: str, params) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# One row per (node, valid artist), primary artists first: a plain join, cheaper than
# aggregating each node's artists in a subquery (bench/graph.py).
NODES = """
SELECT n.id, n.title, n.camelot, n.bpm, n.spotify_id, n.degree, a.name, a.role
FROM graph_nodes n LEFT JOIN graph_node_artists a ON a.track_id = n.id
WHERE n.id = ANY(%s)
ORDER BY n.id, a.role <> 'primary', a.position"""


def nodes(ids: list[int]) -> dict[int, dict]:
    """Node dicts for these ids, only for valid nodes: {id, title, artists, camelot, bpm,
    degree (stored by graph.etl)}, in one round trip. A node whose primary artists do not all
    pass the rule is dropped here too."""
    if not ids:
        return {}
    built: dict[int, dict] = {}
    for track_id, title, camelot, bpm, spotify_id, degree, name, role in _rows(NODES, [ids]):
        node = built.get(track_id)
        if node is None:
            node = built[track_id] = {"id": track_id, "title": title, "artists": [],
                                      "camelot": camelot, "bpm": bpm, "spotify_id": spotify_id,
                                      "degree": degree}
        if name is not None:
            node["artists"].append({"name": name, "role": role})
    return {track_id: node for track_id, node in built.items() if valid_node(node)}


def valid_node(node: dict) -> bool:
    """The API's own check of the artist rule on a node about to be returned."""
    primaries = [a["name"] for a in node["artists"] if a["role"] == ROLE_PRIMARY]
    return bool(primaries) and all(map(is_valid_artist, primaries)) \
        and is_identified_title(node["title"])


def _edge(row) -> dict:
    return {"from": row[0], "to": row[1], "occurrences": row[2], "setlists": row[3], "djs": row[4]}


# Each frontier track's strongest edges out and in, read in order from the strength indexes
# (graph_transition_from_top / _to_top) through the graph_edges view, `k` per direction.
NEIGHBOURS = f"""
SELECT e.* FROM unnest(%(frontier)s::bigint[]) AS f(id) CROSS JOIN LATERAL (
    (SELECT {EDGE_COLUMNS} FROM graph_edges WHERE from_track_id = f.id AND setlists >= %(min)s
     ORDER BY setlists DESC, occurrences DESC LIMIT %(k)s)
    UNION ALL
    (SELECT {EDGE_COLUMNS} FROM graph_edges WHERE to_track_id = f.id AND setlists >= %(min)s
     ORDER BY setlists DESC, occurrences DESC LIMIT %(k)s)) e
ORDER BY e.setlists DESC, e.occurrences DESC, e.from_track_id, e.to_track_id"""


def graph(params: GraphParams) -> dict | None:
    """A neighbourhood of `seed` up to `depth` hops (both directions), or the strongest edges
    when there is no seed; at most `limit` nodes, edges with at least `min_count` setlists.
    None when `seed` is not a valid node (found with the rest: no extra round trip).
    Each hop reads every frontier track's strongest edges, between them twice as many as
    there is room for new nodes: a hub cannot crowd its neighbours out, and no query reads
    thousands of edges only to drop the nodes beyond `limit`."""
    edges: dict[tuple[int, int], dict] = {}
    if params.seed is None:
        for row in _rows(f"SELECT {EDGE_COLUMNS} FROM graph_edges WHERE setlists >= %s "
                         "ORDER BY setlists DESC, occurrences DESC LIMIT %s",
                         [params.min_count, params.limit]):
            edges[(row[0], row[1])] = _edge(row)
        ids = list(dict.fromkeys(i for pair in edges for i in pair))[:params.limit]
    else:
        ids, seen, frontier = [params.seed], {params.seed}, [params.seed]
        for _ in range(params.depth):
            if not frontier or len(ids) >= params.limit:
                break
            k = -(-2 * (params.limit - len(ids)) // len(frontier))  # twice the room left
            rows = _rows(NEIGHBOURS, {"frontier": frontier, "min": params.min_count, "k": k})
            frontier = []
            for row in rows:
                for track_id in row[:2]:
                    if track_id not in seen and len(ids) < params.limit:
                        seen.add(track_id)
                        ids.append(track_id)
                        frontier.append(track_id)
                if row[0] in seen and row[1] in seen:
                    edges[(row[0], row[1])] = _edge(row)
    found = nodes(ids)
    if params.seed is not None and params.seed not in found:
        return None
    return {"nodes": [found[i] for i in ids if i in found],
            "edges": [e for (a, b), e in edges.items() if a in found and b in found]}


def next_tracks(track_id: int, limit: int = 20) -> dict | None:
    """"DJs who play X also play Y": what follows X, by distinct setlists then occurrences,
    with a harmonic-mixing flag. None when X is not a valid node."""
    seed = nodes([track_id]).get(track_id)
    if seed is None:
        return None
    rows = _rows(f"SELECT {EDGE_COLUMNS} FROM graph_edges WHERE from_track_id = %s "
                 "ORDER BY setlists DESC, occurrences DESC, to_track_id LIMIT %s",
                 [track_id, limit])
    found = nodes([r[1] for r in rows])
    items = []
    for row in rows:
        node = found.get(row[1])
        if node is not None:
            items.append({"track": node, "occurrences": row[2], "setlists": row[3], "djs": row[4],
                          "camelot_compatible": camelot_compatible(seed["camelot"], node["camelot"])})
    return {"track": seed, "next": items}


def search(q: str, limit: int = 20) -> list[dict]:
    """Tracks whose "artist title" contains every word of `q` (pg_trgm index), best first."""
    words = normalise(q).split()[:8]
    if not words:
        return []
    expr = "(t.artist_key || ' ' || t.title_key)"
    where = " AND ".join(f"{expr} ILIKE %s" for _ in words)
    like = ["%" + w.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            for w in words]
    rows = _rows(f"SELECT t.id FROM graph_track t WHERE {where} AND t.id IN "
                 f"(SELECT id FROM graph_nodes) ORDER BY similarity({expr}, %s) DESC, t.id "
                 "LIMIT %s", [*like, " ".join(words), limit])
    found = nodes([r[0] for r in rows])
    return [found[r[0]] for r in rows if r[0] in found]


def setlist_summary(setlist: Setlist) -> dict:
    return {"id": setlist.pk, "source": setlist.source, "title": setlist.title, "dj": setlist.dj,
            "event": setlist.event, "venue": setlist.venue, "url": setlist.url,
            "date": setlist.date.isoformat() if setlist.date else None}


def setlists(track_id: int | None = None, offset: int = 0, limit: int = 50) -> dict:
    query = Setlist.objects.all()
    if track_id is not None:
        query = query.filter(pk__in=Entry.objects.filter(track_id=track_id).values("setlist_id"))
    total = query.count()
    page = query.annotate(n=Count("entries"))[offset:offset + limit]
    return {"total": total, "items": [{**setlist_summary(s), "entries": s.n} for s in page]}


def setlist_detail(setlist: Setlist) -> dict:
    entries = list(Entry.objects.filter(setlist=setlist).order_by("position"))
    valid = set(nodes([e.track_id for e in entries if e.track_id]))
    return {**setlist_summary(setlist), "entries": [
        {"position": e.position, "timestamp": e.timestamp, "raw_line": e.raw_line,
         "artists": [a[0] for a in e.artists if a[1] == ROLE_PRIMARY and is_valid_artist(a[0])],
         "title": e.title, "label": e.label, "catalog": e.catalog,
         "identified": e.identified and e.track_id in valid,
         "track_id": e.track_id if e.track_id in valid else None} for e in entries]}


def stats() -> dict:
    counts = dict(zip(("nodes", "edges", "artists"), _rows(
        "SELECT (SELECT count(*) FROM graph_nodes), (SELECT count(*) FROM graph_edges), "
        "(SELECT count(DISTINCT artist_id) FROM graph_node_artists)", [])[0]))
    entries = Entry.objects.aggregate(total=Count("id"), identified=Count("id", filter=Q(identified=True)))
    return {**counts, "setlists": Setlist.objects.count(), "entries": entries["total"],
            "identified_entries": entries["identified"],
            "sources": dict(Setlist.objects.values_list("source").annotate(n=Count("id")))}
