"""The room WebSocket (`/ws`): `[name, payload]` frames both ways.

Flow: connect -> ["handshake", {client_type}] -> ["join_room", {room_id, password?, name?}]
-> commands. Every command is a thin call into rooms.services; events come back through the
channel layer group of the room (rooms.events), which each server process joins once for all
its sockets in the room (rooms.relay). Nothing a client sends can crash the
connection: bad frames get an `error` frame, and an optional `request_id` gets an `ack`.

Consistency: after the snapshot (`room_state`, at `room_version` V) the consumer forwards only
events newer than V. Every version is one event, and the relay hands them out in order
(rooms.relay), so an event that skips a version means one was lost (Redis was down while another
process sent it); if the channel layer lost events, the room's version also moves past what was
forwarded. Either way the consumer notices and sends a fresh snapshot at its next ping.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid

from concurrent.futures import ThreadPoolExecutor

from channels.db import DatabaseSyncToAsync
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from django.conf import settings
from django.db import Error as DatabaseError, connection

from songhub import metrics

from . import aio, events, guests, karaoke, relay, services
from .events import now_ts

logger = logging.getLogger(__name__)

CLIENT_TYPES = ("controller", "display", "viewer")
CONTROLLER_COMMANDS = {"select_song", "set_page", "queue_next_song", "move_song", "clear_queue",
                       "play_next", "play_song", "pause_song", "set_volume", "player_state",
                       "set_queue_mode", "set_guests_can_queue"}
DISPLAY_COMMANDS = {"update_player_state", "video_loaded", "queue_update"}
# the service decides (guests may queue when the host allows; only the host closes)
ANY_MEMBER_COMMANDS = {"set_key", "leave_room", "queue_song", "remove_song", "close_room"}
COMMANDS = {
    "select_song": lambda room, actor, p: services.select_song(room, actor, p.get("song_id")),
    "set_page": lambda room, actor, p: services.set_page(room, actor, p.get("page")),
    "queue_song": lambda room, actor, p: karaoke.queue_song(room, actor, p),
    "remove_song": lambda room, actor, p: karaoke.remove_song(room, actor, p.get("entry_id")),
    "queue_next_song": lambda room, actor, p: karaoke.queue_next_song(room, actor,
                                                                      p.get("entry_id")),
    "move_song": lambda room, actor, p: karaoke.move_song(room, actor, p.get("entry_id"),
                                                          p.get("position")),
    "clear_queue": lambda room, actor, p: karaoke.clear_queue(room, actor),
    "set_queue_mode": lambda room, actor, p: karaoke.set_queue_mode(room, actor, p.get("mode")),
    "set_guests_can_queue": lambda room, actor, p: karaoke.set_guests_can_queue(
        room, actor, p.get("allowed")),
    "play_next": lambda room, actor, p: karaoke.play_next(room, actor),
    "play_song": lambda room, actor, p: karaoke.control_player(room, actor,
                                                               play_state="playing"),
    "pause_song": lambda room, actor, p: karaoke.control_player(room, actor,
                                                                play_state="paused"),
    "set_volume": lambda room, actor, p: karaoke.control_player(room, actor,
                                                                volume=p.get("volume")),
    "player_state": lambda room, actor, p: karaoke.report_player_state(room, actor, p, True),
    "update_player_state": lambda room, actor, p: karaoke.report_player_state(room, actor, p,
                                                                              False),
    "video_loaded": lambda room, actor, p: karaoke.report_player_state(room, actor, p, False),
    "queue_update": lambda room, actor, p: karaoke.song_ended(room, actor, p),  # song ended
    "set_key": lambda room, actor, p: services.participant_json(services.set_personal_key(
        actor, p.get("transpose", 0), p.get("capo", 0))),
    "leave_room": lambda room, actor, p: {"room_closed": services.leave(actor)},
    "close_room": lambda room, actor, p: services.close_room(room, actor) or {"closed": True},
}


_pool: ThreadPoolExecutor | None = None


def room_db(fn):
    """Run `fn` (database work) on the rooms' own thread pool (ROOMS_DB_THREADS threads, each
    with its own connection) instead of Channels' one shared database thread, where every
    command of every room in the process used to queue behind the others (#13). Commands of
    one connection still run one at a time (the consumer awaits each); the room row lock
    orders commands within a room. What `fn` broadcasts is sent from the event loop once it
    returns (rooms.events.collecting)."""
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(settings.ROOMS_DB_THREADS, thread_name_prefix="rooms-db")

    def collected(*args, **kwargs):
        with events.collecting() as messages:
            try:
                return fn(*args, **kwargs), None, messages
            except Exception as exc:  # what committed before the failure is still sent
                if isinstance(exc, DatabaseError) and getattr(connection.connection, "broken",
                                                              False):
                    aio.note_outage()  # the server went away (rooms.aio: outages)
                return None, exc, messages

    in_thread = DatabaseSyncToAsync(collected, thread_sensitive=False, executor=_pool)

    async def run(*args, **kwargs):
        result, error, messages = await in_thread(*args, **kwargs)
        await events.send_collected(messages)
        if error is not None:
            raise error
        return result

    return run


async def on_loop_or_thread(on_loop, in_thread, *args):
    """One statement on the event loop (rooms.aio); in a rooms thread when that path is off or
    the database is away (the thread path then reports the error)."""
    try:
        return await on_loop(*args)
    except aio.Unavailable:
        return await room_db(in_thread)(*args)


class ProtocolError(Exception):
    def __init__(self, error_type: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.error_type, self.details = error_type, details or {}


class TokenBucket:
    """Per-connection rate limit: `rate` messages per second, bursts up to `burst`."""

    def __init__(self, rate: float, burst: int):
        self.rate, self.capacity, self.tokens = rate, burst, float(burst)
        self.stamp = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class RoomConsumer(AsyncWebsocketConsumer):
    async def __call__(self, scope, receive, send):
        """Frames in, one at a time. Nothing is ever sent to one socket through the channel
        layer (a room's messages arrive through rooms.relay), so unlike Channels' consumer a
        socket has no layer channel of its own: no Redis subscription per socket, and no
        second task waited on beside every frame (#13). `channel_name` stays the connection's
        unique name (services.connect, leadership)."""
        self.scope, self.base_send, self.channel_layer = scope, send, None
        self.channel_name = f"ws.{uuid.uuid4().hex}"
        try:
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass

    async def connect(self):
        metrics.WS_CONNECTIONS.inc()
        self.client_type = None
        self.room_id = None
        self.participant = None
        self.is_leader = None
        self.last_heard = time.monotonic()
        # spread pings over the interval so clients that joined together are not pinged together
        self.last_ping = time.monotonic() - random.uniform(0, settings.ROOMS_PING_SECONDS)
        self.bucket = TokenBucket(settings.ROOMS_MESSAGES_PER_SECOND, settings.ROOMS_MESSAGE_BURST)
        self.pending_count = None
        self.count_flush = None
        self.seen_version = 0  # newest room_version this client has (snapshot or event)
        self.subscribed = False
        self.held = None  # room messages waiting for a snapshot being read (send_snapshot)
        self.behind_since = None  # a room version seen in the database but not yet forwarded
        self.outages_seen = aio.outages()  # database failures met before the last snapshot
        self.missed = False  # an event skipped a version: one never reached this socket
        self.answering = False  # a frame's command runs
        self.close_after_answer = False  # the room closed while it ran: its reply goes first
        await self.accept()
        self.pinger = asyncio.create_task(self.ping_forever())

    async def dispatch(self, message):
        """Channels runs close_old_connections() before every message, on its one shared
        thread: a thread hop per frame and per event per client, through which the commands
        and fan-out of every room in the process queued (#13). Nothing here uses that
        thread's connection: room_db's threads close theirs before and after each use."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def disconnect(self, code):
        metrics.WS_CONNECTIONS.dec()
        self.pinger.cancel()
        if self.count_flush:
            self.count_flush.cancel()
        if self.room_id is None:
            return
        aio_release = asyncio.shield(aio.release())  # runs to the end even if we are cancelled
        await relay.leave(self.room_id, self)
        await aio_release
        await room_db(services.disconnect)(self.channel_name)

    # -- frames in ------------------------------------------------------------------------
    async def receive(self, text_data=None, bytes_data=None):
        self.last_heard = time.monotonic()
        self.answering = True
        try:
            await self.answer(text_data, bytes_data)
        finally:
            self.answering = False
        if self.close_after_answer:
            await self.close(code=4001)

    async def answer(self, text_data, bytes_data) -> None:
        """Run one frame's command; its ack (with a `request_id`) or error goes back."""
        request_id = None
        try:
            name, payload = self.parse(text_data, bytes_data)
            request_id = payload.get("request_id")
            if not isinstance(request_id, (str, int, type(None))) or isinstance(request_id, bool):
                request_id = None
                raise ProtocolError("VALIDATION_ERROR", "request_id must be text or a number.")
            result = await self.dispatch_command(name, payload)
            if request_id is not None:
                await self.send_frame("ack", {"request_id": request_id, "success": True,
                                              "result": result})
        except ProtocolError as exc:
            await self.send_error(exc.error_type, str(exc), exc.details, request_id)
        except services.RoomError as exc:
            await self.send_error(self.error_type_for(exc), str(exc), exc.details, request_id)
        except Exception:  # never let one command take the connection down
            logger.exception("room command failed")
            await self.send_error("COMMAND_EXECUTION_FAILED", "The command failed on the server.",
                                  None, request_id)

    def parse(self, text_data, bytes_data) -> tuple[str, dict]:
        if bytes_data is not None:
            raise ProtocolError("VALIDATION_ERROR", "Binary frames are not supported.")
        if len(text_data.encode()) > settings.ROOMS_MAX_MESSAGE_BYTES:
            raise ProtocolError("VALIDATION_ERROR", "Message too large.",
                                {"limit_bytes": settings.ROOMS_MAX_MESSAGE_BYTES})
        if not self.bucket.take():
            metrics.WS_RATE_LIMITED.inc()
            raise ProtocolError("VALIDATION_ERROR", "Too many messages; slow down.",
                                {"reason": "rate_limited"})
        try:
            frame = events.decode(text_data)
        except events.BadJSON as exc:
            raise ProtocolError("VALIDATION_ERROR", str(exc)) from None
        if (not isinstance(frame, list) or len(frame) != 2 or not isinstance(frame[0], str)
                or not isinstance(frame[1], dict)):
            raise ProtocolError("VALIDATION_ERROR", "Frames are [name, {payload}] arrays.")
        return frame[0], frame[1]

    async def dispatch_command(self, name: str, payload: dict):
        if name == "pong":
            if self.room_id is not None:
                await on_loop_or_thread(aio.touch, services.touch, self.channel_name)
            return None
        if name == "handshake":
            return self.handshake(payload)
        if self.client_type is None:
            raise ProtocolError("HANDSHAKE_FAILED", "Send a handshake first.")
        if name == "join_room":
            return await self.join_room(payload)
        if name not in CONTROLLER_COMMANDS | DISPLAY_COMMANDS | ANY_MEMBER_COMMANDS:
            raise ProtocolError("INVALID_COMMAND", f"Unknown command {name!r}.",
                                {"command": name})
        if self.room_id is None:
            raise ProtocolError("NOT_IN_ROOM", "Join a room first.", {"command": name})
        if name in CONTROLLER_COMMANDS and self.client_type != "controller":
            raise ProtocolError("FORBIDDEN", f"{name} is a controller command.",
                                {"command": name, "client_type": self.client_type})
        if name in DISPLAY_COMMANDS and self.client_type != "display":
            raise ProtocolError("FORBIDDEN", f"{name} is a display command.",
                                {"command": name, "client_type": self.client_type})
        if name == "set_page":  # the hot path: one statement on the event loop when all is well
            state = await aio.turn_page(self.room_id, self.participant.pk, payload.get("page"))
            if state is not None:
                return state
        return await room_db(self.run_command)(name, payload)

    def run_command(self, name: str, payload: dict):
        if name == "set_page" and not aio.enabled():  # one round trip when all is well
            state = services.turn_page(self.room_id, self.participant.pk, payload.get("page"))
            if state is not None:
                return state
        return COMMANDS[name](self.room_id, self.refresh_participant(), payload)

    def handshake(self, payload: dict) -> dict:
        client_type = payload.get("client_type")
        if client_type not in CLIENT_TYPES:
            raise ProtocolError("HANDSHAKE_FAILED",
                                f"client_type must be one of {', '.join(CLIENT_TYPES)}.")
        if self.room_id is not None:
            raise ProtocolError("HANDSHAKE_FAILED", "Already in a room.")
        self.client_type = client_type
        return {"client_type": client_type}

    async def join_room(self, payload: dict) -> dict:
        if self.room_id is not None:
            raise ProtocolError("VALIDATION_ERROR", "Already in a room.")
        client = self.scope.get("client") or ("?",)
        participant = await room_db(services.join)(
            payload.get("room_id"), user=self.scope.get("user"), guest_name=payload.get("name"),
            role=self.client_type, password=payload.get("password"),
            guest_key=guests.read(self.scope.get("cookies")), client_key=str(client[0]),
            display_token=payload.get("display_token") or "")
        self.participant = participant
        self.room_id = participant.room_id
        await aio.hold()
        await self.send_snapshot()
        return {"room_id": self.room_id, "participant_id": participant.pk, "role": participant.role}

    async def send_snapshot(self) -> None:
        """(Re)subscribe, then send the full state. Subscribing first, with the room's messages
        held meanwhile, means events committed while the snapshot is read follow it;
        `room_event` drops those it covers."""
        self.held = []
        try:
            await self.subscribe()
            outages = aio.outages()
            snapshot = await room_db(self.snapshot_and_connect)()
            self.seen_version, self.behind_since = snapshot["room_version"], None
            self.outages_seen = outages
            self.missed = False
            await self.send_frame("room_state", snapshot)
            if snapshot["song"]["song_id"] is not None:
                await self.send_frame("song_updated", snapshot["song"])
            await self.send_frame("queue_update", snapshot["queue"])
            await self.send_frame("player_state", snapshot["player_state"])
        finally:
            held, self.held = self.held, None
            for message in held:
                await self.room_message(message)

    async def subscribe(self) -> None:
        if self.subscribed:
            return
        try:
            await relay.join(self.room_id, self)
            self.subscribed = True
        except Exception as exc:  # layer down: joined anyway; check_in_sync retries
            logger.warning("room %s: subscribing failed: %r", self.room_id, exc)

    def snapshot_and_connect(self) -> dict:
        services.connect(self.room_id, self.participant, self.channel_name, self.client_type)
        return services.snapshot(services.get_open_room(self.room_id))

    async def check_in_sync(self) -> None:
        """Resend the snapshot when events were lost: not subscribed, an event skipped a
        version, the room's version stayed ahead of what this client was sent for a whole
        check interval, or the database may have lost its last commits (a crash under
        asynchronous commit, a failover to a replica that was behind): the version went back,
        or this process met a connection failure since the snapshot. Until then every event up
        to the old version would be dropped as stale, and a room that moved on past it reuses
        its version numbers."""
        seen = self.seen_version  # committed before we ask; events may come in meanwhile
        version = await on_loop_or_thread(aio.room_version, services.room_version,
                                          self.room_id)
        if version is None:
            return
        if version < seen or aio.outages() != self.outages_seen:
            logger.info("room %s: the database may have lost commits (version %s, client at %s),"
                        " resending the snapshot", self.room_id, version, seen)
            await self.send_snapshot()
        elif (not self.subscribed or self.missed
              or (self.behind_since is not None and self.seen_version < self.behind_since)):
            logger.info("room %s: client behind (%s < %s), resending the snapshot",
                        self.room_id, self.seen_version, version)
            await self.send_snapshot()
        else:
            self.behind_since = version if version > self.seen_version else None

    def refresh_participant(self):
        """Permissions may have changed since join (host allowed a controller, or left)."""
        participant = services.Participant.objects.select_related("user").filter(
            pk=self.participant.pk, left_at=None).first()
        if participant is None:
            raise services.Forbidden("You are no longer in this room.")
        self.participant = participant
        return participant

    # -- frames out -----------------------------------------------------------------------
    async def send_frame(self, name: str, payload) -> None:
        await self.send(text_data=events.encode(name, payload))

    async def send_error(self, error_type, message, details=None, request_id=None):
        body = {"error_type": error_type, "message": message}
        if details:
            body["details"] = details
        if request_id is not None:
            body["request_id"] = request_id
            await self.send_frame("ack", {"request_id": request_id, "success": False,
                                          "result": None})
        await self.send_frame("error", body)

    @staticmethod
    def error_type_for(exc: services.RoomError) -> str:
        if isinstance(exc, services.Forbidden):
            return "FORBIDDEN"
        if isinstance(exc, (services.Invalid, services.RateLimited)):
            return "VALIDATION_ERROR"
        return "COMMAND_EXECUTION_FAILED"

    async def room_message(self, message):
        """The room's relay (rooms.relay) hands every room message to this, in order; while
        a snapshot is read they wait for it, so the client hears `room_state` first."""
        if self.held is not None:
            self.held.append(message)
            return
        await getattr(self, get_handler_name(message))(message)

    async def room_event(self, event):
        """Every rooms.events.broadcast (the frame arrives serialised).
        Nothing older than what the client already has goes out."""
        version = event["room_version"]
        if version <= self.seen_version:
            return
        if version > self.seen_version + 1:  # the next snapshot brings what it skipped
            self.missed = True
        self.seen_version = version
        await self.send(text_data=event["frame"])
        if "sent_at" in event:
            metrics.ROOM_FANOUT.observe(max(0.0, time.time() - event["sent_at"]))
        if event["name"] == "room_closed":
            if self.answering:  # this socket's own command (the host leaving) gets its ack
                self.close_after_answer = True
            else:
                await self.close(code=4001)

    async def room_presence(self, event):
        """Leadership goes out at once; client counts are coalesced (ROOMS_PRESENCE_COALESCE)."""
        if self.client_type == "controller":
            is_leader = event["leader"] == self.channel_name
            if is_leader != self.is_leader:
                self.is_leader = is_leader
                await self.send_frame("leader_status", {"is_leader": is_leader})
        self.pending_count = event["client_count"]
        if self.count_flush is None or self.count_flush.done():
            self.count_flush = asyncio.create_task(self.flush_count())

    async def flush_count(self):
        await asyncio.sleep(settings.ROOMS_PRESENCE_COALESCE_SECONDS)
        await self.send_frame("client_count", self.pending_count)

    async def ping_forever(self):
        try:
            while True:
                await asyncio.sleep(min(settings.ROOMS_PING_SECONDS, 5.0))
                silent = time.monotonic() - self.last_heard
                if silent > settings.ROOMS_CLIENT_TIMEOUT_SECONDS:
                    logger.info("closing silent room connection (%.0f s)", silent)
                    await self.close(code=4002)
                    return
                if time.monotonic() - self.last_ping >= settings.ROOMS_PING_SECONDS:
                    self.last_ping = time.monotonic()
                    await self.send_frame("ping", {"timestamp": now_ts()})
                    if self.room_id is not None:
                        try:
                            await self.check_in_sync()
                        except Exception as exc:  # the database is away: check at next ping
                            logger.warning("room %s: sync check failed: %r", self.room_id, exc)
        except asyncio.CancelledError:
            pass
        except Exception:  # e.g. the database is down: the next connection resyncs
            logger.exception("room %s: ping loop stopped", self.room_id)
