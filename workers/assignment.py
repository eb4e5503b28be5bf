"""Spreading enabled listeners over live workers, through the database only.

Every worker runs `balance(worker_id)` on each heartbeat: it drops listeners over its quota
`ceil(enabled / live workers)` (so a new worker finds work) and claims unowned ones up to the
quota. Claims use `SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL, and a conditional UPDATE
everywhere, so two workers never own one listener. A dead worker's row is pruned by the
heartbeat, and the foreign key (SET NULL) hands its listeners back to the pool.
"""

from __future__ import annotations

import math

from django.db import connection, transaction

from listening.models import Listener

from .models import Worker


def quota() -> int:
    live = Worker.objects.live().count()
    enabled = Listener.objects.filter(enabled=True).count()
    return math.ceil(enabled / live) if live else 0


def balance(worker_id: str) -> list[int]:
    """Release what is over quota, claim what is free; returns the ids this worker owns."""
    Listener.objects.filter(assigned_worker_id=worker_id, enabled=False).update(
        assigned_worker=None)
    limit = quota()
    owned = list(Listener.objects.filter(assigned_worker_id=worker_id, enabled=True)
                 .order_by("pk").values_list("pk", flat=True))
    if len(owned) > limit:
        Listener.objects.filter(pk__in=owned[limit:], assigned_worker_id=worker_id).update(
            assigned_worker=None)
        return owned[:limit]
    if len(owned) < limit:
        owned += claim(worker_id, limit - len(owned))
    return owned


def claim(worker_id: str, count: int) -> list[int]:
    with transaction.atomic():
        candidates = Listener.objects.filter(enabled=True, assigned_worker__isnull=True) \
            .order_by("pk")
        if connection.vendor == "postgresql":
            ids = list(candidates.select_for_update(skip_locked=True)
                       .values_list("pk", flat=True)[:count])
            Listener.objects.filter(pk__in=ids).update(assigned_worker_id=worker_id)
            return ids
        claimed = []  # SQLite serialises writers; the conditional UPDATE is the guard
        for pk in candidates.values_list("pk", flat=True)[:count]:
            if Listener.objects.filter(pk=pk, assigned_worker__isnull=True).update(
                    assigned_worker_id=worker_id):
                claimed.append(pk)
        return claimed
