"""Celery entry points for the song library; all logic lives in `pipeline`."""

import logging

from celery import shared_task

from songhub import runs

from . import pipeline
from .models import SyncRun

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, ignore_result=True, expires=3000)
def sync_songs(run_id: int | None = None, options: dict | None = None) -> None:
    """Run one sync. With `run_id`, claim that queued run; without, record a beat run."""
    if run_id is None:
        run = SyncRun.objects.create(status=SyncRun.Status.RUNNING, trigger=SyncRun.Trigger.BEAT)
    else:
        if not runs.claim(SyncRun, run_id, SyncRun.Status.QUEUED):
            # a redelivered task whose first owner died: end that run rather than leave it
            reaped = runs.reap_stale(SyncRun)
            logger.info("sync run %s already taken or gone%s", run_id,
                        " (its owner died: marked failed)" if run_id in reaped else "")
            return
        run = SyncRun.objects.get(pk=run_id)
    pipeline.run_sync(pipeline.SyncOptions(**(options or run.options or {})), run)


@shared_task(acks_late=True, ignore_result=True)
def rerender_songs(song_ids: list[int]) -> None:
    run = SyncRun.objects.create(status=SyncRun.Status.RUNNING, trigger=SyncRun.Trigger.ADMIN,
                                 options={"only_ids": song_ids, "regen_assets": True})
    pipeline.run_sync(pipeline.SyncOptions(only_ids=song_ids, regen_assets=True), run)
