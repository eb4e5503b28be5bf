"""Library sync: the Songs folder on the storage → `Chart` rows.

Walk the Songs folder once (PROPFIND `Depth: infinity`, or level by level), group files by
folder, and keep every folder that holds a song.ini or a chart file. On a storage whose folder
ETags propagate (Nextcloud), a re-sync reads the Songs folder's ETag first and stops there when
it did not move; otherwise it lists the folders directly in Songs and walks only those whose ETag
moved (`discover_changes`), keeping the rows below the others as they are. A folder's signature is a
hash of its listing (names, etags, sizes, dates): only folders whose signature changed since the
last run are downloaded (song.ini and the chart file, nothing else) and parsed, in parallel.
Rows are upserted in batches; rows whose folders vanished are purged (unless `purge=False`).
A walk that fails stops the run before anything is purged. One run at a time (`locks`).
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from songhub import locks, metrics, runs
from songhub.signals import announce_library_change

from . import storage as storage_mod
from .folders import (
    CHART_MAX_BYTES, INI_MAX_BYTES, describe_blobs, describe_folder, is_song_folder, wanted_files,
)
from .models import Chart, ChartSyncRun, FolderEtag

logger = logging.getLogger(__name__)

BATCH = 500
DOWNLOAD_THREADS = 8
WINDOW = 256  # folders downloaded and parsed together (two windows in flight)
PARSE_PROCESSES_FROM = 200  # changed folders from which parsing uses every CPU
UPSERT_FIELDS = ["title", "artist", "album", "genre", "year", "charter", "search_text",
                 "song_length_ms", "chart_length_ms", "preview_start_ms", "diffs",
                 "chart_format", "chart_file", "note_counts", "star_power", "sections",
                 "audio_files", "album_art", "has_audio", "has_video", "has_background", "ini",
                 "ini_other", "files", "issues", "chart_hash", "folder_etag", "synced_at"]
LOCK = "charts-sync"


class SyncFailed(Exception):
    """The run could not read the library at all."""


@dataclass
class SyncReport:
    synced: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    purged: int = 0
    failed: int = 0
    downloads: int = 0
    requests: dict = field(default_factory=dict)  # WebDAV requests by method
    errors: list[dict] = field(default_factory=list)
    fatal: str = ""

    def summary(self) -> dict:
        return {"synced": self.synced, "added": self.added, "updated": self.updated,
                "unchanged": self.unchanged, "purged": self.purged, "failed": self.failed}

    @property
    def exit_code(self) -> int:
        return 2 if self.fatal else (1 if self.failed else 0)


def signature(entries) -> str:
    digest = hashlib.sha1()
    for e in sorted(entries, key=lambda e: e.name):
        digest.update(f"{e.name}\0{e.etag}\0{e.size}\0{e.modified}\n".encode())
    return digest.hexdigest()


def discover(storage, songs_root: str) -> dict[str, list]:
    """folder path → its direct file entries, for every song folder below `songs_root`."""
    return song_folders(storage.walk(songs_root), songs_root)


def song_folders(entries, songs_root: str) -> dict[str, list]:
    by_folder: dict[str, list] = defaultdict(list)
    for entry in entries:
        if not entry.is_dir and not entry.name.endswith((".tmp", ".part")):
            by_folder[entry.parent].append(entry)
    # the Songs folder itself is never a song folder: deleting that "chart" would empty the
    # whole library
    return {path: files for path, files in by_folder.items()
            if path != songs_root and is_song_folder([f.name for f in files])}


@dataclass
class Discovery:
    """What a walk found: song folders in the parts it read, the top-level folders (or the
    Songs folder itself) it skipped because their ETag did not move, and the ETags to record."""

    folders: dict[str, list]
    skipped: set[str] = field(default_factory=set)
    etags: dict[str, str] = field(default_factory=dict)

    def keeps(self, songs_root: str, path: str) -> bool:
        """Whether a known song folder lies in a part of the tree this walk skipped."""
        if songs_root in self.skipped:
            return True
        top = path[len(songs_root) + 1:].split("/", 1)[0]
        return f"{songs_root}/{top}" in self.skipped


# a re-sync walks the changed top-level folders one by one up to this share of them; above it
# (a first sync, a big import) one walk of the whole Songs folder is cheaper
WALK_ALL_FROM = 0.25


def discover_changes(storage, songs_root: str, known: dict[str, str]) -> Discovery:
    """Like `discover`, but reads only what changed since the ETags in `known` were recorded."""
    root = storage.stat(songs_root)
    if root.etag and known.get(songs_root) == root.etag:
        return Discovery({}, skipped={songs_root})
    children = storage.list(songs_root)
    tops = [c for c in children if c.is_dir]
    moved = [c for c in tops if not c.etag or known.get(c.path) != c.etag]
    etags = {c.path: c.etag for c in (root, *tops) if c.etag}
    if len(moved) > max(8, WALK_ALL_FROM * len(tops)):
        return Discovery(discover(storage, songs_root), etags=etags)
    vanished = set()

    def walk(child):
        try:
            return list(storage.walk(child.path))
        except storage_mod.NotFound:
            # deleted or renamed since the listing (or briefly unreadable): keep its rows this
            # time and leave it and Songs unrecorded, so the next sync reads them again
            vanished.add(child.path)
            return []

    with ThreadPoolExecutor(DOWNLOAD_THREADS) as pool:
        entries = [e for walked in pool.map(walk, moved) for e in walked]
    for path in vanished:
        etags.pop(path, None)
        etags.pop(songs_root, None)
    return Discovery(song_folders(entries, songs_root),
                     skipped={c.path for c in tops} - {c.path for c in moved} | vanished,
                     etags=etags)


def record_etags(discovery: Discovery, songs_root: str, unsettled: list[str]) -> None:
    """Keep the ETags of what this sync settled: an unsettled song folder keeps its top-level
    folder (and Songs) unrecorded, so the next sync reads it again."""
    if songs_root in discovery.skipped:
        return
    etags = dict(discovery.etags)
    for path in unsettled:
        etags.pop(songs_root, None)
        etags.pop(f"{songs_root}/{path[len(songs_root) + 1:].split('/', 1)[0]}", None)
    stale = set(FolderEtag.objects.values_list("path", flat=True)) - set(etags)
    with transaction.atomic():
        for chunk in _chunks(sorted(stale), 1000):  # SQLite binds at most 32,766 values
            FolderEtag.objects.filter(path__in=chunk).delete()
        FolderEtag.objects.bulk_create(
            [FolderEtag(path=path, etag=etag) for path, etag in etags.items()],
            update_conflicts=True, unique_fields=["path"], update_fields=["etag"],
            batch_size=BATCH)


def queue(trigger: str, dry_run: bool = False, purge: bool = True) -> ChartSyncRun:
    """A queued run handed to the worker after commit (the API and admin call this)."""
    from .tasks import sync_charts_task

    with transaction.atomic():
        run = ChartSyncRun.objects.create(trigger=trigger, dry_run=dry_run, purge=purge)
        sync_charts_task.delay_on_commit(run.pk)
    return run


def run(trigger: str = "cli", dry_run: bool = False, purge: bool = True,
        progress=None, full: bool = False) -> tuple[ChartSyncRun, SyncReport]:
    """Record a run and execute it now (the command and the beat task call this)."""
    runs.reap_stale(ChartSyncRun)
    record = ChartSyncRun.objects.create(trigger=trigger, dry_run=dry_run, purge=purge,
                                         status=ChartSyncRun.Status.RUNNING,
                                         owner=runs.owner_name())
    return record, execute(record, progress, full)


def claim(run_id: int) -> ChartSyncRun | None:
    runs.reap_stale(ChartSyncRun)  # a redelivered task of a dead worker ends that run
    if not runs.claim(ChartSyncRun, run_id, ChartSyncRun.Status.QUEUED):
        return None
    ChartSyncRun.objects.filter(pk=run_id).update(started_at=timezone.now())
    return ChartSyncRun.objects.get(pk=run_id)


def execute(record: ChartSyncRun, progress=None, full: bool = False) -> SyncReport:
    """Run the sync for a RUNNING record and finish the record, whatever happens. `full` walks
    the whole Songs folder even where folder ETags say nothing changed."""
    report = SyncReport()
    try:
        with runs.heartbeat(record), locks.exclusive(LOCK):
            sync_library(report, dry_run=record.dry_run, purge=record.purge, progress=progress,
                         full=full)
    except locks.Busy as exc:
        report.fatal = str(exc)
    except storage_mod.StorageError as exc:
        report.fatal = f"storage: {exc}"
    except Exception as exc:  # every failure path ends the run with a message
        logger.exception("chart sync #%s crashed", record.pk)
        report.fatal = f"{exc.__class__.__name__}: {exc}"
    status = (ChartSyncRun.Status.FAILED if report.fatal else
              ChartSyncRun.Status.PARTIAL if report.failed else ChartSyncRun.Status.SUCCEEDED)
    ChartSyncRun.objects.filter(pk=record.pk).update(
        status=status, finished_at=timezone.now(), summary=report.summary(),
        errors=report.errors[:200], message=report.fatal)
    if report.added or report.updated or report.purged:
        announce_library_change("charts")
    metrics.record_job("chart_sync", status, (timezone.now() - record.started_at).total_seconds(),
                       report.synced)
    return report


def sync_library(report: SyncReport, dry_run: bool = False, purge: bool = True,
                 progress=None, storage=None, full: bool = False) -> SyncReport:
    storage = storage or storage_mod.get_storage()
    songs_root = storage_mod.folder("songs")
    try:
        if storage.propagates_etags:
            known_etags = {} if full else dict(FolderEtag.objects.values_list("path", "etag"))
            discovery = discover_changes(storage, songs_root, known_etags)
        else:
            discovery = Discovery(discover(storage, songs_root))
    except storage_mod.NotFound:
        if dry_run:
            raise storage_mod.StorageError(f"the songs folder {songs_root!r} does not exist") \
                from None
        storage.mkdir(songs_root)  # a new, empty library
        discovery = Discovery({})
    folders = discovery.folders
    known = dict(Chart.objects.values_list("remote_path", "folder_etag"))
    kept = {path for path in known if path not in folders
            and discovery.skipped and discovery.keeps(songs_root, path)}
    report.synced = len(folders) + len(kept)
    signatures = {path: signature(files) for path, files in folders.items()}
    changed = [p for p in folders if known.get(p) != signatures[p]]
    report.unchanged = report.synced - len(changed)
    if progress:
        progress("read", 0, len(changed))

    def fetch(path):
        """Download what the parser needs (song.ini and the chart file), nothing else."""
        names = [f.name for f in folders[path]]
        sizes = {f.name: f.size for f in folders[path]}
        blobs = {}
        for name in wanted_files(names):
            limit = INI_MAX_BYTES if name.lower() == "song.ini" else CHART_MAX_BYTES
            if sizes.get(name, 0) > limit:
                raise storage_mod.StorageError(f"{name} is larger than {limit} bytes")
            blobs[name] = storage.read_bytes(f"{path}/{name}", max_bytes=limit)
        return names, blobs

    now = timezone.now()
    batch: list[Chart] = []
    done = 0
    with ThreadPoolExecutor(DOWNLOAD_THREADS) as pool, parser_pool(len(changed)) as parsers:
        def start(window):
            return {pool.submit(fetch, path): path for path in window}

        # two windows at a time bound the bytes held in memory; the next window downloads
        # while this one is parsed, so the network and the parsers overlap
        windows = list(_chunks(changed, WINDOW))
        ahead = start(windows[0]) if windows else {}
        for i in range(len(windows)):
            downloads, parsing = ahead, []
            for future in as_completed(downloads):
                path = downloads[future]
                try:
                    names, blobs = future.result()
                except storage_mod.StorageError as exc:
                    report.failed += 1
                    report.errors.append({"folder": path, "message": str(exc)})
                    continue
                report.downloads += len(blobs)
                parsing.append((path, parsers.submit(describe_blobs, names, blobs)))
            ahead = start(windows[i + 1]) if i + 1 < len(windows) else {}
            for path, future in parsing:
                fields = future.result()
                if path in known:
                    report.updated += 1
                else:
                    report.added += 1
                batch.append(Chart(remote_path=path, folder_etag=signatures[path],
                                   synced_at=now, **fields))
                done += 1
                if progress:
                    progress("read", done, len(changed))
            if len(batch) >= BATCH:
                _upsert(batch, dry_run)
                batch = []
    _upsert(batch, dry_run)
    gone = set(known) - set(folders) - kept
    if purge and gone:
        report.purged = len(gone)
        if not dry_run:
            for chunk in _chunks(sorted(gone), 1000):
                Chart.objects.filter(remote_path__in=chunk).delete()
    if not dry_run and (changed or report.purged):
        mark_duplicates()
    if not dry_run and storage.propagates_etags:
        # failed folders, and vanished ones whose rows were kept, must be read again next time
        unsettled = [e["folder"] for e in report.errors] + ([] if purge else sorted(gone))
        record_etags(discovery, songs_root, unsettled)
    report.requests = dict(getattr(storage, "counts", {}))
    return report


@contextmanager
def parser_pool(changed: int):
    """Parsing is CPU-bound: a process per CPU for big syncs (spawned: the parsers import no
    Django), a thread for small ones (no start-up cost)."""
    cpus = os.cpu_count() or 1
    if changed >= PARSE_PROCESSES_FROM and cpus > 1:
        pool = ProcessPoolExecutor(cpus, mp_context=multiprocessing.get_context("spawn"))
    else:
        pool = ThreadPoolExecutor(1)
    with pool:
        yield pool


def _upsert(batch: list[Chart], dry_run: bool) -> None:
    if batch and not dry_run:
        Chart.objects.bulk_create(batch, update_conflicts=True, unique_fields=["remote_path"],
                                  update_fields=UPSERT_FIELDS)


def _chunks(items, size):
    for i in range(0, len(items), size):
        yield items[i:i + size]


def mark_duplicates() -> int:
    """Add `duplicateChart` to every chart whose file hash is in another folder too, and take
    it off the ones that are unique again. Returns how many charts carry it. (Plain Python over
    three columns: SQLite, the embedded default, has no JSON containment lookup.)"""
    rows = list(Chart.objects.values_list("id", "chart_hash", "issues"))
    counts: dict[str, int] = defaultdict(int)
    for _id, chart_hash, _issues in rows:
        if chart_hash:
            counts[chart_hash] += 1
    changes, flagged = [], 0
    for pk, chart_hash, issues in rows:
        duplicate = counts.get(chart_hash, 0) > 1
        flagged += duplicate
        if duplicate != ("duplicateChart" in issues):
            new = sorted({*issues, "duplicateChart"} if duplicate
                         else set(issues) - {"duplicateChart"})
            changes.append(Chart(id=pk, issues=new))
    Chart.objects.bulk_update(changes, ["issues"], batch_size=BATCH)
    return flagged


def refresh_folder(path: str, storage=None) -> Chart | None:
    """Re-read one song folder now (after an edit); None when it is no longer a song folder."""
    storage = storage or storage_mod.get_storage()
    files = [e for e in storage.list(path) if not e.is_dir]
    names = [f.name for f in files]
    if not is_song_folder(names):
        Chart.objects.filter(remote_path=path).delete()
        return None
    info = describe_folder(names, lambda name: storage.read_bytes(
        f"{path}/{name}", max_bytes=INI_MAX_BYTES if name.lower() == "song.ini"
        else CHART_MAX_BYTES))
    chart, _ = Chart.objects.update_or_create(
        remote_path=path, defaults={**info.fields, "folder_etag": signature(files),
                                    "synced_at": timezone.now()})
    mark_duplicates()
    chart.refresh_from_db()
    return chart
