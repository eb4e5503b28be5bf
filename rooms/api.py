"""Karaoke search and video URLs as typed ninja operations (mounted by songhub.api): the seed's
`GET /search` and `POST /get_video_url`, and the same under /api/karaoke/. Signed-in users and
guests who joined a room may call them; rooms.sources does the work. (The rooms REST views in
rooms/views.py are not operations yet: docs/api.md.)"""

from ninja import Router, Schema
from ninja.security import APIKeyCookie
from pydantic import Field

from songhub.api import Error, TokenAuth
from songhub.http import json_error

from . import sources
from .views import SESSION_KEY

router = Router(tags=["karaoke"])
MAX_QUERY = 200


class RoomMemberAuth(APIKeyCookie):
    """A logged-in session, or a guest's session that joined a room (CSRF for POST)."""

    param_name = "sessionid"

    def authenticate(self, request, key):
        if request.user.is_authenticated:
            return request.user
        return bool(request.session.get(SESSION_KEY)) or None


MEMBERS = [TokenAuth(), RoomMemberAuth()]


class KaraokeEntry(Schema):
    id: str
    title: str
    artist: str
    source: str
    uploader: str = ""
    duration: float | None = None
    video_url: str | None = None


class KaraokeResults(Schema):
    entries: list[KaraokeEntry]
    errors: list[dict]  # {provider, message}: a slow or failing provider, never a 500


class VideoURLIn(Schema):
    source: str
    id: str = Field(min_length=1, max_length=200)


class VideoURLOut(Schema):
    source: str
    id: str
    video_url: str


def search(request, query: str | None = None, q: str | None = None):
    """Every configured provider, concurrently, each with its timeout (docs/rooms.md)."""
    text = (query or q or "").strip()
    if not text or len(text) > MAX_QUERY or "\x00" in text:
        return json_error("bad_query", f"query must be 1–{MAX_QUERY} characters.", 400)
    return sources.search(text).as_dict()


def get_video_url(request, body: VideoURLIn):
    """The entry's playable URL, resolved lazily (and cached by the provider's TTL)."""
    try:
        url = sources.get_video_url(body.source, body.id)
    except sources.ProviderUnavailable as exc:
        return json_error("source_unavailable", str(exc), 503)
    except sources.ProviderError as exc:
        return json_error("bad_source", str(exc), 400)
    if url is None:
        return json_error("not_found", "That entry has no playable video.", 404)
    return {"source": body.source, "id": body.id, "video_url": url}


SEARCH = {"response": {200: KaraokeResults, 400: Error, 401: Error}, "auth": MEMBERS,
          "summary": "Search every karaoke source"}
VIDEO = {"response": {200: VideoURLOut, 400: Error, 401: Error, 404: Error, 503: Error},
         "auth": MEMBERS, "summary": "Resolve an entry's video URL"}
for prefix, name in (("", "-seed"), ("api/karaoke/", "")):
    router.get(f"{prefix}search", url_name=f"karaoke-search{name}",
               operation_id=f"karaoke_search{name.replace('-', '_')}", **SEARCH)(search)
    router.post(f"{prefix}get_video_url", url_name=f"karaoke-video-url{name}",
                operation_id=f"karaoke_video_url{name.replace('-', '_')}", **VIDEO)(get_video_url)
