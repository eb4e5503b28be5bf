"""Celery entry points for the chart library (thin: the work is in `sync` and `importer`)."""

import logging

from celery import shared_task

from . import generation, importer, sync

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, ignore_result=True)
def sync_charts_task(run_id: int | None = None) -> None:
    """With `run_id`, claim that queued run; without (beat), record and run one now."""
    if run_id is None:
        _record, report = sync.run(trigger="beat")
    else:
        record = sync.claim(run_id)
        if record is None:
            logger.info("chart sync run %s already taken or gone", run_id)
            return
        report = sync.execute(record)
    logger.info("chart sync: %s %s", report.summary(), report.fatal)


@shared_task(acks_late=True, ignore_result=True)
def import_charts_task(job_id: int) -> None:
    importer.run_job(job_id)


@shared_task(acks_late=True, ignore_result=True)
def generate_chart_task(job_id: int) -> None:
    """CPU-bound audio analysis: runs in the worker, never in the web process."""
    generation.run_job(job_id)
