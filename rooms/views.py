"""Room REST API (JSON) and pages. Session auth + CSRF for the browser, token auth for API
clients (songhub.auth). Every mutation goes through rooms.services, which persists first and
broadcasts after commit."""

import json
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Q
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from songhub.http import json_error

from . import services
from .models import Room

SESSION_KEY = "room_participants"  # guests: {room_id: participant_id} in their session


def json_api(view):
    """Parse a JSON body into `request.data`; turn RoomErrors into the one error shape."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        request.data = {}
        if request.method == "POST" and request.body:
            try:
                request.data = json.loads(request.body)
            except ValueError:
                return json_error("bad_json", "The request body is not valid JSON.", 400)
            if not isinstance(request.data, dict):
                return json_error("bad_json", "The request body must be a JSON object.", 400)
        try:
            return view(request, *args, **kwargs)
        except services.RoomError as exc:
            return json_error(exc.code, str(exc), exc.status, exc.details)

    return wrapper


def wants_html(request) -> bool:
    return request.method == "GET" and "text/html" in request.headers.get("Accept", "")


def actor_for(request, room: Room):
    """The caller's membership: by user, or by the guest's session."""
    if request.user.is_authenticated:
        return services.active_participant(room, user=request.user)
    participant_id = request.session.get(SESSION_KEY, {}).get(str(room.pk))
    if participant_id is None:
        raise services.Forbidden("You are not in this room; join it first.")
    return services.active_participant(room, participant_id=participant_id)


def room_summary(room: Room) -> dict:
    return {"id": room.pk, "name": room.name, "host": room.host.get_username(),
            "has_password": room.has_password, "queue_mode": room.queue_mode,
            "participants": (room.active_count if hasattr(room, "active_count")
                             else room.participants.filter(left_at=None).count()),
            "song": services.song_state(room), "created_at": room.created_at.isoformat()}


@require_http_methods(["GET", "POST"])
@json_api
def rooms(request):
    if request.method == "GET":
        open_rooms = (Room.objects.filter(closed_at=None).select_related("host", "current_song")
                      .annotate(active_count=Count("participants",
                                                   filter=Q(participants__left_at=None))))
        if wants_html(request):
            return render(request, "rooms/list.html", {"rooms": open_rooms[:100]})
        return JsonResponse({"rooms": [room_summary(r) for r in open_rooms[:100]]})
    if not request.user.is_authenticated:
        return json_error("login_required", "Log in to create a room.", 401)
    room = services.create_room(request.user, request.data.get("name", ""),
                                str(request.data.get("password") or ""),
                                request.data.get("queue_mode") or Room.QueueMode.FAIR)
    return JsonResponse(room_summary(room), status=201)


@require_GET
@json_api
def room_detail(request, room_id: int):
    room = services.get_open_room(room_id)
    if wants_html(request):
        return render(request, "rooms/room.html", {"room": room})
    body = room_summary(room)
    try:
        actor = actor_for(request, room)
    except services.Forbidden:
        return JsonResponse(body)
    body["me"] = services.participant_json(actor)
    body["state"] = services.snapshot(room)
    return JsonResponse(body)


@require_POST
@json_api
def verify(request, room_id: int):
    """Password check, rate-limited per client and room so passwords cannot be brute-forced."""
    room = services.get_open_room(room_id)
    key = f"rooms:verify:{room.pk}:{request.META.get('REMOTE_ADDR', '?')}"
    cache.add(key, 0, timeout=60)
    attempts = cache.incr(key)
    if attempts > settings.ROOMS_VERIFY_ATTEMPTS_PER_MINUTE:
        return json_error("rate_limited", "Too many attempts; wait a minute.", 429)
    return JsonResponse({"valid": room.check_password(str(request.data.get("password") or ""))})


@require_POST
@json_api
def join(request, room_id: int):
    user = request.user if request.user.is_authenticated else None
    participant = services.join(room_id, user=user, guest_name=request.data.get("name", ""),
                                role=request.data.get("role") or "viewer",
                                password=str(request.data.get("password") or ""))
    if user is None:
        memberships = request.session.get(SESSION_KEY, {})
        memberships[str(participant.room_id)] = participant.pk
        request.session[SESSION_KEY] = memberships
    return JsonResponse(services.participant_json(participant))


@require_POST
@json_api
def leave(request, room_id: int):
    room = services.get_open_room(room_id)
    closed = services.leave(actor_for(request, room))
    return JsonResponse({"left": True, "room_closed": closed})


@require_POST
@json_api
def select_song(request, room_id: int):
    room = services.get_open_room(room_id)
    return JsonResponse(services.select_song(room.pk, actor_for(request, room),
                                             request.data.get("song_id")))


@require_POST
@json_api
def set_page(request, room_id: int):
    room = services.get_open_room(room_id)
    return JsonResponse(services.set_page(room.pk, actor_for(request, room),
                                          request.data.get("page")))


@require_POST
@json_api
def allow_control(request, room_id: int, participant_id: int):
    room = services.get_open_room(room_id)
    target = services.allow_control(room.pk, actor_for(request, room), participant_id,
                                    bool(request.data.get("allowed", True)))
    return JsonResponse(services.participant_json(target))
