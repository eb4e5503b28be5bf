"""The graph's JSON API (`/api/graph...`): parse, call graph.queries / services, shape.

Reads are public like the song library; enrichment and target searches are staff-only
(session or `Authorization: Token`). Errors are `{"error": {"code", "message"}}`.
"""

from __future__ import annotations

import json
from functools import wraps

from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from songhub.http import json_error

from . import enrich, queries, targets
from .models import Setlist, TargetTrackSearch


class BadParameter(ValueError):
    pass


def _int(request, name, default, low, high):
    raw = request.GET.get(name, "")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadParameter(f"{name} must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise BadParameter(f"{name} must be between {low} and {high}, got {value}")
    return value


def graph_api(view):
    """PostgreSQL check and the one error shape for every graph endpoint."""
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if connection.vendor != "postgresql":
            return json_error("unavailable", "The transition graph needs PostgreSQL.", 503)
        try:
            return view(request, *args, **kwargs)
        except BadParameter as exc:
            return json_error("bad_parameter", str(exc), 400)
    return wrapper


def staff_only(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return json_error("not_authenticated", "Sign in or send an API token.", 401)
        if not request.user.is_staff:
            return json_error("forbidden", "Only staff may do this.", 403)
        return view(request, *args, **kwargs)
    return wrapper


def _body(request) -> dict:
    try:
        data = json.loads(request.body or b"{}")
    except ValueError:
        raise BadParameter("the body must be JSON") from None
    if not isinstance(data, dict):
        raise BadParameter("the body must be a JSON object")
    return data


@require_GET
@graph_api
def graph(request):
    seed = _int(request, "seed", None, 1, 2**62)
    params = queries.GraphParams(seed=seed, depth=_int(request, "depth", 1, 1, 3),
                                 min_count=_int(request, "min_count", 1, 1, 1_000_000),
                                 limit=_int(request, "limit", 200, 1, 5000))
    if seed is not None and not queries.nodes([seed]):
        return json_error("not_found", f"No graph track {seed}.", 404)
    return JsonResponse(queries.graph(params))


@require_GET
@graph_api
def next_tracks(request, track_id: int):
    result = queries.next_tracks(track_id, _int(request, "limit", 20, 1, 200))
    if result is None:
        return json_error("not_found", f"No graph track {track_id}.", 404)
    return JsonResponse(result)


@require_GET
@graph_api
def search(request):
    q = request.GET.get("q", "").strip()
    if not q:
        raise BadParameter("q is required")
    return JsonResponse({"items": queries.search(q, _int(request, "limit", 20, 1, 100))})


@require_GET
@graph_api
def setlists(request):
    return JsonResponse(queries.setlists(_int(request, "track", None, 1, 2**62),
                                         _int(request, "offset", 0, 0, 10**9),
                                         _int(request, "limit", 50, 1, 500)))


@require_GET
@graph_api
def setlist(request, setlist_id: int):
    found = Setlist.objects.filter(pk=setlist_id).first()
    if found is None:
        return json_error("not_found", f"No setlist {setlist_id}.", 404)
    return JsonResponse(queries.setlist_detail(found))


@require_GET
@graph_api
def stats(request):
    return JsonResponse({**queries.stats(), "enrichment": enrich.statistics()})


@csrf_exempt  # staff-only; session callers are checked below, token callers carry no cookies
@require_http_methods(["POST"])
@graph_api
@staff_only
def enrich_view(request):
    data = _body(request)
    try:
        track_id = int(data.get("track_id"))
    except (TypeError, ValueError):
        raise BadParameter("track_id must be an integer") from None
    artist, title = data.get("artist_name"), data.get("track_title")
    if not isinstance(artist, str) or not isinstance(title, str) or not title.strip():
        raise BadParameter("artist_name and track_title must be strings")
    return JsonResponse(enrich.enrich(track_id, artist, title, data.get("existing_spotify_id"),
                                      data.get("existing_isrc")))


@csrf_exempt
@require_http_methods(["GET", "POST"])
@graph_api
@staff_only
def target_list(request):
    if request.method == "GET":
        return JsonResponse({"items": [targets.as_dict(t) for t in TargetTrackSearch.objects.all()]})
    try:
        target = targets.create(_body(request))
    except targets.InvalidTarget as exc:
        return json_error("invalid", str(exc), 400)
    return JsonResponse(targets.as_dict(target), status=201)


@csrf_exempt
@require_http_methods(["GET", "PATCH", "DELETE"])
@graph_api
@staff_only
def target_detail(request, target_id: int):
    target = TargetTrackSearch.objects.filter(pk=target_id).first()
    if target is None:
        return json_error("not_found", f"No target search {target_id}.", 404)
    if request.method == "DELETE":
        target.delete()
        return HttpResponse(status=204)
    if request.method == "PATCH":
        try:
            target = targets.update(target, _body(request))
        except targets.InvalidTarget as exc:
            return json_error("invalid", str(exc), 400)
    return JsonResponse(targets.as_dict(target))
