"""The worker registry: each Celery worker process keeps one `Worker` row alive by heartbeat.

Plain functions over the database so the Celery hooks in `signals.py` stay thin and the
behaviour can be tested without a worker.
"""

import logging
import os
import socket
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, close_old_connections
from django.utils import timezone

from .models import Worker

logger = logging.getLogger(__name__)


def new_worker_id() -> str:
    return f"{socket.gethostname()[:40]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def register(worker_id: str) -> Worker:
    now = timezone.now()
    worker, _ = Worker.objects.update_or_create(
        id=worker_id,
        defaults={
            "hostname": socket.gethostname(),
            "pid": os.getpid(),
            "started_at": now,
            "last_heartbeat": now,
            "healthy": True,
            "last_error": "",
        },
    )
    logger.info("worker %s registered", worker_id)
    return worker


def heartbeat(worker_id: str) -> bool:
    """Refresh this worker's row and prune stale ones. False (and logged) if the DB failed.

    A database outage must not kill the worker: it reports unhealthy and tries again next beat.
    """
    close_old_connections()
    try:
        now = timezone.now()
        updated = Worker.objects.filter(pk=worker_id).update(
            last_heartbeat=now, healthy=True, last_error=""
        )
        if not updated:  # pruned while we were unreachable: come back
            register(worker_id)
        removed = prune_stale()
        if removed:
            logger.warning("removed %d stale worker(s)", removed)
        return True
    except DatabaseError as exc:
        logger.error("worker %s unhealthy: heartbeat failed, will retry: %s", worker_id, exc)
        _mark_unhealthy(worker_id, exc)
        return False


def _mark_unhealthy(worker_id: str, exc: Exception) -> None:
    """Record the failure on the row when a fresh connection can (e.g. only ours was cut);
    during a full outage this fails too, and the log line is what remains."""
    from django.db import connection

    connection.close()
    try:
        Worker.objects.filter(pk=worker_id).update(healthy=False, last_error=str(exc)[:1000])
    except DatabaseError:
        pass
    finally:
        connection.close()


def prune_stale() -> int:
    cutoff = timezone.now() - timedelta(seconds=settings.WORKER_STALE_SECONDS)
    deleted, _ = Worker.objects.filter(last_heartbeat__lt=cutoff).delete()
    return deleted


def unregister(worker_id: str) -> None:
    try:
        Worker.objects.filter(pk=worker_id).delete()
        logger.info("worker %s unregistered", worker_id)
    except DatabaseError as exc:
        logger.error("worker %s could not unregister: %s", worker_id, exc)
