"""Celery worker lifecycle: register on start, heartbeat in a thread, unregister on shutdown."""

import logging
import threading
from pathlib import Path

from celery.signals import worker_ready, worker_shutdown
from django.conf import settings
from django.db import DatabaseError

from . import alive, registry

logger = logging.getLogger(__name__)

_state = {"worker_id": None, "stop": threading.Event(), "healthy": True}


def _touch_liveness_file() -> None:
    """The pod's liveness probe (workers.alive) reads this file's age."""
    path = Path(alive.heartbeat_file())
    try:
        path.touch()
    except OSError as exc:
        logger.warning("cannot touch %s: %s", path, exc)


def _beat_forever(worker_id: str, stop: threading.Event) -> None:
    _balance(worker_id)
    while not stop.wait(settings.WORKER_HEARTBEAT_SECONDS):
        _state["healthy"] = registry.heartbeat(worker_id)
        if _state["healthy"]:
            _balance(worker_id)
        _touch_liveness_file()


def _balance(worker_id: str) -> None:
    """Take this worker's share of listeners and hand it to the poll scheduler."""
    scheduler = _state.get("scheduler")
    if scheduler is None:
        return
    from listening.models import Listener

    from . import assignment

    try:
        owned = assignment.balance(worker_id)
        modes = dict(Listener.objects.filter(pk__in=owned).values_list("pk", "mode"))
        scheduler.set_owned(modes)
    except DatabaseError as exc:  # keep polling what we had; try again next beat
        logger.error("worker %s could not rebalance: %s", worker_id, exc)


@worker_ready.connect
def on_worker_ready(sender=None, **kwargs):
    worker_id = registry.new_worker_id()
    _state["worker_id"] = worker_id
    _state["stop"].clear()
    try:
        registry.register(worker_id)
    except Exception as exc:  # the heartbeat thread will register once the DB is back
        logger.error("worker %s could not register yet: %s", worker_id, exc)
    _touch_liveness_file()
    if settings.WORKER_METRICS_PORT:
        from songhub.metrics import serve_worker_metrics

        serve_worker_metrics(settings.WORKER_METRICS_PORT, settings.METRICS_TOKEN)
    if settings.WORKER_POLLING:
        from .scheduler import PollScheduler

        _state["scheduler"] = PollScheduler().start()
    threading.Thread(
        target=_beat_forever, args=(worker_id, _state["stop"]), name="songhub-heartbeat",
        daemon=True,
    ).start()


@worker_shutdown.connect
def on_worker_shutdown(sender=None, **kwargs):
    _state["stop"].set()
    if _state.get("scheduler") is not None:
        _state["scheduler"].stop()
    if _state["worker_id"]:
        registry.unregister(_state["worker_id"])
