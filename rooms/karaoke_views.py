"""Karaoke search and video URLs (the seed's `GET /search` and `POST /get_video_url`, also under
/api/karaoke/). Signed-in users and guests who joined a room may search; rooms.sources does it."""

import json

from django.http import JsonResponse
from django.views.decorators.http import require_GET, require_POST

from songhub.http import json_error

from . import sources
from .views import SESSION_KEY

MAX_QUERY = 200


def _may_search(request) -> bool:
    return request.user.is_authenticated or bool(request.session.get(SESSION_KEY))


@require_GET
def search(request):
    if not _may_search(request):
        return json_error("login_required", "Log in or join a room to search for songs.", 401)
    query = (request.GET.get("query") or request.GET.get("q") or "").strip()
    if not query or len(query) > MAX_QUERY or "\x00" in query:
        return json_error("bad_query", f"query must be 1–{MAX_QUERY} characters.", 400)
    return JsonResponse(sources.search(query).as_dict())


@require_POST
def get_video_url(request):
    if not _may_search(request):
        return json_error("login_required", "Log in or join a room to play songs.", 401)
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return json_error("bad_json", "The request body is not valid JSON.", 400)
    source = body.get("source") if isinstance(body, dict) else None
    entry_id = body.get("id") if isinstance(body, dict) else None
    if not isinstance(source, str) or not isinstance(entry_id, str) or not entry_id \
            or len(entry_id) > 200:
        return json_error("bad_request", 'Send {"source": "...", "id": "..."}.', 400)
    try:
        url = sources.get_video_url(source, entry_id)
    except sources.ProviderUnavailable as exc:
        return json_error("source_unavailable", str(exc), 503)
    except sources.ProviderError as exc:
        return json_error("bad_source", str(exc), 400)
    if url is None:
        return json_error("not_found", "That entry has no playable video.", 404)
    return JsonResponse({"source": source, "id": entry_id, "video_url": url})
