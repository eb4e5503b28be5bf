"""Health endpoints for probes and operators.

`/health` is the readiness view: it touches the database, Redis and the channel layer and
answers 503 when the database is unreachable. `/health/live` does no I/O at all.
"""

import asyncio
import logging
import uuid

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

logger = logging.getLogger(__name__)


def check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return "ok"
    except DatabaseError as exc:
        logger.error("health: database unreachable: %s", exc)
        return f"error: {exc.__class__.__name__}"


def check_redis() -> str:
    if not settings.REDIS_URL:
        return "not configured"
    import redis

    try:
        # closed at once: an unclosed client lingers until the (tuned-down) garbage collector
        with redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1,
                                  socket_connect_timeout=1) as client:
            client.ping()
        return "ok"
    except redis.RedisError as exc:
        logger.error("health: redis unreachable: %s", exc)
        return f"error: {exc.__class__.__name__}"


def check_channel_layer() -> str:
    """A real round trip: send a message to a fresh channel and read it back."""
    layer = get_channel_layer()
    if layer is None:
        return "not configured"
    try:
        return async_to_sync(_round_trip)(layer)
    except Exception as exc:  # any layer failure is a health fact, not a crash
        logger.error("health: channel layer failed: %r", exc)
        return f"error: {exc.__class__.__name__}"


async def _round_trip(layer, timeout=2.0) -> str:
    """One coroutine, so the whole trip uses one event loop (per-loop layers, e.g. pub/sub)."""
    channel = await layer.new_channel("health.")
    try:
        token = uuid.uuid4().hex
        await layer.send(channel, {"type": "health.ping", "token": token})
        message = await asyncio.wait_for(layer.receive(channel), timeout)
        return "ok" if message.get("token") == token else "error: wrong message"
    finally:
        await _discard_channel(layer, channel)


async def _discard_channel(layer, channel: str) -> None:
    """Drop the probe's channel. The pub/sub layer has no delete_channel(): it unsubscribes a
    channel when a receive on it is cancelled (how consumers leave), so cancel one. Without
    this every probe left a subscription in the web process and in Redis (issue #11.9)."""
    try:
        await asyncio.wait_for(layer.receive(channel), 0.05)
    except asyncio.TimeoutError:
        pass
    except Exception as exc:  # the layer is down: the check itself reports that
        logger.debug("health: could not discard %s: %r", channel, exc)


def worker_counts() -> tuple[int | None, int | None]:
    """(live workers, live workers whose last heartbeat cycle hit a database error)."""
    from workers.models import Worker

    try:
        live = Worker.objects.live()
        return live.count(), live.filter(healthy=False).count()
    except DatabaseError:
        return None, None


def check_chart_storage() -> str:
    """The chart library's storage (local folder or Nextcloud): one listing of its root."""
    from charts import storage

    return storage.check()


def room_figures() -> dict:
    """The karaoke seed's troubleshooting figures: rooms open, this process's WebSockets, and
    how often the video-URL cache answers."""
    from prometheus_client import REGISTRY

    from rooms.models import Room
    from rooms.sources import url_cache_stats

    return {"rooms_open": Room.objects.filter(closed_at=None).count(),
            "websocket_connections": int(REGISTRY.get_sample_value("songhub_ws_connections") or 0),
            "video_url_cache": url_cache_stats()}


@never_cache
def health(request):
    database = check_database()
    workers, unhealthy = worker_counts() if database == "ok" else (None, None)
    body = {
        "status": "ok",
        "version": settings.VERSION,
        "database": database,
        "redis": check_redis(),
        "channel_layer": check_channel_layer(),
        "workers": workers,
        "workers_unhealthy": unhealthy,
        "chart_storage": check_chart_storage(),
        **(room_figures() if database == "ok" else {}),
    }
    degraded = [k for k in ("redis", "channel_layer", "chart_storage")
                if body[k].startswith("error")]
    if database != "ok":
        body["status"] = "unavailable"
        return JsonResponse(body, status=503)
    if degraded:
        body["status"] = "degraded"
    return JsonResponse(body)


@never_cache
def live(request):
    return JsonResponse({"status": "ok"})
