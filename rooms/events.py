"""The one event contract between the server and room clients, and the one way to send it.

Every message is `[name, payload]`. Services call `broadcast` inside their transaction; the
send happens after commit (`transaction.on_commit`), so clients never hear of a change that
was rolled back, and the REST views and the WebSocket consumer share the same path.

Every room event carries `room_version`, the room's event sequence number (bumped under the
room lock, so commit order is version order). A client ignores events not newer than the
snapshot it holds, and the consumer never forwards them in the first place.

The WebSocket consumer runs its database work in threads and sends what they broadcast itself,
from its event loop (`collecting` / `send_collected`): a thread never waits on the server's
loop, so daphne stops promptly on SIGTERM even while members are leaving (async_to_sync from
such a thread waited forever once the loop had stopped) and a command costs one hop fewer.

A broadcast that fails (the channel layer is down) is logged and counted, never raised: the
change is committed, so the caller has succeeded; followers catch up from a snapshot once
the layer is back (see `RoomConsumer.check_in_sync`).

Frames are encoded by `encode` (no NaN/Infinity: browsers' JSON.parse rejects them) and
client JSON is decoded by `decode`, which refuses non-finite numbers outright.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import threading
import time
from contextlib import contextmanager
from typing import Any, TypedDict

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from songhub import metrics

from . import relay

logger = logging.getLogger(__name__)
#: process-wide counters for operators (also logged on every failure)
stats = {"broadcast_failures": 0}


class BadJSON(ValueError):
    """Client JSON that is malformed or holds a non-finite number."""


def _no_constants(name: str):
    raise BadJSON(f"{name} is not a valid JSON number.")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BadJSON(f"{text[:20]} is out of range.")
    return value


#: built once: json.loads and json.dumps build a new decoder or encoder on every call that
#: passes options, and every frame in or out of a room passes through here
_CLIENT_JSON = json.JSONDecoder(parse_constant=_no_constants, parse_float=_finite_float)
_FRAME_JSON = json.JSONEncoder(separators=(",", ":"), allow_nan=False)


def decode(text: str | bytes):
    """Parse client JSON; NaN, Infinity and overflowing numbers (1e400) raise BadJSON."""
    try:
        if isinstance(text, (bytes, bytearray)):  # as json.loads reads them
            text = text.decode(json.detect_encoding(text), "surrogatepass")
        return _CLIENT_JSON.decode(text)
    except BadJSON:
        raise
    except (ValueError, RecursionError) as exc:
        raise BadJSON("Malformed JSON.") from exc


def encode(name: str, payload: Any) -> str:
    """One frame; raises ValueError rather than ever sending NaN or Infinity."""
    return _FRAME_JSON.encode([name, payload])


class ParticipantJoined(TypedDict):
    user_id: int | None
    participant_id: int
    name: str
    role: str
    can_control: bool


class ParticipantLeft(TypedDict):
    user_id: int | None
    participant_id: int


class RoomClosed(TypedDict):
    room_id: int


class SongUpdated(TypedDict):
    song_id: int | None
    title: str
    artist: str
    total_pages: int
    current_page: int
    image_etag: str
    version: int


class PageUpdated(TypedDict):
    song_id: int | None
    current_page: int
    total_pages: int
    image_etag: str
    version: int


class QueueUpdate(TypedDict):
    items: list[dict]
    mode: str
    version: int
    timestamp: float


class PlayerStateEvent(TypedDict):
    entry: dict | None
    play_state: str
    current_time: float
    duration: float
    volume: float
    version: int
    timestamp: float


def room_group(room_id: int) -> str:
    return f"room.{room_id}"


def now_ts() -> float:
    return round(time.time(), 3)


def room_event(version: int, name: str, payload: dict) -> dict:
    """The channel-layer message for `[name, payload]` with `room_version`, the frame
    serialised once here rather than once per connected client."""
    payload = {**payload, "room_version": version}
    return {"type": "room.event", "name": name, "room_version": version,
            "frame": encode(name, payload)}


def broadcast(room_id: int, version: int, name: str, payload: dict) -> None:
    """Send `[name, payload]` (with `room_version`) to everyone in the room once the current
    transaction commits."""
    message = room_event(version, name, payload)
    transaction.on_commit(lambda: _deliver(room_id, message))


def notify_consumers(room_id: int, kind: str, **data) -> None:
    """Internal fan-out to the room's consumers (e.g. 'leader changed'), after commit."""
    message = {"type": kind.replace("_", "."), **data}
    transaction.on_commit(lambda: _deliver(room_id, message))


_outbox = threading.local()


@contextmanager
def collecting():
    """Keep this thread's committed room messages in a list instead of sending them; the
    caller sends them from its event loop with `send_collected`."""
    _outbox.messages = messages = []
    try:
        yield messages
    finally:
        _outbox.messages = None


def _deliver(room_id: int, message: dict) -> None:
    messages = getattr(_outbox, "messages", None)
    if messages is not None:
        messages.append((room_id, message))
    else:
        _group_send(room_group(room_id), message)


@functools.cache
def _event_counter(name: str):
    """The event's counter (`labels()` takes a lock and builds a key on every call; the
    event names are a fixed few)."""
    return metrics.ROOM_EVENTS.labels(name)


def _stamped(message: dict) -> dict:
    if "name" in message:  # a room event: consumers time its fan-out from here
        _event_counter(message["name"]).inc()
        return {**message, "sent_at": time.time()}
    return message


def _send_failed(group: str, exc: Exception) -> None:
    """The change is committed: report, never fail the caller."""
    stats["broadcast_failures"] += 1
    metrics.ROOM_BROADCAST_FAILURES.inc()
    logger.warning("room broadcast to %s failed (%s failures so far): %r", group,
                   stats["broadcast_failures"], exc)


async def send_collected(messages: list[tuple[int, dict]]) -> None:
    """Send what `collecting` kept, from the event loop: through the room's relay, so this
    process' sockets have it before it goes to Redis (rooms.relay)."""
    if get_channel_layer() is None:
        return
    for room_id, message in messages:
        try:
            await relay.send(room_id, _stamped(message))
        except Exception as exc:
            _send_failed(room_group(room_id), exc)


def _group_send(group: str, message: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, _stamped(message))
    except Exception as exc:
        _send_failed(group, exc)
