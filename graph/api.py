"""The graph's JSON operations (`/api/graph...`, ninja router mounted by songhub.api): parse,
call graph.queries / services, shape.

Reads are public like the song library; enrichment and target searches are staff-only
(session with CSRF, or `Authorization: Token`). Errors are `{"error": {"code", "message"}}`.
"""

from __future__ import annotations

from django.db import connection
from django.http import HttpResponse
from ninja import Path, Query, Router, Schema, Status
from pydantic_core import to_json

from songhub.api import LOGGED_IN, DictOut, Error, staff_refusal
from songhub.http import json_error

from . import enrich, queries, targets
from .models import Setlist, TargetTrackSearch

router = Router(tags=["graph"])
ID = Path(..., ge=0, le=2**62)
BIG = 2**62
JSON = "application/json; charset=utf-8"


class Artist(DictOut):
    name: str
    role: str


class Node(DictOut):
    id: int
    title: str
    artists: list[Artist]
    camelot: str | None
    bpm: float | None
    spotify_id: str | None
    degree: int | None


class GraphOut(DictOut):
    nodes: list[Node]
    edges: list[dict]  # {from, to, occurrences, setlists, djs}


class NextItem(DictOut):
    track: Node
    occurrences: int
    setlists: int
    djs: int
    camelot_compatible: bool


class NextOut(DictOut):
    track: Node
    next: list[NextItem]


class Items(DictOut):
    items: list[Node]


class SetlistSummary(Schema):
    id: int
    source: str
    title: str
    dj: str
    event: str
    venue: str
    url: str
    date: str | None
    entries: int


class SetlistPage(Schema):
    total: int
    items: list[SetlistSummary]


class SetlistEntry(Schema):
    position: int
    timestamp: str | int | None
    raw_line: str
    artists: list[str]
    title: str
    label: str
    catalog: str
    identified: bool
    track_id: int | None


class SetlistDetail(SetlistSummary):
    entries: list[SetlistEntry]


class EnrichIn(Schema):
    track_id: int
    artist_name: str
    track_title: str
    existing_spotify_id: str | None = None
    existing_isrc: str | None = None


class TargetIn(Schema):
    target_artist: str | None = None
    target_title: str | None = None
    search_query: str | None = None
    scraper_name: str | None = None
    status: str | None = None


class TargetOut(Schema):
    id: int
    target_artist: str
    target_title: str
    search_query: str
    scraper_name: str
    status: str
    last_run_at: str | None
    setlists_found: int
    setlists_imported: int
    last_error: str


class TargetList(Schema):
    items: list[TargetOut]


UNAVAILABLE = {503: Error}
STAFF = {401: Error, 403: Error, 503: Error}


def _unavailable():
    """The transition graph lives in PostgreSQL views; elsewhere every operation says so."""
    if connection.vendor != "postgresql":
        return json_error("unavailable", "The transition graph needs PostgreSQL.", 503)
    return None


def _refusal(request):
    return _unavailable() or staff_refusal(request)


@router.get("api/graph", response={200: GraphOut, 404: Error, **UNAVAILABLE}, url_name="api-graph",
            summary="A seed's neighbourhood, or the strongest edges")
def graph(request, seed: int | None = Query(None, ge=1, le=BIG),
          depth: int = Query(1, ge=1, le=3), min_count: int = Query(1, ge=1, le=1_000_000),
          limit: int = Query(200, ge=1, le=5000)):
    if refused := _unavailable():
        return refused
    result = queries.graph(queries.GraphParams(seed=seed, depth=depth, min_count=min_count,
                                               limit=limit))
    if result is None:
        return json_error("not_found", f"No graph track {seed}.", 404)
    # Up to thousands of nodes and edges, built in one place (graph.queries) in GraphOut's
    # shape: encoded straight to JSON, not validated again on the way out (10 of ~45 ms at
    # limit 500; tests/test_graph_api.py checks the shape).
    return HttpResponse(to_json(result), content_type=JSON)


@router.get("api/graph/tracks/search", response={200: Items, 400: Error, **UNAVAILABLE},
            url_name="api-graph-search", summary="Tracks whose artist and title hold every word")
def search(request, q: str = "", limit: int = Query(20, ge=1, le=100)):
    if refused := _unavailable():
        return refused
    if not q.strip():
        return json_error("bad_parameter", "q is required", 400)
    return {"items": queries.search(q.strip(), limit)}


@router.get("api/graph/tracks/{int:track_id}/next", response={200: NextOut, 404: Error,
                                                              **UNAVAILABLE},
            url_name="api-graph-next", summary="What DJs play after a track")
def next_tracks(request, track_id: int = ID, limit: int = Query(20, ge=1, le=200)):
    if refused := _unavailable():
        return refused
    result = queries.next_tracks(track_id, limit)
    if result is None:
        return json_error("not_found", f"No graph track {track_id}.", 404)
    return result


@router.get("api/graph/setlists", response={200: SetlistPage, **UNAVAILABLE},
            url_name="api-graph-setlists", summary="Setlists, optionally those playing a track")
def setlists(request, track: int | None = Query(None, ge=1, le=BIG),
             offset: int = Query(0, ge=0, le=10**9), limit: int = Query(50, ge=1, le=500)):
    return _unavailable() or queries.setlists(track, offset, limit)


@router.get("api/graph/setlists/{int:setlist_id}", response={200: SetlistDetail, 404: Error,
                                                              **UNAVAILABLE},
            url_name="api-graph-setlist", summary="One setlist with its entries")
def setlist(request, setlist_id: int = ID):
    if refused := _unavailable():
        return refused
    found = Setlist.objects.filter(pk=setlist_id).first()
    if found is None:
        return json_error("not_found", f"No setlist {setlist_id}.", 404)
    return queries.setlist_detail(found)


@router.get("api/graph/stats", response={200: dict, **UNAVAILABLE}, url_name="api-graph-stats",
            summary="Counts of nodes, edges, setlists; enrichment cache and breakers")
def stats(request):
    return _unavailable() or {**queries.stats(), "enrichment": enrich.statistics()}


@router.post("api/graph/enrich", response={200: dict, **STAFF}, auth=LOGGED_IN,
             url_name="api-graph-enrich", summary="Enrich a track from Spotify/MusicBrainz")
def enrich_view(request, body: EnrichIn):
    """Staff only. The answer follows the enrichment contract (docs/graph.md)."""
    if refused := _refusal(request):
        return refused
    if not body.track_title.strip():
        return json_error("bad_parameter", "track_title must not be blank", 400)
    return enrich.enrich(body.track_id, body.artist_name, body.track_title,
                         body.existing_spotify_id, body.existing_isrc)


@router.get("api/graph/targets", response={200: TargetList, **STAFF}, auth=LOGGED_IN,
            url_name="api-graph-targets", summary="Target track searches (staff)")
def target_list(request):
    if refused := _refusal(request):
        return refused
    return {"items": [targets.as_dict(t) for t in TargetTrackSearch.objects.all()]}


@router.post("api/graph/targets", response={201: TargetOut, 400: Error, **STAFF},
             auth=LOGGED_IN, summary="Create a target track search (staff)")
def target_create(request, body: TargetIn):
    if refused := _refusal(request):
        return refused
    try:
        target = targets.create(body.dict(exclude_unset=True))
    except targets.InvalidTarget as exc:
        return json_error("invalid", str(exc), 400)
    return Status(201, targets.as_dict(target))


def _target(request, target_id: int):
    """(target, None) or (None, the refusal / 404 answer)."""
    if refused := _refusal(request):
        return None, refused
    target = TargetTrackSearch.objects.filter(pk=target_id).first()
    if target is None:
        return None, json_error("not_found", f"No target search {target_id}.", 404)
    return target, None


@router.get("api/graph/targets/{int:target_id}", response={200: TargetOut, 404: Error, **STAFF},
            auth=LOGGED_IN, url_name="api-graph-target", summary="One target search (staff)")
def target_detail(request, target_id: int = ID):
    target, refused = _target(request, target_id)
    return refused or targets.as_dict(target)


@router.patch("api/graph/targets/{int:target_id}", response={200: TargetOut, 400: Error,
                                                              404: Error, **STAFF},
              auth=LOGGED_IN, summary="Change a target search (staff)")
def target_update(request, body: TargetIn, target_id: int = ID):
    target, refused = _target(request, target_id)
    if refused:
        return refused
    try:
        return targets.as_dict(targets.update(target, body.dict(exclude_unset=True)))
    except targets.InvalidTarget as exc:
        return json_error("invalid", str(exc), 400)


@router.delete("api/graph/targets/{int:target_id}", response={204: None, 404: Error, **STAFF},
               auth=LOGGED_IN, summary="Delete a target search (staff)")
def target_delete(request, target_id: int = ID):
    target, refused = _target(request, target_id)
    if refused:
        return refused
    target.delete()
    return HttpResponse(status=204)
