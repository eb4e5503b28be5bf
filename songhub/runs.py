"""Runs that outlive their owner: one mechanism for every long job row (songhub.models.LeasedRun).

The owner wraps its work in `heartbeat(run)`: a daemon thread refreshes `heartbeat_at` every
RUN_HEARTBEAT_SECONDS while the work runs. When the owner dies without a word (kill -9, OOM,
a node lost) the heartbeat stops; `reap_stale()` marks its RUNNING rows whose heartbeat is
older than RUN_STALE_SECONDS as FAILED with a message, so the row ends and the next run can
start. Reaping happens before each new run of a kind, when a redelivered task finds its row
taken, and on every worker heartbeat (`reap_all`). A heartbeat, not a database session lock:
it works on SQLite too and survives a connection blip without a false death.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from contextlib import contextmanager
from datetime import timedelta

from django.apps import apps
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from .models import LeasedRun

logger = logging.getLogger(__name__)


def owner_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:200]


def claim(model: type[LeasedRun], pk: int, from_status: str) -> bool:
    """Conditionally move row `pk` from `from_status` to RUNNING, owned by this process."""
    return model.objects.filter(pk=pk, status=from_status).update(
        status=model.RUNNING, owner=owner_name(), heartbeat_at=timezone.now()) == 1


@contextmanager
def heartbeat(run: LeasedRun):
    """Keep `run` alive while the block runs (its row must already be RUNNING)."""
    model, stop = type(run), threading.Event()
    model.objects.filter(pk=run.pk).update(owner=owner_name(), heartbeat_at=timezone.now())

    def beat():
        try:
            while not stop.wait(settings.RUN_HEARTBEAT_SECONDS):
                try:
                    model.objects.filter(pk=run.pk, status=model.RUNNING).update(
                        heartbeat_at=timezone.now())
                except DatabaseError as exc:  # an outage: the stale timeout rides it out
                    logger.warning("%s #%s heartbeat failed: %s", model.__name__, run.pk, exc)
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=beat, name=f"heartbeat-{model.__name__}-{run.pk}",
                              daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def reap_stale(model: type[LeasedRun]) -> list[int]:
    """Mark RUNNING rows of `model` whose owner stopped beating FAILED; returns their ids."""
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.RUN_STALE_SECONDS)
    message = (f"Failed: its owner stopped (no heartbeat for {settings.RUN_STALE_SECONDS:g} s; "
               "killed or crashed).")
    with transaction.atomic():  # rows locked, so a late heartbeat cannot slip in between
        reaped = list(model.objects.select_for_update(skip_locked=True)
                      .filter(status=model.RUNNING, heartbeat_at__lt=cutoff)
                      .values_list("pk", flat=True))
        model.objects.filter(pk__in=reaped).update(
            status=model.FAILED, finished_at=now, **{model.lease_message_field: message})
    for pk in reaped:
        logger.error("%s #%s: owner gone, marked failed", model.__name__, pk)
    return reaped


def reap_all() -> dict[str, list[int]]:
    """reap_stale() for every LeasedRun model (called on each worker heartbeat)."""
    found = {}
    for model in apps.get_models():
        if issubclass(model, LeasedRun):
            reaped = reap_stale(model)
            if reaped:
                found[model.__name__] = reaped
    return found
