"""Celery worker lifecycle: register on start, heartbeat in a thread, unregister on shutdown."""

import logging
import threading
import time
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
    """Beat at a fixed rate: each beat is due WORKER_HEARTBEAT_SECONDS after the previous one
    was due, however long the beat itself took, so failover stays within the documented bound
    (docs/listening.md)."""
    _balance(worker_id)
    due = time.monotonic() + settings.WORKER_HEARTBEAT_SECONDS
    while not stop.wait(max(0.0, due - time.monotonic())):
        due += settings.WORKER_HEARTBEAT_SECONDS
        _state["healthy"] = registry.heartbeat(worker_id)
        if _state["healthy"]:
            _balance(worker_id)
            _reap_runs()
        _touch_liveness_file()
        while due <= time.monotonic():  # a beat that overran (database outage): skip, no burst
            due += settings.WORKER_HEARTBEAT_SECONDS


def _reap_runs() -> None:
    """End job rows whose owner died (songhub.runs); any live worker does it for all."""
    from songhub import runs

    try:
        runs.reap_all()
    except DatabaseError as exc:
        logger.error("could not reap stale runs: %s", exc)


def _balance(worker_id: str) -> None:
    """Take this worker's share of listeners and hand their poll jobs to the scheduler."""
    scheduler = _state.get("scheduler")
    if scheduler is None:
        return
    from listening.poller import jobs_for

    from . import assignment

    try:
        scheduler.set_jobs(jobs_for(assignment.balance(worker_id)))
    except DatabaseError as exc:  # keep polling what we had; try again next beat
        logger.error("worker %s could not rebalance: %s", worker_id, exc)


def start_polling():
    from listening.poller import ListenerPoller

    from .scheduler import Scheduler

    poller = ListenerPoller(threads=settings.POLL_THREADS)
    return Scheduler(poller, flush=poller.flush, threads=settings.POLL_THREADS,
                     start_rate=settings.POLL_START_RATE).start()


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
        _state["scheduler"] = start_polling()
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
