"""The ingestion pipeline: sync sources, render what changed, upsert, write the song index.

`run_sync(options)` is the one entry point for the management command, the Celery task and the
admin. Steps, in order, each safe to interrupt:

1. list the source (one GitHub tree request) and compare blob SHAs with songs_metadata.json;
2. download new/changed files (10 at a time) into the songs folder, and
3. parse + render changed songs in a process pool (assets swapped in atomically), each as soon
   as its file has arrived, so rendering overlaps the downloads;
4. one transaction: delete pruned rows, bulk upsert changed rows;
5. save songs_metadata.json, delete pruned files, write songs_list.json.gz.

What a sync may remove (the prune rules, documented in docs/song-library.md):

* a source with no ChordPro files is an error: nothing is imported and nothing is removed;
* only songs that came from the *same* source are candidates ("orphans"): a GitHub sync owns
  the songs of its repository, a folder import the songs of that folder, and `local` (the songs
  folder itself, `--no-sync`) every song, since a file deleted there is gone for good;
* `prune` (default: on for github and local, off for a folder) removes those orphans; without
  it they are kept and counted in `report.kept`;
* a prune of more than half the library is refused unless `confirm_mass_prune` is set.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from songhub import locks, metrics, runs
from songhub.signals import announce_library_change

from . import search_infra, songlist
from .models import Song, SyncRun
from .processing import assets_current, process_song
from .sources import MAX_DOWNLOADS, DirectorySource, GitHubSource, Listing, RemoteFile, SourceError
from .store import CHORDPRO_EXTENSIONS, SongStore, atomic_write

logger = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]  # (stage, done, total)
UPSERT_FIELDS = [
    "title", "title_from_filename", "subtitle", "artist", "key", "tempo", "time_signature",
    "capo", "genre", "language", "filename", "source_sha", "page_count", "pdf_etag",
    "image_etag", "lyrics", "metadata", "warnings", "warning_count", "updated_at",
]
LOCK_NAME = "song-sync"  # one ingestion run per database
BULK_CHANGE_ROWS = 500  # from this many changed rows on, refresh search index statistics


@dataclass
class SyncOptions:
    source: str = "github"  # github | dir | local
    source_dir: str = ""
    repo: str = ""
    ref: str = ""
    regen_assets: bool = False
    sync_only: bool = False
    reset_songs: bool = False
    concurrency: int = 0  # 0: one process per CPU
    only_ids: list[int] | None = None  # re-render these songs, nothing else
    prune: bool | None = None  # remove this source's songs it no longer has; None: source default
    confirm_mass_prune: bool = False  # allow a prune of more than half the library

    def prunes(self) -> bool:
        """A repository sync mirrors the repo it owns; a folder import only adds and updates."""
        return self.prune if self.prune is not None else self.source in ("github", "local")

    def source_key(self) -> str | None:
        """Which songs this source owns, as recorded in the store; None: every song (local)."""
        if self.source == "local":
            return None
        if self.source == "dir":
            return f"dir:{Path(self.source_dir).resolve()}"
        return f"github:{self.repo or settings.SONGS_REPO}"


class PruneRefused(Exception):
    """A prune would remove more than half the library and was not confirmed."""


@dataclass
class SyncReport:
    total: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    kept: int = 0  # songs of this source it no longer has, kept because the run did not prune
    failed: int = 0
    downloads: int = 0
    rendered: int = 0
    requests: int = 0
    errors: list[dict] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)  # {"file", "warnings": [str]} per song
    fatal: str = ""

    @property
    def exit_code(self) -> int:
        return 2 if self.fatal else (1 if self.failed else 0)

    def summary(self) -> str:
        if self.fatal:
            return f"FAILED: {self.fatal}"
        return (f"{self.total} songs: {self.added} added, {self.updated} updated, "
                f"{self.unchanged} unchanged, {self.removed} removed, {self.failed} failed; "
                f"{self.downloads} downloaded, {self.rendered} rendered, "
                f"{len(self.skipped)} skipped, {self.requests} source requests"
                + (f"; {sum(len(w['warnings']) for w in self.warnings)} warnings in "
                   f"{len(self.warnings)} files" if self.warnings else "")
                + (f"; {self.kept} songs no longer in the source kept (--prune removes them)"
                   if self.kept else ""))


def build_source(options: SyncOptions, store: SongStore):
    if options.source == "local":
        return DirectorySource(store.songs_dir, settings.SONG_MAX_BYTES, in_place=True)
    if options.source == "dir":
        return DirectorySource(Path(options.source_dir), settings.SONG_MAX_BYTES)
    return GitHubSource(
        settings.GITHUB_API_URL, options.repo or settings.SONGS_REPO,
        options.ref or settings.SONGS_REF, settings.GITHUB_TOKEN,
        timeout=settings.GITHUB_TIMEOUT_SECONDS,
        max_rate_limit_wait=settings.GITHUB_MAX_RATE_LIMIT_WAIT_SECONDS,
        max_bytes=settings.SONG_MAX_BYTES,
    )


def run_sync(options: SyncOptions, run: SyncRun | None = None,
             progress: Progress | None = None,
             notify: Callable[[str], None] | None = None) -> SyncReport:
    """Run the pipeline and record it on `run` (created when not given).

    `notify` receives human-readable notices (e.g. how many songs a prune removes) before the
    pipeline acts on them; they are logged as well."""
    progress = progress or (lambda stage, done, total: None)
    runs.reap_stale(SyncRun)  # a run whose owner died must not look like it is still going
    notify = notify or (lambda message: None)
    if run is None:
        run = SyncRun.objects.create(status=SyncRun.Status.RUNNING, options=asdict(options))
    report = SyncReport()
    store = SongStore(settings.SONG_DATA_DIR)
    try:
        with runs.heartbeat(run), locks.exclusive(LOCK_NAME):
            store.load()
            source = build_source(options, store)
            SyncRun.objects.filter(pk=run.pk).update(source=source.describe()[:300])
            _run(options, store, source, report, progress, notify)
    except (SourceError, locks.Busy, PruneRefused) as exc:
        report.fatal = str(exc)
        logger.error("song sync failed: %s", exc)
    except Exception as exc:  # recorded on the run, never left "running"
        report.fatal = f"{exc.__class__.__name__}: {exc}"
        logger.exception("song sync crashed")
    _finish(run, report)
    return report


def _run(options, store: SongStore, source, report: SyncReport, progress: Progress,
         notify: Callable[[str], None]) -> None:
    if options.reset_songs:
        deleted, _ = Song.objects.all().delete()
        logger.info("reset: deleted %d songs", deleted)
    rows = {pk: (sha, name) for pk, sha, name in Song.objects.values_list("id", "source_sha", "filename")}
    if options.only_ids is not None:
        listing = Listing({p: RemoteFile(p, e.sha, 0) for p, e in store.entries.items()
                           if e.id in set(options.only_ids)}, [])
        orphans, orphan_ids = [], set()
    else:
        progress("list", 0, 1)
        listing = source.list_files()
        report.skipped.extend(listing.skipped)
        if not listing.files:
            raise SourceError(f"{source.describe()} has no ChordPro files "
                              f"({', '.join(CHORDPRO_EXTENSIONS)}); nothing imported, nothing removed")
        orphans, orphan_ids = _prune_plan(options, store, listing, rows, report, notify)
    report.total = len(listing.files)

    downloading = options.only_ids is None and not source.in_place
    wanted = _to_download(store, listing) if downloading else []
    pending = {file.path for file in wanted}
    for path, file in listing.files.items():
        if path not in pending:
            store.assign(path, file.sha)
    ready = _plan(options, store, sorted(p for p in listing.files if p not in pending), rows)
    expected = sum(job["render"] for job in ready) + (0 if options.sync_only else len(wanted))
    # started before the downloads: each file is rendered as soon as it has arrived
    with Renderer(options.concurrency, expected, len(ready) + len(wanted), progress) as renderer:
        renderer.submit(ready)
        if wanted:
            _download(source, store, listing, wanted, report, progress,
                      arrived=lambda path: renderer.submit(_plan(options, store, [path], rows)))
        results = renderer.results()
    key = options.source_key()
    for path in listing.files if key is not None else ():
        store.entries[path].source = key
    report.requests = source.requests_made

    _upsert(results, rows, orphan_ids, report)
    for path in orphans:
        store.remove(path)
    store.save()
    report.unchanged = report.total - len(results)
    write_song_index(store)


def _prune_plan(options: SyncOptions, store: SongStore, listing: Listing, rows: dict,
                report: SyncReport, notify: Callable[[str], None]) -> tuple[list[str], set[int]]:
    """The paths and row IDs this run removes; refuses a mass prune before anything changes."""
    key = options.source_key()
    missing = [p for p, e in store.entries.items()
               if p not in listing.files and (key is None or e.source == key)]
    ids = {store.entries[p].id for p in missing}
    if key is None:  # the songs folder is the whole library: rows without a file are orphans too
        known = {e.id for e in store.entries.values()}
        ids |= {pk for pk in rows if pk not in known}
    if not ids:
        return [], set()
    if not options.prunes():
        report.kept = len(ids)
        notify(f"{len(ids)} songs from this source are no longer in it; kept "
               "(--prune removes them).")
        return [], set()
    library = len({e.id for e in store.entries.values()} | set(rows))  # rows or files
    if 2 * len(ids) > library and not options.confirm_mass_prune:
        raise PruneRefused(
            f"pruning would remove {len(ids)} of {library} songs (more than half the library); "
            "nothing changed. Check the source, or confirm with `retrieve_songs --prune --yes`.")
    message = f"Removing {len(ids)} of {library} songs no longer in the source."
    logger.info("%s", message)
    notify(message)
    return missing, ids


def _to_download(store: SongStore, listing: Listing) -> list[RemoteFile]:
    """Files whose SHA differs from the stored one (or whose copy is gone), in path order."""
    return sorted((file for path, file in listing.files.items()
                   if (entry := store.entries.get(path)) is None or entry.sha != file.sha
                   or not store.source_path(path).exists()), key=lambda f: f.path)


def _download(source, store: SongStore, listing: Listing, wanted: list[RemoteFile],
              report: SyncReport, progress: Progress, arrived: Callable[[str], None]) -> None:
    """Fetch `wanted`, at most MAX_DOWNLOADS at a time; `arrived(path)` for each file saved."""
    for file in wanted:  # new IDs in path order, not arrival order
        store.reserve(file.path)
    progress("download", 0, len(wanted))
    with ThreadPoolExecutor(max_workers=MAX_DOWNLOADS, thread_name_prefix="download") as pool:
        futures = {pool.submit(source.fetch, file): file for file in wanted}
        for done, future in enumerate(as_completed(futures), start=1):
            file = futures[future]
            progress("download", done, len(wanted))
            try:
                data = future.result()
            except SourceError:
                for other in futures:
                    other.cancel()
                raise
            except Exception as exc:
                report.errors.append({"file": file.path, "message": f"download failed: {exc}"})
                report.failed += 1
                del listing.files[file.path]
                continue
            if b"\x00" in data or len(data) > source.max_bytes:
                report.skipped.append({"path": file.path, "reason": "binary or oversized content"})
                del listing.files[file.path]
                continue
            atomic_write(store.source_path(file.path), data)
            store.assign(file.path, file.sha)
            report.downloads += 1
            arrived(file.path)
    report.total = len(listing.files)


def _plan(options, store: SongStore, paths: list[str], rows: dict) -> list[dict]:
    jobs = []
    for path in paths:
        entry = store.entries[path]
        row = rows.get(entry.id)
        current = assets_current(store, entry.id, entry.sha)
        render = not options.sync_only and (options.regen_assets or current is None)
        row_stale = row is None or row != (entry.sha, path)
        if render or row_stale or options.only_ids is not None:
            jobs.append({
                "id": entry.id, "path": path, "sha": entry.sha, "render": render,
                "data_dir": str(store.root), "chordpro_path": settings.CHORDPRO_PATH,
                "chordpro_timeout": settings.CHORDPRO_TIMEOUT_SECONDS,
            })
    return jobs


class Renderer:
    """Parses and renders songs as they become ready. Rendering is CPU-bound: with more than
    a couple of renders expected it runs in a process pool, one process per core, started
    before the downloads so that songs render while the rest arrive; otherwise in this process
    (a one-file re-sync should not pay for starting the pool)."""

    def __init__(self, concurrency: int, expected_renders: int, expected_jobs: int,
                 progress: Progress):
        self.workers = min(concurrency or os.cpu_count() or 1, max(expected_jobs, 1))
        self.use_pool = self.workers > 1 and expected_renders > 2
        self.progress, self.total = progress, expected_jobs
        self.pool: ProcessPoolExecutor | None = None
        self.futures, self.inline = [], []

    def __enter__(self) -> Renderer:
        if self.use_pool:
            self.allowed = _children_allowed()
            self.allowed.__enter__()
            # forkserver: safe from a threaded parent (Celery worker, heartbeat thread)
            self.pool = ProcessPoolExecutor(max_workers=self.workers,
                                            mp_context=multiprocessing.get_context("forkserver"))
        self.progress("render", 0, self.total)
        return self

    def __exit__(self, *exc_info) -> None:
        if self.pool is None:
            return
        try:  # on an error, what has not started yet never will
            self.pool.shutdown(wait=True, cancel_futures=exc_info[0] is not None)
        finally:
            self.allowed.__exit__(*exc_info)

    def submit(self, jobs: list[dict]) -> None:
        if self.pool is None:
            self.inline.extend(jobs)
        else:
            self.futures.extend(self.pool.submit(process_song, job) for job in jobs)

    def results(self) -> list[dict]:
        """Every submitted job's result, once all are done."""
        total = len(self.futures) + len(self.inline)  # files that failed to download are not in it
        results = []
        for future in as_completed(self.futures):
            results.append(future.result())
            self.progress("render", len(results), total)
        for job in self.inline:
            results.append(process_song(job))
            self.progress("render", len(results), total)
        return results


@contextmanager
def _children_allowed():
    """Let a Celery prefork child start our render pool.

    Billiard flags its children daemonic (multiprocessing refuses children to daemons so that
    none are orphaned; our pool is joined before this block ends) and gives them an authkey
    type multiprocessing cannot send to the forkserver. Both are patched for the block only."""
    config = multiprocessing.current_process()._config
    daemon, authkey = config.get("daemon"), config.get("authkey")
    config["daemon"] = False
    if type(authkey) is not multiprocessing.process.AuthenticationString:
        config["authkey"] = multiprocessing.process.AuthenticationString(
            bytes(authkey or os.urandom(32)))
    try:
        yield
    finally:
        if daemon is not None:
            config["daemon"] = daemon
        if authkey is not None:
            config["authkey"] = authkey


def _upsert(results: list[dict], rows: dict, orphan_ids: set[int], report: SyncReport) -> None:
    now = timezone.now()
    songs = []
    for result in results:
        if "error" in result:
            report.failed += 1
            report.errors.append({"file": result["path"], "message": result["error"]})
            logger.warning("song %s failed: %s", result["path"], result["error"])
            continue
        fields = result["fields"]
        if fields["warnings"]:
            report.warnings.append({"file": result["path"], "warnings": fields["warnings"]})
        songs.append(Song(
            id=result["id"], filename=result["path"], source_sha=result["sha"],
            page_count=result["page_count"], pdf_etag=result["pdf_etag"],
            image_etag=result["image_etag"], warning_count=len(fields["warnings"]),
            created_at=now, updated_at=now, **fields,
        ))
        report.rendered += result["rendered"]
        if result["id"] in rows:
            report.updated += 1
        else:
            report.added += 1
    ids = {song.id for song in songs}
    # a row whose file moved to another ID would collide on the unique filename: drop it first
    names = {song.filename for song in songs}
    clashing = {pk for pk, (_, name) in rows.items() if pk not in ids and name in names}
    with transaction.atomic():
        doomed = sorted((orphan_ids | clashing) - ids)
        for start in range(0, len(doomed), 500):
            Song.objects.filter(id__in=doomed[start:start + 500]).delete()
        Song.objects.bulk_create(
            songs, batch_size=500, update_conflicts=True, unique_fields=["id"],
            update_fields=UPSERT_FIELDS,
        )
    report.removed = len(orphan_ids - ids)
    if len(songs) + report.removed >= BULK_CHANGE_ROWS:
        search_infra.refresh_after_bulk_change()


def write_song_index(store: SongStore) -> None:
    rows = Song.objects.order_by().values_list("id", "filename", "title")
    songlist.write_index(store.index_path, rows.iterator(chunk_size=2000))


def _finish(run: SyncRun, report: SyncReport) -> None:
    from .health import library_health

    status = SyncRun.Status.FAILED if report.fatal else (
        SyncRun.Status.PARTIAL if report.failed else SyncRun.Status.SUCCEEDED)
    SyncRun.objects.filter(pk=run.pk).update(
        status=status, finished_at=timezone.now(), total=report.total, added=report.added,
        updated=report.updated, unchanged=report.unchanged, removed=report.removed,
        failed=report.failed, downloads=report.downloads, rendered=report.rendered,
        errors=report.errors[:500], message=report.summary()[:2000],
        report=library_health(report.skipped, report.errors),
    )
    logger.info("song sync #%s %s: %s", run.pk, status, report.summary())
    if report.added or report.updated or report.removed:
        announce_library_change("ingestion")
    metrics.record_job("song_sync", status, (timezone.now() - run.started_at).total_seconds(),
                       report.total)
