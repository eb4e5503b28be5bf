"""The generate flow around `charts.generator`: a job, the analysis in the worker, the folder
staged in the storage's Generator folder, then moved into `Songs/<Artist>/<Title>_<id>/` and
registered as a Chart. Every failure ends the job FAILED with the reason and leaves nothing
behind: no staging folder, no row, no upload."""

from __future__ import annotations

import logging
import shutil
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from songhub import metrics, runs
from songhub.signals import announce_library_change

from . import generator, storage as storage_mod, sync
from .models import ChartImportJob
from .storage.base import join, safe_name

logger = logging.getLogger(__name__)
PROGRESS_EVERY_SECONDS = 0.5


def publish(folder: Path, meta: generator.ChartMeta, storage, staging: str):
    """Stage the song folder in the Generator folder, move it into its final place in one MOVE
    (so the library never lists a half-uploaded song), register it. -> (chart, remote path)."""
    storage.upload_folder(folder, staging)
    final = join(storage_mod.folder("songs"), safe_name(meta.artist, "Unknown Artist"),
                 f"{safe_name(meta.title, 'Untitled')}_{uuid.uuid4().hex[:8]}")
    storage.mkdir(final.rsplit("/", 1)[0])  # MOVE needs the artist's folder to exist
    storage.move(staging, final, overwrite=False)
    return sync.refresh_folder(final, storage), final


def staging_path(label: str) -> str:
    return join(storage_mod.folder("generator"), f"{label}-{uuid.uuid4().hex[:6]}")


def create_job(audio: Path, name: str, meta: dict, user=None) -> ChartImportJob:
    """A queued generate job for a staged audio file, handed to the worker after commit."""
    from .tasks import generate_chart_task

    with transaction.atomic():
        job = ChartImportJob.objects.create(
            kind=ChartImportJob.Kind.GENERATE, user=user, paths=[str(audio)], params=meta,
            files=[{"name": name, "status": "queued", "stage": "queued", "percent": 0}])
        generate_chart_task.delay_on_commit(job.pk)
    return job


def run_job(job_id: int) -> ChartImportJob | None:
    if not runs.claim(ChartImportJob, job_id, ChartImportJob.Status.QUEUED):
        runs.reap_stale(ChartImportJob)  # a redelivered task of a dead worker ends that job
        return None  # someone else has it
    job = ChartImportJob.objects.get(pk=job_id)
    entry = job.files[0]
    last = {"at": 0.0}
    started = time.monotonic()

    def progress(stage: str, percent: int, force: bool = False):
        entry.update(status="running", stage=stage, percent=percent)
        if force or time.monotonic() - last["at"] >= PROGRESS_EVERY_SECONDS:
            last["at"] = time.monotonic()
            ChartImportJob.objects.filter(pk=job_id).update(files=job.files)

    work = Path(settings.SONG_DATA_DIR) / "charts-generate" / uuid.uuid4().hex
    storage = storage_mod.get_storage()
    staging = staging_path(f"job-{job_id}")
    try:
        meta = generator.ChartMeta(**{k: str(job.params.get(k, "")) for k in
                                      ("title", "artist", "album", "genre", "year")})
        with runs.heartbeat(job):
            summary = generator.generate(Path(job.paths[0]), work, meta,
                                         lambda stage, percent: progress(stage, percent),
                                         max_bytes=settings.CHARTS_MAX_AUDIO_MB * 2**20)
            progress("uploading", 80, force=True)
            chart, final = publish(work, meta, storage, staging)
        entry.update(status="done", stage="done", percent=100, chart_id=chart.pk,
                     remote_path=final, issues=chart.issues, summary=summary)
        job.status = ChartImportJob.Status.DONE
        announce_library_change("charts")
    except Exception as exc:  # every failure ends the job with a message, and cleans up
        message = str(exc) if isinstance(exc, generator.GeneratorError) else \
            f"{exc.__class__.__name__}: {exc}"
        if not isinstance(exc, generator.GeneratorError):
            logger.exception("chart generation job %s failed", job_id)
        entry.update(status="failed", stage="failed", error=message)
        job.status, job.error = ChartImportJob.Status.FAILED, message
        try:
            if storage.exists(staging):
                storage.delete(staging)
        except storage_mod.StorageError as cleanup:
            logger.warning("could not remove staging folder %s: %s", staging, cleanup)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        for path in job.paths:
            Path(path).unlink(missing_ok=True)
        ChartImportJob.objects.filter(pk=job_id).update(
            status=job.status, error=job.error, files=job.files, finished_at=timezone.now())
        metrics.record_job("chart_generate", job.status, time.monotonic() - started, 1)
    return job
