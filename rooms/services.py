"""Room rules. REST views and the WebSocket consumer both call these functions: the same
checks, the same persistence, the same broadcast (rooms.events) after commit.

Every mutation locks the room row (`select_for_update`) so versions increase one at a time
and events are committed in order.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ingestion.models import Song

from . import events
from .models import Connection, Participant, PlayerState, QueueItem, Room, new_entry_id

logger = logging.getLogger(__name__)
Role = Participant.Role
PLAY_STATES = set(PlayerState.PlayState.values)


class RoomError(Exception):
    """A rule said no. `code` maps to HTTP statuses and WebSocket error types."""

    code = "invalid"
    status = 400

    def __init__(self, message: str, details: dict | None = None):
        super().__init__(message)
        self.details = details or {}


class Forbidden(RoomError):
    code, status = "forbidden", 403


class NotFound(RoomError):
    code, status = "not_found", 404


class Invalid(RoomError):
    code, status = "invalid", 400


class Closed(RoomError):
    code, status = "room_closed", 409


class StaleVersion(Invalid):
    code = "stale_version"


# --- reading --------------------------------------------------------------------------------
def get_open_room(room_id) -> Room:
    try:
        room = Room.objects.select_related("current_song", "host").get(pk=int(room_id))
    except (Room.DoesNotExist, TypeError, ValueError):
        raise NotFound(f"No room {room_id!r}.") from None
    if not room.is_open:
        raise Closed("This room is closed.")
    return room


def active_participant(room: Room, user=None, participant_id: int | None = None) -> Participant:
    qs = room.participants.filter(left_at=None)
    participant = (qs.filter(pk=participant_id).first() if participant_id
                   else qs.filter(user=user).first() if user and user.is_authenticated else None)
    if participant is None:
        raise Forbidden("You are not in this room; join it first.")
    return participant


def can_control(participant: Participant) -> bool:
    return participant.role == Role.HOST or (participant.role == Role.CONTROLLER
                                             and participant.can_control)


def require_control(participant: Participant) -> None:
    if not can_control(participant):
        raise Forbidden("Only the host, or a controller the host allowed, may do this.")


def song_state(room: Room) -> dict:
    song = room.current_song
    return {
        "song_id": song.id if song else None,
        "title": song.title if song else "",
        "artist": song.artist if song else "",
        "total_pages": song.page_count if song else 0,
        "current_page": room.current_page if song else 0,
        "image_etag": _page_etag(song, room.current_page),
        "version": room.state_version,
    }


def _page_etag(song: Song | None, page: int) -> str:
    return f"{song.image_etag}-{page}" if song and song.image_etag else ""


def participant_json(p: Participant) -> dict:
    return {"participant_id": p.pk, "user_id": p.user_id, "name": p.display_name,
            "role": p.role, "can_control": can_control(p), "transpose": p.transpose,
            "capo": p.capo}


def ordered_queue(room: Room) -> list[QueueItem]:
    """Pinned ('play next') items first, newest pin first; then fair rotation by singer or
    first-come order."""
    items = list(room.queue.all())
    pinned = sorted((i for i in items if i.pinned_at), key=lambda i: i.pinned_at, reverse=True)
    rest = [i for i in items if not i.pinned_at]
    if room.queue_mode == Room.QueueMode.FAIR:
        by_singer: dict[str, list[QueueItem]] = {}
        for item in rest:  # already in added order
            by_singer.setdefault(item.singer, []).append(item)
        rounds = []
        while any(by_singer.values()):
            for singer in list(by_singer):
                if by_singer[singer]:
                    rounds.append(by_singer[singer].pop(0))
        rest = rounds
    return pinned + rest


def entry_json(item: QueueItem) -> dict:
    return {"id": item.entry_id, "song_id": item.song_id, "title": item.title,
            "artist": item.artist, "duration": item.duration,
            "thumbnail_url": item.thumbnail_url or None, "video_url": item.video_url or None,
            "source": item.source, "uploader": item.uploader}


def queue_state(room: Room) -> dict:
    return {
        "items": [{"id": i.entry_id, "entry": entry_json(i), "singer": i.singer,
                   "added_at": i.added_at.timestamp(), "added_by": i.singer}
                  for i in ordered_queue(room)],
        "mode": room.queue_mode,
        "version": room.queue_version,
        "timestamp": events.now_ts(),
    }


def player_state(room: Room) -> dict:
    player, _ = PlayerState.objects.get_or_create(room=room)
    return {"entry": player.entry, "play_state": player.play_state,
            "current_time": player.current_time, "duration": player.duration,
            "volume": player.volume, "version": player.version,
            "timestamp": player.updated_at.timestamp()}


def snapshot(room: Room) -> dict:
    """Everything a (re)connecting client needs before any new event."""
    return {
        "room_id": room.pk, "name": room.name, "host_id": room.host_id,
        "song": song_state(room), "queue": queue_state(room), "player_state": player_state(room),
        "participants": [participant_json(p) for p in
                         room.participants.filter(left_at=None).select_related("user")],
        "client_count": live_connections(room).count(),
    }


# --- membership -----------------------------------------------------------------------------
def create_room(host, name: str, password: str = "", queue_mode: str = "fair") -> Room:
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise Invalid("A room needs a name of 1 to 120 characters.")
    if queue_mode not in Room.QueueMode.values:
        raise Invalid(f"queue_mode must be one of {', '.join(Room.QueueMode.values)}.")
    with transaction.atomic():
        room = Room(name=name, host=host, queue_mode=queue_mode)
        room.set_password(password)
        room.save()
        Participant.objects.create(room=room, user=host, role=Role.HOST, can_control=True)
        PlayerState.objects.create(room=room)
    logger.info("room %s created by %s", room.pk, host)
    return room


def join(room_id, user=None, guest_name: str = "", role: str = Role.VIEWER,
         password: str = "") -> Participant:
    if role not in (Role.CONTROLLER, Role.DISPLAY, Role.VIEWER):
        raise Invalid("role must be controller, display or viewer.")
    with transaction.atomic():
        room = _locked(room_id)
        if user is not None and user.is_authenticated and user.pk == room.host_id:
            existing = room.participants.filter(user=user, left_at=None).first()
            if existing:
                return existing
            role = Role.HOST
        elif not room.check_password(password):
            raise Forbidden("Wrong room password.")
        if user is not None and user.is_authenticated:
            participant = room.participants.filter(user=user, left_at=None).first()
            if participant:
                return participant
            participant = Participant.objects.create(room=room, user=user, role=role,
                                                     can_control=role == Role.HOST)
        else:
            name = (guest_name or "").strip()[:60]
            if not name:
                raise Invalid("Guests need a display name.")
            participant = Participant.objects.create(room=room, guest_name=name, role=role)
        events.broadcast(room.pk, "participant_joined", events.ParticipantJoined(
            user_id=participant.user_id, participant_id=participant.pk,
            name=participant.display_name, role=participant.role))
    return participant


def leave(participant: Participant) -> bool:
    """Returns True when the room closed (the host left, or nobody is left)."""
    with transaction.atomic():
        room = _locked(participant.room_id)
        updated = Participant.objects.filter(pk=participant.pk, left_at=None).update(
            left_at=timezone.now())
        if not updated:
            return False
        events.broadcast(room.pk, "participant_left", events.ParticipantLeft(
            user_id=participant.user_id, participant_id=participant.pk))
        if participant.role == Role.HOST or not room.participants.filter(left_at=None).exists():
            _close(room)
            return True
    return False


def close_room(room_id, actor: Participant) -> None:
    if actor.role != Role.HOST:
        raise Forbidden("Only the host can close the room.")
    with transaction.atomic():
        _close(_locked(room_id))


def _close(room: Room) -> None:
    now = timezone.now()
    Room.objects.filter(pk=room.pk).update(closed_at=now)
    room.participants.filter(left_at=None).update(left_at=now)
    events.broadcast(room.pk, "room_closed", events.RoomClosed(room_id=room.pk))
    logger.info("room %s closed", room.pk)


def allow_control(room_id, actor: Participant, participant_id: int, allowed: bool) -> Participant:
    if actor.role != Role.HOST:
        raise Forbidden("Only the host decides who may control the room.")
    with transaction.atomic():
        room = _locked(room_id)
        target = room.participants.filter(pk=participant_id, left_at=None).first()
        if target is None:
            raise NotFound("No such participant in this room.")
        if target.role not in (Role.CONTROLLER, Role.HOST):
            raise Invalid("Only controllers can be allowed to control.")
        Participant.objects.filter(pk=target.pk).update(can_control=allowed)
        target.can_control = allowed
    return target


def set_personal_key(participant: Participant, transpose: int, capo: int = 0) -> Participant:
    if not isinstance(transpose, int) or not -11 <= transpose <= 11:
        raise Invalid("transpose must be a whole number from -11 to 11.")
    if not isinstance(capo, int) or not 0 <= capo <= 11:
        raise Invalid("capo must be a whole number from 0 to 11.")
    Participant.objects.filter(pk=participant.pk).update(transpose=transpose, capo=capo)
    participant.transpose, participant.capo = transpose, capo
    return participant


# --- song and pages -------------------------------------------------------------------------
def select_song(room_id, actor: Participant, song_id) -> dict:
    require_control(actor)
    try:
        song = Song.objects.get(pk=int(song_id))
    except (Song.DoesNotExist, TypeError, ValueError):
        raise NotFound(f"No song {song_id!r}.") from None
    with transaction.atomic():
        room = _locked(room_id)
        room.current_song, room.current_page = song, 1
        room.state_version += 1
        room.save(update_fields=["current_song", "current_page", "state_version"])
        state = song_state(room)
        events.broadcast(room.pk, "song_updated", events.SongUpdated(**state))
    return state


def set_page(room_id, actor: Participant, page) -> dict:
    require_control(actor)
    if not isinstance(page, int) or isinstance(page, bool):
        raise Invalid("page must be a whole number.")
    with transaction.atomic():
        room = _locked(room_id)
        song = room.current_song
        if song is None:
            raise Invalid("Select a song before turning pages.")
        if not 1 <= page <= song.page_count:
            raise Invalid(f"page must be between 1 and {song.page_count}.",
                          {"total_pages": song.page_count})
        room.current_page = page
        room.state_version += 1
        room.save(update_fields=["current_page", "state_version"])
        state = song_state(room)
        state.pop("title"), state.pop("artist")
        events.broadcast(room.pk, "page_updated", events.PageUpdated(**state))
    logger.info("room %s: page %s of song %s by participant %s", room.pk, page, song.pk, actor.pk)
    return state


# --- queue ----------------------------------------------------------------------------------
ENTRY_FIELDS = {"title": 300, "artist": 300, "thumbnail_url": 1000, "video_url": 2000,
                "source": 40, "uploader": 200}


def _check_queue_version(room: Room, payload: dict) -> None:
    version = payload.get("version")
    if version is not None and version != room.queue_version:
        raise StaleVersion(f"The queue changed (version {room.queue_version}, you sent "
                           f"{version}).", {"current": queue_state(room)})


def queue_song(room_id, actor: Participant, entry: dict) -> dict:
    require_control(actor)
    if not isinstance(entry, dict):
        raise Invalid("queue_song needs an entry object.")
    song = None
    if entry.get("song_id") is not None:
        song = Song.objects.filter(pk=entry.get("song_id")).first()
        if song is None:
            raise NotFound(f"No song {entry.get('song_id')!r}.")
    title = entry.get("title") or (song.title if song else "")
    if not isinstance(title, str) or not title.strip():
        raise Invalid("An entry needs a title (or a song_id).")
    fields = {}
    for name, limit in ENTRY_FIELDS.items():
        value = entry.get(name) or ""
        if not isinstance(value, str) or len(value) > limit:
            raise Invalid(f"{name} must be text of at most {limit} characters.")
        fields[name] = value
    duration = entry.get("duration")
    if duration is not None and (not isinstance(duration, (int, float)) or duration < 0):
        raise Invalid("duration must be a number of seconds.")
    singer = str(entry.get("singer") or actor.display_name)[:60]
    with transaction.atomic():
        room = _locked(room_id)
        _check_queue_version(room, entry)
        QueueItem.objects.create(
            room=room, entry_id=str(entry.get("id") or new_entry_id())[:64], song=song,
            duration=duration, singer=singer, added_by=actor.user,
            **{**fields, "title": title.strip()[:300],
               "artist": fields["artist"] or (song.artist if song else ""),
               "source": fields["source"] or "songhub"})
        return _queue_changed(room)


def remove_song(room_id, actor: Participant, entry_id) -> dict:
    require_control(actor)
    with transaction.atomic():
        room = _locked(room_id)
        if not room.queue.filter(entry_id=str(entry_id)).delete()[0]:
            raise NotFound(f"No queue entry {entry_id!r}.")
        return _queue_changed(room)


def queue_next_song(room_id, actor: Participant, entry_id) -> dict:
    require_control(actor)
    with transaction.atomic():
        room = _locked(room_id)
        if not room.queue.filter(entry_id=str(entry_id)).update(pinned_at=timezone.now()):
            raise NotFound(f"No queue entry {entry_id!r}.")
        return _queue_changed(room)


def clear_queue(room_id, actor: Participant) -> dict:
    require_control(actor)
    with transaction.atomic():
        room = _locked(room_id)
        room.queue.all().delete()
        return _queue_changed(room)


def set_queue_mode(room_id, actor: Participant, mode: str) -> dict:
    require_control(actor)
    if mode not in Room.QueueMode.values:
        raise Invalid(f"mode must be one of {', '.join(Room.QueueMode.values)}.")
    with transaction.atomic():
        room = _locked(room_id)
        room.queue_mode = mode
        return _queue_changed(room, extra_fields=["queue_mode"])


def _queue_changed(room: Room, extra_fields=()) -> dict:
    room.queue_version += 1
    room.save(update_fields=["queue_version", *extra_fields])
    state = queue_state(room)
    events.broadcast(room.pk, "queue_update", events.QueueUpdate(**state))
    return state


# --- player ---------------------------------------------------------------------------------
def play_next(room_id, actor: Participant) -> dict:
    require_control(actor)
    with transaction.atomic():
        room = _locked(room_id)
        queue = ordered_queue(room)
        if not queue:
            raise Invalid("The queue is empty.")
        item = queue[0]
        entry = entry_json(item)
        item.delete()
        _queue_changed(room)
        return _update_player(room, entry=entry, play_state="loading", current_time=0.0,
                              duration=float(item.duration or 0))


def control_player(room_id, actor: Participant, **changes) -> dict:
    """play_song / pause_song / set_volume from the host or an allowed controller."""
    require_control(actor)
    if "volume" in changes:
        volume = changes["volume"]
        if not isinstance(volume, (int, float)) or isinstance(volume, bool) or not 0 <= volume <= 1:
            raise Invalid("volume must be a number from 0 to 1.")
    with transaction.atomic():
        return _update_player(_locked(room_id), **changes)


def report_player_state(room_id, actor: Participant, state: dict, controller: bool) -> dict:
    """A display reports what it plays (or a controller sets it); stale versions are refused."""
    if controller:
        require_control(actor)
    elif actor.role not in (Role.DISPLAY, Role.HOST):
        raise Forbidden("Only displays report player state.")
    if not isinstance(state, dict):
        raise Invalid("player state must be an object.")
    changes = {}
    if "play_state" in state:
        if state["play_state"] not in PLAY_STATES:
            raise Invalid(f"play_state must be one of {', '.join(sorted(PLAY_STATES))}.")
        changes["play_state"] = state["play_state"]
    for name in ("current_time", "duration", "volume"):
        if name in state:
            value = state[name]
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                raise Invalid(f"{name} must be a non-negative number.")
            changes[name] = float(value)
    if "volume" in changes and changes["volume"] > 1:
        raise Invalid("volume must be a number from 0 to 1.")
    if "entry" in state:
        if state["entry"] is not None and not isinstance(state["entry"], dict):
            raise Invalid("entry must be an object or null.")
        changes["entry"] = state["entry"]
    with transaction.atomic():
        room = _locked(room_id)
        player = PlayerState.objects.select_for_update().get(room=room)
        version = state.get("version")
        if version is None or version != player.version:
            raise StaleVersion(f"Player state is at version {player.version}; you sent "
                               f"{version}.", {"current": player_state(room)})
        return _update_player(room, **changes)


def _update_player(room: Room, **changes) -> dict:
    player = PlayerState.objects.select_for_update().get(room=room)
    for name, value in changes.items():
        setattr(player, name, value)
    player.version += 1
    player.updated_at = timezone.now()
    player.save()
    state = player_state(room)
    events.broadcast(room.pk, "player_state", events.PlayerStateEvent(**state))
    return state


# --- connections and leadership -------------------------------------------------------------
@dataclass
class Leadership:
    leader_channel: str | None
    client_count: int


def connect(room_id, participant: Participant, channel_name: str, client_type: str) -> Leadership:
    with transaction.atomic():
        room = _locked(room_id)
        Connection.objects.update_or_create(channel_name=channel_name, defaults={
            "room": room, "client_type": client_type, "participant": participant,
            "is_host": participant.role == Role.HOST, "last_seen": timezone.now()})
        return _leadership_changed(room)


def disconnect(channel_name: str) -> Leadership | None:
    with transaction.atomic():
        connection = Connection.objects.filter(channel_name=channel_name).first()
        if connection is None:
            return None
        room = Room.objects.select_for_update().get(pk=connection.room_id)
        connection.delete()
        return _leadership_changed(room)


def touch(channel_name: str) -> None:
    """A pong: the connection is alive (stale ones lose leadership and stop counting)."""
    Connection.objects.filter(channel_name=channel_name).update(last_seen=timezone.now())


def live_connections(room: Room):
    cutoff = timezone.now() - timedelta(seconds=settings.ROOMS_CLIENT_TIMEOUT_SECONDS * 2)
    return room.connections.filter(last_seen__gte=cutoff)


def leader_channel(room: Room) -> str | None:
    """The host's connection if present, else the longest-connected controller."""
    controllers = live_connections(room).filter(client_type="controller")
    leader = controllers.filter(is_host=True).first() or controllers.first()
    return leader.channel_name if leader else None


def _leadership_changed(room: Room) -> Leadership:
    state = Leadership(leader_channel(room), live_connections(room).count())
    events.notify_consumers(room.pk, "room_presence", leader=state.leader_channel,
                            client_count=state.client_count)
    return state


def _locked(room_id) -> Room:
    try:
        room = Room.objects.select_for_update(of=("self",)).select_related(
            "current_song").get(pk=int(room_id))
    except (Room.DoesNotExist, TypeError, ValueError):
        raise NotFound(f"No room {room_id!r}.") from None
    if not room.is_open:
        raise Closed("This room is closed.")
    return room
