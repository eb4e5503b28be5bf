"""Room REST API (JSON) and pages. Session auth + CSRF for the browser, token auth for API
clients (songhub.auth). Every mutation goes through rooms.services, which persists first and
broadcasts after commit."""

from functools import wraps
from urllib.parse import urlsplit

from django.conf import settings
from django.db.models import Count, Q
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from songhub.http import json_error

from . import events, guests, services
from .models import Room


def _origin(url: str) -> str:
    """`https://host[:port]` of a URL, for the display page's CSP ('' for an empty URL)."""
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


SESSION_KEY = "room_participants"  # guests: {room_id: participant_id} in their session


def json_api(view):
    """Parse a JSON body into `request.data`; turn RoomErrors into the one error shape."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        request.data = {}
        if request.method == "POST" and request.body:
            try:
                request.data = events.decode(request.body)
            except events.BadJSON as exc:
                return json_error("bad_json", f"The request body is not valid JSON: {exc}", 400)
            if not isinstance(request.data, dict):
                return json_error("bad_json", "The request body must be a JSON object.", 400)
        try:
            return view(request, *args, **kwargs)
        except services.RoomError as exc:
            return json_error(exc.code, str(exc), exc.status, exc.details)

    return wrapper


def json_response(data: dict, status: int = 200) -> JsonResponse:
    """Like JsonResponse, but never emits NaN or Infinity (browsers' JSON.parse rejects them)."""
    return JsonResponse(data, status=status, json_dumps_params={"allow_nan": False})


def client_key(request) -> str:
    return request.META.get("REMOTE_ADDR") or "?"


def wants_html(request) -> bool:
    return request.method == "GET" and "text/html" in request.headers.get("Accept", "")


def actor_for(request, room: Room):
    """The caller's membership: by user, or by the guest's session."""
    if request.user.is_authenticated:
        return services.active_participant(room, user=request.user)
    participant_id = request.session.get(SESSION_KEY, {}).get(str(room.pk))
    if participant_id is None:
        key = guests.read(request.COOKIES)
        participant = key and room.participants.filter(guest_key=key, left_at=None).first()
        if participant:
            return participant
        raise services.Forbidden("You are not in this room; join it first.")
    return services.active_participant(room, participant_id=participant_id)


def is_member(request, room: Room) -> bool:
    try:
        actor_for(request, room)
        return True
    except services.Forbidden:
        return False


def room_summary(room: Room, member: bool = False) -> dict:
    """A password-protected room shows what it plays (song, pages) to its members only."""
    return {"id": room.pk, "name": room.name, "host": room.host.get_username(),
            "has_password": room.has_password, "queue_mode": room.queue_mode,
            "participants": (room.active_count if hasattr(room, "active_count")
                             else room.participants.filter(left_at=None).count()),
            "song": services.song_state(room) if member or not room.has_password else None,
            "created_at": room.created_at.isoformat()}


@require_http_methods(["GET", "POST"])
@json_api
def rooms(request):
    if request.method == "GET":
        open_rooms = (Room.objects.filter(closed_at=None).select_related("host", "current_song")
                      .annotate(active_count=Count("participants",
                                                   filter=Q(participants__left_at=None))))
        if wants_html(request):
            return render(request, "rooms/list.html", {"rooms": open_rooms[:100]})
        return json_response({"rooms": [room_summary(r) for r in open_rooms[:100]]})
    if not request.user.is_authenticated:
        return json_error("login_required", "Log in to create a room.", 401)
    room = services.create_room(request.user, request.data.get("name", ""),
                                request.data.get("password") or "",
                                request.data.get("queue_mode") or Room.QueueMode.FAIR)
    return json_response(room_summary(room, member=True), status=201)


@require_GET
@json_api
def room_detail(request, room_id: int):
    room = services.get_open_room(room_id)
    if wants_html(request):
        key = guests.key_for(request)
        known = (None if request.user.is_authenticated else
                 room.participants.filter(guest_key=key, user=None).order_by("-joined_at").first())
        response = render(request, "rooms/room.html", {"room": room, "known_guest": known})
        guests.remember(request, response, key)
        return response
    try:
        actor = actor_for(request, room)
    except services.Forbidden:
        return json_response(room_summary(room))
    body = room_summary(room, member=True)
    body["me"] = services.participant_json(actor)
    body["state"] = services.snapshot(room)
    return json_response(body)


@require_POST
@json_api
def verify(request, room_id: int):
    """Password check, rate-limited per client and room so passwords cannot be brute-forced."""
    room = services.get_open_room(room_id)
    return json_response({"valid": services.password_ok(room, request.data.get("password"),
                                                        client_key(request))})


@require_POST
@json_api
def join(request, room_id: int):
    user = request.user if request.user.is_authenticated else None
    key = guests.key_for(request)
    participant = services.join(room_id, user=user, guest_name=request.data.get("name", ""),
                                role=request.data.get("role") or "viewer",
                                password=request.data.get("password"),
                                guest_key="" if user else key, client_key=client_key(request))
    response = json_response(services.participant_json(participant))
    if user is None:
        memberships = request.session.get(SESSION_KEY, {})
        memberships[str(participant.room_id)] = participant.pk
        request.session[SESSION_KEY] = memberships
        guests.remember(request, response, key)
    return response


@require_POST
@json_api
def leave(request, room_id: int):
    room = services.get_open_room(room_id)
    closed = services.leave(actor_for(request, room))
    return json_response({"left": True, "room_closed": closed})


@require_POST
@json_api
def close(request, room_id: int):
    room = services.get_open_room(room_id)
    services.close_room(room.pk, actor_for(request, room))
    return json_response({"closed": True})


@require_POST
@json_api
def select_song(request, room_id: int):
    room = services.get_open_room(room_id)
    return json_response(services.select_song(room.pk, actor_for(request, room),
                                             request.data.get("song_id")))


@require_POST
@json_api
def set_page(request, room_id: int):
    room = services.get_open_room(room_id)
    return json_response(services.set_page(room.pk, actor_for(request, room),
                                          request.data.get("page")))


@require_POST
@json_api
def allow_control(request, room_id: int, participant_id: int):
    room = services.get_open_room(room_id)
    target = services.allow_control(room.pk, actor_for(request, room), participant_id,
                                    request.data.get("allowed", True) is True)
    return json_response(services.participant_json(target))


@require_GET
@json_api
def display(request, room_id: int):
    """The full-screen karaoke display (static/js/display.js). `?token=` is the host's display
    token: the page joins as an admitted display; without one the host must allow it."""
    room = services.get_open_room(room_id)
    response = render(request, "rooms/display.html", {
        "room": room, "token": request.GET.get("token", "")[:200],
        "youtube_api": settings.YOUTUBE_IFRAME_API_URL,
        "seconds_per_page": settings.ROOMS_DISPLAY_SECONDS_PER_PAGE})
    guests.remember(request, response, guests.key_for(request))
    # django-csp's per-response update (what @csp_update sets), read from settings per request
    response._csp_update = {"script-src": [o for o in [_origin(settings.YOUTUBE_IFRAME_API_URL)]
                                           if o],
                            "frame-src": [o for o in [_origin(settings.YOUTUBE_EMBED_URL)] if o],
                            "media-src": ["'self'"]}
    return response


@require_POST
@json_api
def display_token(request, room_id: int):
    """The host asks for a display link to open on the TV or projector."""
    room = services.get_open_room(room_id)
    token = services.display_token(room.pk, actor_for(request, room))
    url = reverse("room-display", args=[room.pk])  # relative: the host's browser knows where
    return json_response({"token": token, "url": f"{url}?token={token}"}, status=201)
