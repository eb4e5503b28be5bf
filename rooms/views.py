"""Room pages and the helpers the room operations (rooms.api) share: who the caller is in a
room (a user, or a guest by session or guest cookie), summaries, the display page."""

from urllib.parse import urlsplit

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from songhub.http import json_error

from . import guests, services
from .models import Room


def _origin(url: str) -> str:
    """`https://host[:port]` of a URL, for the display page's CSP ('' for an empty URL)."""
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


SESSION_KEY = "room_participants"  # guests: {room_id: participant_id} in their session


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


def room_summary(room: Room, member: bool = False) -> dict:
    """A password-protected room shows what it plays (song, pages) to its members only."""
    return {"id": room.pk, "name": room.name, "host": room.host.get_username(),
            "has_password": room.has_password, "queue_mode": room.queue_mode,
            "participants": (room.active_count if hasattr(room, "active_count")
                             else room.participants.filter(left_at=None).count()),
            "song": services.song_state(room) if member or not room.has_password else None,
            "created_at": room.created_at.isoformat()}


def room_list_page(request, open_rooms):
    return render(request, "rooms/list.html", {"rooms": open_rooms[:100]})


def room_page(request, room: Room):
    """The room page; a returning guest is recognised by the guest cookie."""
    key = guests.key_for(request)
    known = (None if request.user.is_authenticated else
             room.participants.filter(guest_key=key, user=None).order_by("-joined_at").first())
    response = render(request, "rooms/room.html", {"room": room, "known_guest": known})
    guests.remember(request, response, key)
    return response


@require_GET
def display(request, room_id: int):
    """The full-screen karaoke display (static/js/display.js). `?token=` is the host's display
    token: the page joins as an admitted display; without one the host must allow it."""
    try:
        room = services.get_open_room(room_id)
    except services.RoomError as exc:
        return json_error(exc.code, str(exc), exc.status, exc.details)
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
