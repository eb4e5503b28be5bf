"""Celery entry points for the song library; all logic lives in `pipeline`."""

import logging

from celery import shared_task

from songhub import runs

from . import pipeline
from .models import Song, SyncRun

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


@shared_task(acks_late=True, ignore_result=True, expires=300)
def render_transposed_task(song_id: int, source_sha: str, semitones: int) -> None:
    """Render a song in a personal key (queued by `transposed.request_render`)."""
    from django.conf import settings

    from .store import SongStore
    from .transposed import finish_render, render_transposed

    song = Song.objects.filter(pk=song_id).first()
    try:
        if song is not None and song.source_sha == source_sha:  # else: changed meanwhile
            render_transposed(SongStore(settings.SONG_DATA_DIR), song, semitones)
    finally:
        if song is not None:
            finish_render(song, semitones)
