"""Importing charts: archives (.zip/.7z/.rar) or bare song folders → storage + library rows.

`import_path(path)` extracts an archive into a private temp folder (removed on success and on
failure), finds every song folder (a song.ini, or a chart file plus audio, for which a song.ini
is generated from the chart's [Song] section), and for each one: if its chart-file hash is
already in the library (or earlier in the same upload) it is reported as a duplicate; otherwise
it is uploaded to `Songs/<Artist>/<Title>_<short id>/` and upserted as a `Chart`. Archives are
checked before anything is extracted (see `archives`), so a refused archive writes nothing.

`run_job(job_id)` runs an `ChartImportJob` on a worker and records per-file progress.
"""

from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from songhub import metrics, runs
from songhub.signals import announce_library_change

from . import archives, storage as storage_mod, sync
from .folders import describe_folder, is_song_folder, pick
from .formats import CHART_FILES, ini
from .models import Chart, ChartImportJob
from .storage.base import join, safe_name
from .validate import audio_files

logger = logging.getLogger(__name__)

ASSET_EXTENSIONS = {"backgrounds": (".png", ".jpg", ".jpeg", ".mp4", ".webm"),
                    "colors": (".ini",), "highways": (".png", ".jpg", ".jpeg")}
JUNK = ("__MACOSX", ".DS_Store", "Thumbs.db", "desktop.ini")


class ImportRefused(ValueError):
    """Nothing was imported; the message says why."""


def temp_root() -> Path:
    root = settings.SONG_DATA_DIR / "charts-tmp"
    root.mkdir(parents=True, exist_ok=True)
    return root


def find_song_folders(root: Path) -> tuple[list[Path], list[dict]]:
    """Song folders below `root`, and the folders skipped with why."""
    found, skipped = [], []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in JUNK]
        names = [f for f in filenames if f not in JUNK and not f.startswith("._")]
        if not is_song_folder(names):
            continue
        if pick(names, ["song.ini"]) or audio_files(names):
            found.append(Path(dirpath))
        else:
            skipped.append({"folder": str(Path(dirpath).relative_to(root)),
                            "reason": "a chart with neither song.ini nor audio"})
    return sorted(found), skipped


def _ensure_ini(folder: Path, names: list[str]) -> list[str]:
    if pick(names, ["song.ini"]):
        return names
    chart_name = pick(names, CHART_FILES)
    meta = {}
    if chart_name and chart_name.lower().endswith(".chart"):
        from .formats import chart

        meta = chart.parse((folder / chart_name).read_bytes()).metadata
    fields = {"name": meta.get("Name") or folder.name, "artist": meta.get("Artist", ""),
              "album": meta.get("Album", ""), "genre": meta.get("Genre", ""),
              "year": meta.get("Year", ""), "charter": meta.get("Charter", "")}
    (folder / "song.ini").write_bytes(ini.generate(fields))
    return [*names, "song.ini"]


def import_folder(folder: Path, storage, seen_hashes: set[str]) -> dict:
    """One local song folder → storage + row. Returns {"status": added|duplicate, ...}."""
    names = sorted(f.name for f in folder.iterdir() if f.is_file() and not f.is_symlink()
                   and f.name not in JUNK and not f.name.startswith("._"))
    names = _ensure_ini(folder, names)
    info = describe_folder(names, lambda name: (folder / name).read_bytes())
    fields = info.fields
    chart_hash = info.chart_bytes_hash
    label = {"title": ini.strip_tags(fields["title"]), "artist": ini.strip_tags(fields["artist"])}
    if chart_hash:
        existing = Chart.objects.filter(chart_hash=chart_hash).only("id", "remote_path").first()
        if existing or chart_hash in seen_hashes:
            return {"status": "duplicate", **label,
                    "of": existing.remote_path if existing else "(earlier in this upload)",
                    "id": existing.pk if existing else None}
        seen_hashes.add(chart_hash)
    remote = join(storage_mod.folder("songs"), safe_name(label["artist"], "Unknown Artist"),
                  f"{safe_name(label['title'], 'Untitled')}_{uuid.uuid4().hex[:8]}")
    storage.upload_folder(folder, remote)
    listing = [e for e in storage.list(remote) if not e.is_dir]
    chart, _ = Chart.objects.update_or_create(
        remote_path=remote, defaults={**fields, "folder_etag": sync.signature(listing),
                                      "synced_at": timezone.now()})
    return {"status": "added", **label, "id": chart.pk, "remote_path": remote}


def import_path(path, storage=None, progress=None) -> dict:
    """An archive or a bare song folder. Returns {"songs", "duplicates", "skipped"}; raises
    `ImportRefused` (archive refused before anything was written) or StorageError."""
    path = Path(path)
    storage = storage or storage_mod.get_storage()
    work = None
    try:
        if path.is_dir():
            root = path
        else:
            work = temp_root() / uuid.uuid4().hex
            try:
                archives.extract(path, work, progress=(lambda d, t: progress("extract", d, t))
                                 if progress else None)
            except archives.ArchiveRefused as exc:
                raise ImportRefused(str(exc)) from None
            root = work
        folders, skipped = find_song_folders(root)
        if not folders:
            raise ImportRefused("No song folders (a song.ini, or a chart file with audio) "
                                "found.")
        result = {"songs": [], "duplicates": [], "skipped": skipped}
        seen: set[str] = set()
        for done, folder in enumerate(folders, 1):
            outcome = import_folder(folder, storage, seen)
            result["songs" if outcome["status"] == "added" else "duplicates"].append(outcome)
            if progress:
                progress("upload", done, len(folders))
        if result["songs"]:
            sync.mark_duplicates()
        return result
    finally:
        if work is not None:
            archives.remove_tree(work)


def upload_asset(kind: str, name: str, chunks, size: int | None = None, storage=None) -> str:
    """A background, colour profile or highway into its folder; returns the stored path."""
    if kind not in ASSET_EXTENSIONS:
        raise ImportRefused(f"type must be one of {', '.join(ASSET_EXTENSIONS)}.")
    clean = safe_name(Path(name).name, "")
    if not clean.lower().endswith(ASSET_EXTENSIONS[kind]):
        raise ImportRefused(f"{kind} must be {', '.join(ASSET_EXTENSIONS[kind])} files.")
    storage = storage or storage_mod.get_storage()
    target = join(storage_mod.folder(kind), clean)
    storage.mkdir(storage_mod.folder(kind))
    storage.write(target, chunks, size=size)
    return target


# --- the job -----------------------------------------------------------------------------------
def create_job(paths: list[str], names: list[str], user=None, cleanup: bool = True):
    """A queued job for staged uploads, handed to the worker after commit."""
    from django.db import transaction

    from .tasks import import_charts_task

    with transaction.atomic():
        job = ChartImportJob.objects.create(
            user=user, paths=[str(p) for p in paths], cleanup=cleanup,
            files=[{"name": n, "status": "queued", "done": 0, "total": 0} for n in names])
        import_charts_task.delay_on_commit(job.pk)
    return job


def run_job(job_id: int) -> ChartImportJob | None:
    if not runs.claim(ChartImportJob, job_id, ChartImportJob.Status.QUEUED):
        runs.reap_stale(ChartImportJob)  # a redelivered task of a dead worker ends that job
        return None
    job = ChartImportJob.objects.get(pk=job_id)
    try:
        with runs.heartbeat(job):
            storage = storage_mod.get_storage()
            for index, path in enumerate(job.paths):
                entry = job.files[index]

                def progress(stage, done, total, entry=entry):
                    # one UPDATE per ~2 %, not per archive member (10,000 members is allowed)
                    step = max(1, total // 50)
                    if stage != entry.get("status") or done == total or \
                            done - entry.get("done", 0) >= step:
                        entry.update(status=stage, done=done, total=total)
                        ChartImportJob.objects.filter(pk=job.pk).update(files=job.files)

                entry["status"] = "running"
                try:
                    entry.update(import_path(path, storage, progress), status="done")
                except ImportRefused as exc:
                    entry.update(status="refused", error=str(exc))
                except storage_mod.StorageError as exc:
                    entry.update(status="failed", error=f"storage: {exc}")
                ChartImportJob.objects.filter(pk=job.pk).update(files=job.files)
        job.status = ChartImportJob.Status.DONE
    except Exception as exc:  # every failure ends the job with a message
        logger.exception("chart import job %s crashed", job.pk)
        job.status, job.error = ChartImportJob.Status.FAILED, f"{exc.__class__.__name__}: {exc}"
    finally:
        if job.cleanup:
            for path in job.paths:
                Path(path).unlink(missing_ok=True)
        ChartImportJob.objects.filter(pk=job.pk).update(
            status=job.status, error=job.error, files=job.files, finished_at=timezone.now())
        announce_library_change("charts")
        metrics.record_job("chart_import", job.status,
                           (timezone.now() - job.created_at).total_seconds(), len(job.files))
    return job
