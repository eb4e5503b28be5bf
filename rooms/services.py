"""Room rules. REST views and the WebSocket consumer both call these functions: the same
checks, the same persistence, the same broadcast (rooms.events) after commit.

Every mutation locks the room row (`select_for_update`) so versions increase one at a time
and events are committed in order. Every event goes out through `emit`, which bumps the
room's event sequence (`Room.version`) under that lock. The karaoke queue and player live in
rooms.karaoke, on the same helpers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from ingestion.models import Song
from ingestion.transposed import page_etag

from songhub.signals import room_song_selected

from . import events
from .models import Connection, Participant, PlayerState, Room

logger = logging.getLogger(__name__)
Role = Participant.Role


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


class RateLimited(RoomError):
    code, status = "rate_limited", 429


def text(value, name: str, limit: int, required: bool = False) -> str:
    """A stripped string of at most `limit` characters; anything else is a clear 400. (NUL is
    refused here: PostgreSQL's text cannot hold it, and the statement would fail.)"""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise Invalid(f"{name} must be text.")
    if "\x00" in value:
        raise Invalid(f"{name} must not contain NUL characters.")
    value = value.strip()
    if len(value) > limit or (required and not value):
        raise Invalid(f"{name} must be 1 to {limit} characters." if required
                      else f"{name} must be at most {limit} characters.")
    return value


def number(value, name: str, low: float, high: float) -> float:
    """A finite number in [low, high] (NaN fails every comparison, so it is refused too)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise Invalid(f"{name} must be a number from {low:g} to {high:g}.")
    return float(value)


# --- reading --------------------------------------------------------------------------------
def get_open_room(room_id) -> Room:
    try:
        room = Room.objects.select_related("current_song", "host").get(pk=int(room_id))
    except (Room.DoesNotExist, TypeError, ValueError, OverflowError):
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
        "image_etag": page_etag(song.image_etag, room.current_page) if song else "",
        "version": room.state_version,
    }


def participant_json(p: Participant) -> dict:
    return {"participant_id": p.pk, "user_id": p.user_id, "name": p.display_name,
            "role": p.role, "can_control": can_control(p) or (p.role == Role.DISPLAY
                                                               and p.can_control),
            "transpose": p.transpose, "capo": p.capo}


def snapshot(room: Room) -> dict:
    """Everything a (re)connecting client needs before any new event. `room` is read first,
    so every event up to `room_version` is reflected here and later ones follow it."""
    from . import karaoke

    return {
        "room_id": room.pk, "name": room.name, "host_id": room.host_id,
        "room_version": room.version,
        "song": song_state(room), "queue": karaoke.queue_state(room),
        "player_state": karaoke.player_state(room),
        "participants": [participant_json(p) for p in
                         room.participants.filter(left_at=None).select_related("user")],
        "client_count": live_connections(room).count(),
    }


def emit(room: Room, name: str, payload: dict, save: tuple[str, ...] = ()) -> int:
    """Broadcast one event after commit, stamped with the room's next version. `room` must be
    locked by the caller (`_locked`). Fields named in `save` go out in the same UPDATE (one
    round trip for a page turn)."""
    room.version += 1
    Room.objects.filter(pk=room.pk).update(version=room.version,
                                           **{name: getattr(room, name) for name in save})
    events.broadcast(room.pk, room.version, name, payload)
    return room.version


ROOM_VERSION = (f"SELECT version FROM {Room._meta.db_table} "
                "WHERE id = %(room)s AND closed_at IS NULL")


def room_version(room_id: int) -> int | None:
    """The room's current event sequence (None once closed): a consumer compares it with the
    last event it forwarded to notice missed broadcasts. (rooms.aio runs the same statement
    on the event loop.)"""
    with connection.cursor() as cursor:
        cursor.execute(ROOM_VERSION, {"room": room_id})
        row = cursor.fetchone()
    return None if row is None else row[0]


# --- passwords ------------------------------------------------------------------------------
def password_ok(room: Room, password, client_key: str) -> bool:
    """The one password check for /verify, REST join and WebSocket join_room: at most
    ROOMS_VERIFY_ATTEMPTS_PER_MINUTE tries per room and client, then RateLimited."""
    if not room.has_password:
        return True
    key = f"rooms:password:{room.pk}:{client_key or '?'}"
    cache.add(key, 0, timeout=60)
    if cache.incr(key) > settings.ROOMS_VERIFY_ATTEMPTS_PER_MINUTE:
        raise RateLimited("Too many password attempts; wait a minute.",
                          {"reason": "rate_limited"})
    return room.check_password(text(password, "password", 128))


# --- membership -----------------------------------------------------------------------------
def create_room(host, name, password="", queue_mode="fair") -> Room:
    name = text(name, "The room name", 120, required=True)
    password = text(password, "password", 128)
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


def join(room_id, user=None, guest_name="", role=Role.VIEWER, password="",
         guest_key: str = "", client_key: str = "", display_token: str = "") -> Participant:
    """Join (or rejoin) a room. A guest browser that was in this room before (same
    `guest_key`, from its signed cookie) gets its old participant back: it appears once and
    needs neither its name nor the password again.

    A display joins unadmitted (it sees the room but may not report player state or advance
    the queue) until the host allows it, unless it holds this room's display token: the
    token stands for the host's approval and for the password."""
    if role not in (Role.CONTROLLER, Role.DISPLAY, Role.VIEWER):
        raise Invalid("role must be controller, display or viewer.")
    if display_token:
        if role != Role.DISPLAY or not display_token_ok(room_id, display_token):
            raise Forbidden("This display token is not valid for this room.")
        participant = _join(room_id, user, guest_name or "Display", role, password,
                            guest_key, client_key, _admitted=True)
        if not participant.can_control and participant.role == Role.DISPLAY:
            Participant.objects.filter(pk=participant.pk).update(can_control=True)
            participant.can_control = True
        return participant
    return _join(room_id, user, guest_name, role, password, guest_key, client_key)


DISPLAY_TOKEN_SALT = "rooms.display-token"


def display_token(room_id, actor: Participant) -> str:
    """A signed, room-bound token the host hands to a TV or projector (as a link): it joins
    as an admitted display without the password or a click on "allow". Valid while the room
    is open and for ROOMS_DISPLAY_TOKEN_MAX_AGE_SECONDS."""
    if actor.role != Role.HOST:
        raise Forbidden("Only the host creates display tokens.")
    return signing.dumps({"room": int(room_id)}, salt=DISPLAY_TOKEN_SALT, compress=True)


def display_token_ok(room_id, token) -> bool:
    if not isinstance(token, str) or len(token) > 200:
        return False
    try:
        data = signing.loads(token, salt=DISPLAY_TOKEN_SALT,
                             max_age=settings.ROOMS_DISPLAY_TOKEN_MAX_AGE_SECONDS)
    except signing.BadSignature:
        return False
    try:
        return isinstance(data, dict) and data.get("room") == int(room_id)
    except (TypeError, ValueError):
        return False


def _join(room_id, user=None, guest_name="", role=Role.VIEWER, password="",
          guest_key: str = "", client_key: str = "", _admitted: bool = False) -> Participant:
    authenticated = user is not None and user.is_authenticated
    if not authenticated:
        guest_name = text(guest_name, "name", 60)
    with transaction.atomic():
        room = _locked(room_id)
        if authenticated:
            existing = room.participants.filter(user=user, left_at=None).first()
            if existing:
                return existing
            if user.pk == room.host_id:
                role = Role.HOST
            elif not _admitted and not password_ok(room, password, client_key):
                raise Forbidden("Wrong room password.")
            participant = Participant.objects.create(room=room, user=user, role=role,
                                                     can_control=role == Role.HOST
                                                     or _admitted)
        else:
            participant = (room.participants.filter(guest_key=guest_key, user=None)
                           .order_by("-joined_at").first() if guest_key else None)
            if participant is None:
                if not _admitted and not password_ok(room, password, client_key):
                    raise Forbidden("Wrong room password.")
                if not guest_name:
                    raise Invalid("Guests need a display name.")
                participant = Participant.objects.create(room=room, guest_name=guest_name,
                                                         role=role, guest_key=guest_key,
                                                         can_control=_admitted)
            else:
                was_active = participant.left_at is None
                participant.left_at, participant.last_seen = None, timezone.now()
                participant.guest_name = guest_name or participant.guest_name
                participant.save(update_fields=["left_at", "last_seen", "guest_name"])
                if was_active:
                    return participant
        emit(room, "participant_joined", events.ParticipantJoined(
            user_id=participant.user_id, participant_id=participant.pk,
            name=participant.display_name, role=participant.role,
            can_control=participant_json(participant)["can_control"]))
    return participant


def leave(participant: Participant) -> bool:
    """Returns True when the room closed (the host left, or nobody is left)."""
    with transaction.atomic():
        return _leave(_locked(participant.room_id), participant)


def _leave(room: Room, participant: Participant) -> bool:
    updated = Participant.objects.filter(pk=participant.pk, left_at=None).update(
        left_at=timezone.now())
    if not updated:
        return False
    emit(room, "participant_left", events.ParticipantLeft(
        user_id=participant.user_id, participant_id=participant.pk))
    if participant.role == Role.HOST or not room.participants.filter(left_at=None).exists():
        _close(room)
        return True
    return False


def close_room(room_id, actor: Participant | None) -> None:
    """Close a room: the host's "close room", or an operator (`actor=None`, the admin)."""
    if actor is not None and actor.role != Role.HOST:
        raise Forbidden("Only the host can close the room.")
    with transaction.atomic():
        _close(_locked(room_id))


def _close(room: Room) -> None:
    now = timezone.now()
    Room.objects.filter(pk=room.pk).update(closed_at=now)
    room.participants.filter(left_at=None).update(left_at=now)
    emit(room, "room_closed", events.RoomClosed(room_id=room.pk))
    logger.info("room %s closed", room.pk)


def allow_control(room_id, actor: Participant, participant_id: int, allowed: bool) -> Participant:
    """The host lets a controller change song, page, queue and playback, or admits a display
    to report player state."""
    if actor.role != Role.HOST:
        raise Forbidden("Only the host decides who may control the room.")
    with transaction.atomic():
        room = _locked(room_id)
        target = room.participants.filter(pk=participant_id, left_at=None).first()
        if target is None:
            raise NotFound("No such participant in this room.")
        if target.role == Role.VIEWER:
            raise Invalid("Only controllers and displays can be allowed.")
        Participant.objects.filter(pk=target.pk).update(can_control=allowed)
        target.can_control = allowed
    return target


def set_personal_key(participant: Participant, transpose, capo=0) -> Participant:
    if isinstance(transpose, bool) or not isinstance(transpose, int) or not -11 <= transpose <= 11:
        raise Invalid("transpose must be a whole number from -11 to 11.")
    if isinstance(capo, bool) or not isinstance(capo, int) or not 0 <= capo <= 11:
        raise Invalid("capo must be a whole number from 0 to 11.")
    Participant.objects.filter(pk=participant.pk).update(transpose=transpose, capo=capo)
    participant.transpose, participant.capo = transpose, capo
    return participant


# --- song and pages -------------------------------------------------------------------------
def _song_id(value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise Invalid("song_id must be a whole number.")
    try:
        song_id = int(value)
    except ValueError:
        raise Invalid("song_id must be a whole number.") from None
    if not 0 < song_id < 2**31:
        raise NotFound(f"No song {value!r}.")
    return song_id


def select_song(room_id, actor: Participant, song_id) -> dict:
    require_control(actor)
    song = Song.objects.filter(pk=_song_id(song_id)).first()
    if song is None:
        raise NotFound(f"No song {song_id!r}.")
    with transaction.atomic():
        room = _locked(room_id)
        room.current_song, room.current_page = song, 1
        room.state_version += 1
        state = song_state(room)
        emit(room, "song_updated", events.SongUpdated(**state),
             save=("current_song", "current_page", "state_version"))
        # in the same transaction: what listens (the graph's room plays) commits with it
        room_song_selected.send(sender="rooms", room_id=room.pk, song_id=song.pk)
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
        state = song_state(room)
        state.pop("title"), state.pop("artist")
        emit(room, "page_updated", events.PageUpdated(**state),
             save=("current_page", "state_version"))
    logger.info("room %s: page %s of song %s by participant %s", room.pk, page, song.pk, actor.pk)
    return state


#: in the FROM list of a room statement that runs as its own transaction: that transaction
#: commits without waiting for its WAL to reach the disk, nor for synchronous standbys
#: (PostgreSQL's asynchronous commit; the setting ends with the transaction, so no pooled
#: session keeps it). A page turn and a pong are live state: a PostgreSQL crash can lose the
#: last ~0.6 s of them (3 x wal_writer_delay at its default), never corrupt anything, and the
#: clients resync (rooms.consumers check_in_sync). The wait was ~0.17 ms of a page turn's
#: 0.4 ms on a local SSD, and is more on network disks (#13). Its parameter, `commit`
#: (commit_mode), is NULL where ROOMS_ASYNC_COMMIT is off: the session's setting then stays.
ASYNC_COMMIT = ("set_config('synchronous_commit', "
                "coalesce(%(commit)s::text, current_setting('synchronous_commit')), true) "
                "AS async_commit")


def commit_mode() -> str | None:
    """ASYNC_COMMIT's parameter."""
    return "off" if settings.ROOMS_ASYNC_COMMIT else None


#: page turns of several rooms in one statement (arrays of room, actor, page; one turn per
#: room). The rooms are locked in id order first, so two processes turning pages of the same
#: rooms at once queue on each other's locks instead of deadlocking.
TURN_PAGES = f"""
WITH turn AS MATERIALIZED (
  SELECT t.room, t.actor, t.page
  FROM unnest(%(rooms)s::bigint[], %(actors)s::bigint[], %(pages)s::integer[])
       AS t(room, actor, page)
  CROSS JOIN {ASYNC_COMMIT}
  JOIN {Room._meta.db_table} locked ON locked.id = t.room
  ORDER BY t.room
  FOR UPDATE OF locked)
UPDATE {Room._meta.db_table} r
SET current_page = t.page, state_version = r.state_version + 1, version = r.version + 1
FROM turn t, {Song._meta.db_table} s
WHERE r.id = t.room AND r.closed_at IS NULL AND s.id = r.current_song_id
  AND t.page BETWEEN 1 AND s.page_count
  AND EXISTS (SELECT 1 FROM {Participant._meta.db_table} p
              WHERE p.id = t.actor AND p.room_id = r.id AND p.left_at IS NULL
                AND (p.role = '{Participant.Role.HOST}'
                     OR (p.role = '{Participant.Role.CONTROLLER}' AND p.can_control)))
RETURNING r.id, r.version, r.state_version, s.id, s.page_count, s.image_etag"""


def turn_pages_params(turns) -> dict:
    """TURN_PAGES' parameters for (room_id, participant_id, page) triples."""
    rooms, actors, pages = zip(*turns)
    return {"rooms": list(rooms), "actors": list(actors), "pages": list(pages),
            "commit": commit_mode()}


def valid_page_number(page) -> bool:
    """An int PostgreSQL's integer column can hold (bool is not a page)."""
    return isinstance(page, int) and not isinstance(page, bool) and -2**31 < page < 2**31


def page_turned(room_id: int, participant_id: int, page: int, row) -> tuple[int, dict]:
    """The room version and `page_updated` state from the room's row TURN_PAGES returned."""
    _, version, state_version, song_id, page_count, image_etag = row
    logger.info("room %s: page %s of song %s by participant %s", room_id, page, song_id,
                participant_id)
    return version, events.PageUpdated(
        song_id=song_id, total_pages=page_count, current_page=page,
        image_etag=page_etag(image_etag, page), version=state_version)


def turn_page(room_id: int, participant_id: int, page) -> dict | None:
    """`set_page` in one round trip for the common case (a live room commands' hottest path:
    the permission, the room and the page range checked by the UPDATE itself, no explicit
    lock or transaction). None when anything is off; the caller then runs `set_page`, which
    says what. The consumer runs the same statement on its event loop, for all the rooms
    whose turns arrive together (rooms.aio). The statement commits asynchronously
    (ASYNC_COMMIT), so it runs only as a transaction of its own."""
    if connection.vendor != "postgresql":  # UPDATE ... FROM ... RETURNING s.* is PostgreSQL's
        return None
    if connection.in_atomic_block or not connection.get_autocommit():  # it would make the
        return None  # caller's whole transaction commit asynchronously
    if not valid_page_number(page):
        return None
    with connection.cursor() as cursor:
        cursor.execute(TURN_PAGES, turn_pages_params([(room_id, participant_id, page)]))
        row = cursor.fetchone()
    if row is None:
        return None
    version, state = page_turned(room_id, participant_id, page, row)
    events.broadcast(room_id, version, "page_updated", state)
    return dict(state)


def member_shows_song(song_id: int, participant_ids=(), guest_key: str = "") -> bool:
    """Is one of these memberships in an open room currently showing `song_id`? (Guests may
    fetch that song's transposed pages.)"""
    if not participant_ids and not guest_key:
        return False
    qs = Participant.objects.filter(left_at=None, room__closed_at=None,
                                    room__current_song_id=song_id)
    by_id = qs.filter(pk__in=[p for p in participant_ids if isinstance(p, int)])
    return by_id.exists() or bool(guest_key and qs.filter(guest_key=guest_key).exists())


# --- connections, leadership, reaping -------------------------------------------------------
@dataclass
class Leadership:
    leader_channel: str | None
    client_count: int


def connect(room_id, participant: Participant, channel_name: str, client_type: str) -> Leadership:
    with transaction.atomic():
        room = _locked(room_id)
        now = timezone.now()
        Connection.objects.update_or_create(channel_name=channel_name, defaults={
            "room": room, "client_type": client_type, "participant": participant,
            "is_host": participant.role == Role.HOST, "last_seen": now})
        Participant.objects.filter(pk=participant.pk).update(last_seen=now)
        return _leadership_changed(room)


def disconnect(channel_name: str) -> Leadership | None:
    """A socket closed. A guest with no other open socket leaves the room (a reload rejoins
    the same participant through its cookie)."""
    with transaction.atomic():
        connection = Connection.objects.select_related("participant").filter(
            channel_name=channel_name).first()
        if connection is None:
            return None
        room = Room.objects.select_for_update().get(pk=connection.room_id)
        connection.delete()
        participant = connection.participant
        if participant is not None:
            Participant.objects.filter(pk=participant.pk).update(last_seen=timezone.now())
            if (room.is_open and participant.user_id is None and participant.left_at is None
                    and not Connection.objects.filter(participant=participant).exists()):
                if _leave(room, participant):
                    return None
        return _leadership_changed(room) if room.is_open else None


TOUCH = (f"UPDATE {Connection._meta.db_table} SET last_seen = %(now)s "
         "WHERE channel_name = %(channel)s")
#: the pong on the event loop (rooms.aio: PostgreSQL, autocommit)
TOUCH_ASYNC_COMMIT = (f"UPDATE {Connection._meta.db_table} SET last_seen = %(now)s "
                      f"FROM {ASYNC_COMMIT} WHERE channel_name = %(channel)s")


def touch_params(channel_name: str) -> dict:
    return {"channel": channel_name, "now": timezone.now(), "commit": commit_mode()}


def touch(channel_name: str) -> None:
    """A pong: the connection is alive (stale ones lose leadership and stop counting).
    (rooms.aio runs the same statement on the event loop.)"""
    with connection.cursor() as cursor:
        cursor.execute(TOUCH, touch_params(channel_name))


def reap_stale(now=None) -> int:
    """Remove what a crashed replica or a lost socket left behind: connections silent for
    longer than ROOMS_CLIENT_TIMEOUT_SECONDS, then non-host participants with no connection
    who were last seen before that. Returns how many participants left. Run by beat."""
    cutoff = (now or timezone.now()) - timedelta(seconds=settings.ROOMS_CLIENT_TIMEOUT_SECONDS)
    Connection.objects.filter(last_seen__lt=cutoff).delete()
    stale = (Participant.objects.filter(left_at=None, room__closed_at=None, last_seen__lt=cutoff)
             .exclude(role=Role.HOST)
             .exclude(Exists(Connection.objects.filter(participant=OuterRef("pk"))))
             .values_list("pk", "room_id"))
    reaped = 0
    for participant_id, room_id in stale:
        with transaction.atomic():
            try:
                room = _locked(room_id)
            except Closed:
                continue
            participant = Participant.objects.get(pk=participant_id)
            if participant.left_at is None and not Connection.objects.filter(
                    participant=participant).exists():
                _leave(room, participant)
                reaped += 1
    if reaped:
        logger.info("reaped %s participants without a live connection", reaped)
    return reaped


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
    except (Room.DoesNotExist, TypeError, ValueError, OverflowError):
        raise NotFound(f"No room {room_id!r}.") from None
    if not room.is_open:
        raise Closed("This room is closed.")
    return room

