"""The one live event of the graph, `graph_updated`, sent to every open graph page.

Services call `graph_updated` inside their transaction; the send happens after commit, so a
page never reloads for a change that was rolled back. Frames are `["graph_updated", payload]`
like the rooms protocol.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import TypedDict

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

GROUP = "graph"


class GraphUpdated(TypedDict):
    pairs_changed: int
    setlists: list[int]
    timestamp: float


def graph_updated(pairs_changed: int, setlist_ids: list[int]) -> None:
    payload: GraphUpdated = {"pairs_changed": pairs_changed, "setlists": setlist_ids[:100],
                             "timestamp": round(time.time(), 3)}
    frame = json.dumps(["graph_updated", payload], separators=(",", ":"))
    transaction.on_commit(lambda: _send({"type": "graph.event", "frame": frame}))


def _send(message: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        async_to_sync(layer.group_send)(GROUP, message)
        return
    # committed from a thread that runs an event loop (an async caller, a browser driver):
    # async_to_sync cannot run here, so send from a short-lived thread of its own
    sender = threading.Thread(target=asyncio.run, args=(layer.group_send(GROUP, message),))
    sender.start()
    sender.join(timeout=5)
