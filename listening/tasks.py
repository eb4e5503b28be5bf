"""Celery entry points for listening analytics (thin: the work is in the domain modules)."""

import logging

from celery import shared_task

from songhub import locks

from . import consolidation, linker

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, ignore_result=True, expires=23 * 3600)
def link_artists_task() -> None:
    """For deployments without CronJobs; the lock keeps two runs from overlapping."""
    try:
        with locks.exclusive("link-artists"):
            report = linker.link_artists()
    except locks.Busy:
        logger.info("artist linker already running; skipped")
        return
    logger.info("artist linker: %s", report.summary())


@shared_task(acks_late=True, ignore_result=True, expires=23 * 3600)
def update_song_ids_task() -> None:
    try:
        with locks.exclusive("update-song-ids"):
            consolidation.consolidate()
    except locks.Busy:
        logger.info("song-id consolidation already running; skipped")


@shared_task(acks_late=True, ignore_result=True)
def import_history_task(job_id: int) -> None:
    from .history_import import run_job

    run_job(job_id)
