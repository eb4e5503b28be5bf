"""Rooms and karaoke as typed ninja operations (mounted by songhub.api).

Rooms (`/rooms/…`): anyone may call them — guests have no login, only a session (or the guest
cookie) that joined — so the operations are public to ninja and rooms.services decides who may
do what (403). A browser's POST still needs the CSRF token, as every Django form; token clients
are exempt. Bodies are parsed by rooms.events.decode (no NaN/Infinity/1e400) and validated by
the same service rules as the WebSocket commands; their shape is declared for the schema.
`GET /rooms/` and `GET /rooms/{id}` answer the HTML page to a browser (`Accept: text/html`).

Karaoke: the seed's `GET /search` and `POST /get_video_url`, and the same under /api/karaoke/,
for signed-in users and guests who joined a room; rooms.sources does the work."""

from django.db.models import Count, Q
from django.http.multipartparser import MultiPartParserError
from django.urls import reverse
from ninja import Path, Router, Schema
from ninja.errors import HttpError
from ninja.security import APIKeyCookie
from ninja.utils import check_csrf
from pydantic import Field

from songhub.api import Error, TokenAuth, api, json_body
from songhub.http import json_error

from . import events, services, sources, views
from .models import Room
from .views import SESSION_KEY, actor_for, client_key, json_response, room_summary

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


# --- rooms ---------------------------------------------------------------------------------------
@api.exception_handler(services.RoomError)
def _room_error(request, exc: services.RoomError):
    return json_error(exc.code, str(exc), exc.status, exc.details or None)


class BodyError(Exception):
    """A request body that is not a JSON object of finite numbers."""


@api.exception_handler(BodyError)
def _body_error(request, exc: BodyError):
    return json_error("bad_json", str(exc), 400)


def _data(request) -> dict:
    """The POST body as a dict (strict JSON: no NaN, Infinity or 1e400); {} when empty.
    Refuses a browser's request without the CSRF token first."""
    try:
        refused = check_csrf(request)  # may read a form body for its token
    except MultiPartParserError as exc:
        raise BodyError("The request body is not a JSON object.") from exc
    if refused is not None:
        raise HttpError(403, "CSRF check failed: send the X-CSRFToken header.")
    if not request.body:
        return {}
    try:
        data = events.decode(request.body)
    except events.BadJSON as exc:
        raise BodyError(f"The request body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise BodyError("The request body must be a JSON object.")
    return data


RoomID = Path(..., ge=0, le=2**31 - 1)
ROOM_ERRORS = {400: Error, 403: Error, 404: Error, 409: Error, 429: Error}


class SongState(Schema):
    song_id: int | None
    title: str
    artist: str
    total_pages: int
    current_page: int
    image_etag: str
    version: int


class RoomOut(Schema):
    id: int
    name: str
    host: str
    has_password: bool
    queue_mode: str
    participants: int
    song: SongState | None
    created_at: str


class Participant(Schema):
    participant_id: int
    user_id: int | None
    name: str
    role: str
    can_control: bool
    transpose: int
    capo: int


class RoomDetail(RoomOut):
    me: Participant | None = None
    state: dict | None = None  # the snapshot a (re)connecting client starts from (docs/rooms.md)


class RoomList(Schema):
    rooms: list[RoomOut]


class RoomIn(Schema):
    name: str = Field(description="1–120 characters")
    password: str | None = None
    queue_mode: str | None = Field(None, description="fair (default) or fifo")


class PasswordIn(Schema):
    password: str


class Valid(Schema):
    valid: bool


class JoinIn(Schema):
    name: str | None = Field(None, description="a guest's display name")
    role: str | None = Field(None, description="viewer (default), singer or display")
    password: str | None = None


class Left(Schema):
    left: bool
    room_closed: bool


class Closed(Schema):
    closed: bool


class SongIn(Schema):
    song_id: int


class PageIn(Schema):
    page: int


class ControlIn(Schema):
    allowed: bool = True


class DisplayLink(Schema):
    token: str
    url: str


def _room(room_id: int) -> Room:
    return services.get_open_room(room_id)


@router.get("rooms/", response={200: RoomList}, auth=None, tags=["rooms"], url_name="rooms",
            summary="Open rooms (the HTML list for a browser)")
def room_list(request):
    open_rooms = (Room.objects.filter(closed_at=None).select_related("host", "current_song")
                  .annotate(active_count=Count("participants",
                                               filter=Q(participants__left_at=None))))
    if views.wants_html(request):
        return views.room_list_page(request, open_rooms)
    return json_response({"rooms": [room_summary(r) for r in open_rooms[:100]]})


@router.post("rooms/", response={201: RoomOut, 401: Error, **ROOM_ERRORS}, auth=None,
             tags=["rooms"], summary="Create a room (you host it)", openapi_extra=json_body(RoomIn))
def room_create(request):
    data = _data(request)
    if not request.user.is_authenticated:
        return json_error("login_required", "Log in to create a room.", 401)
    room = services.create_room(request.user, data.get("name", ""), data.get("password") or "",
                                data.get("queue_mode") or Room.QueueMode.FAIR)
    return json_response(room_summary(room, member=True), status=201)


@router.get("rooms/{room_id}", response={200: RoomDetail, **ROOM_ERRORS}, auth=None,
            tags=["rooms"], url_name="room-detail",
            summary="A room: its summary, and for members the live state (HTML for a browser)")
def room_detail(request, room_id: int = RoomID):
    room = _room(room_id)
    if views.wants_html(request):
        return views.room_page(request, room)
    try:
        actor = actor_for(request, room)
    except services.Forbidden:
        return json_response(room_summary(room))
    body = room_summary(room, member=True)
    body["me"] = services.participant_json(actor)
    body["state"] = services.snapshot(room)
    return json_response(body)


@router.post("rooms/{room_id}/verify", response={200: Valid, **ROOM_ERRORS}, auth=None,
             tags=["rooms"], url_name="room-verify", openapi_extra=json_body(PasswordIn),
             summary="Check a room password (rate-limited per client and room)")
def verify(request, room_id: int = RoomID):
    data = _data(request)
    room = _room(room_id)
    return json_response({"valid": services.password_ok(room, data.get("password"),
                                                        client_key(request))})


@router.post("rooms/{room_id}/join", response={200: Participant, **ROOM_ERRORS}, auth=None,
             tags=["rooms"], url_name="room-join", openapi_extra=json_body(JoinIn),
             summary="Join a room (a guest needs a name)")
def join(request, room_id: int = RoomID):
    from . import guests

    data = _data(request)
    user = request.user if request.user.is_authenticated else None
    key = guests.key_for(request)
    participant = services.join(room_id, user=user, guest_name=data.get("name", ""),
                                role=data.get("role") or "viewer", password=data.get("password"),
                                guest_key="" if user else key, client_key=client_key(request))
    response = json_response(services.participant_json(participant))
    if user is None:
        memberships = request.session.get(SESSION_KEY, {})
        memberships[str(participant.room_id)] = participant.pk
        request.session[SESSION_KEY] = memberships
        guests.remember(request, response, key)
    return response


@router.post("rooms/{room_id}/leave", response={200: Left, **ROOM_ERRORS}, auth=None,
             tags=["rooms"], url_name="room-leave", summary="Leave (the host leaving closes it)")
def leave(request, room_id: int = RoomID):
    _data(request)
    room = _room(room_id)
    closed = services.leave(actor_for(request, room))
    return json_response({"left": True, "room_closed": closed})


@router.post("rooms/{room_id}/close", response={200: Closed, **ROOM_ERRORS}, auth=None,
             tags=["rooms"], url_name="room-close", summary="Close the room (host)")
def close(request, room_id: int = RoomID):
    _data(request)
    room = _room(room_id)
    services.close_room(room.pk, actor_for(request, room))
    return json_response({"closed": True})


@router.post("rooms/{room_id}/song", response={200: SongState, **ROOM_ERRORS}, auth=None,
             tags=["rooms"], url_name="room-song", openapi_extra=json_body(SongIn),
             summary="Share a song (host or a controller)")
def select_song(request, room_id: int = RoomID):
    data = _data(request)
    room = _room(room_id)
    return json_response(services.select_song(room.pk, actor_for(request, room),
                                              data.get("song_id")))


@router.post("rooms/{room_id}/page", response={200: SongState, **ROOM_ERRORS}, auth=None,
             tags=["rooms"], url_name="room-page", openapi_extra=json_body(PageIn),
             summary="Turn to a page (host or a controller)")
def set_page(request, room_id: int = RoomID):
    data = _data(request)
    room = _room(room_id)
    return json_response(services.set_page(room.pk, actor_for(request, room), data.get("page")))


@router.post("rooms/{room_id}/participants/{participant_id}/control",
             response={200: Participant, **ROOM_ERRORS}, auth=None, tags=["rooms"],
             url_name="room-allow-control", openapi_extra=json_body(ControlIn),
             summary="Let a participant turn pages (host)")
def allow_control(request, room_id: int = RoomID,
                  participant_id: int = Path(..., ge=0, le=2**31 - 1)):
    data = _data(request)
    room = _room(room_id)
    target = services.allow_control(room.pk, actor_for(request, room), participant_id,
                                    data.get("allowed", True) is True)
    return json_response(services.participant_json(target))


@router.post("rooms/{room_id}/display-token", response={201: DisplayLink, **ROOM_ERRORS},
             auth=None, tags=["rooms"], url_name="room-display-token",
             summary="A display link for the TV or projector (host)")
def display_token(request, room_id: int = RoomID):
    _data(request)
    room = _room(room_id)
    token = services.display_token(room.pk, actor_for(request, room))
    url = reverse("room-display", args=[room.pk])  # relative: the host's browser knows where
    return json_response({"token": token, "url": f"{url}?token={token}"}, status=201)
