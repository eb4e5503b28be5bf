"""The one event contract between the server and room clients, and the one way to send it.

Every message is `[name, payload]`. Services call `broadcast` inside their transaction; the
send happens after commit (`transaction.on_commit`), so clients never hear of a change that
was rolled back, and the REST views and the WebSocket consumer share the same path.
"""

from __future__ import annotations

import json
import time
from typing import Any, TypedDict

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction


class ParticipantJoined(TypedDict):
    user_id: int | None
    participant_id: int
    name: str
    role: str


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


def broadcast(room_id: int, name: str, payload: Any) -> None:
    """Send `[name, payload]` to everyone in the room once the current transaction commits."""
    # serialised once here rather than once per connected client
    frame = json.dumps([name, payload], separators=(",", ":"))
    message = {"type": "room.event", "name": name, "frame": frame}
    transaction.on_commit(lambda: _group_send(room_group(room_id), message))


def notify_consumers(room_id: int, kind: str, **data) -> None:
    """Internal fan-out to the room's consumers (e.g. 'leader changed'), after commit."""
    message = {"type": kind.replace("_", "."), **data}
    transaction.on_commit(lambda: _group_send(room_group(room_id), message))


def _group_send(group: str, message: dict) -> None:
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(group, message)
