"""Importing Spotify's "extended streaming history" export (my_spotify_data.zip).

`analyze(path, listener)` reads and classifies without writing; `execute(...)` stores what is
new in batches of 1,000, with the export's artist names as provisional artists (see
`local_ids.export_artist_id`) until Spotify's ids replace them. Both run in the worker
(`run_job`); the web request only checks the archive's directory (`export_archive`).

Duplicates against what is already stored are found in three phases, exactly as the seed
defines them, all with sets and 15-minute buckets (linear in the number of plays):

1. exact: a stored play of this listener has the same timestamp (or the export repeats one);
2. near: the same track was stored within 450 s (clock drift between export and API);
3. sequential: the previous or the next play of this export (its track id) is stored within
   the play's own 15-minute bucket or the one on either side (`epoch // 900` ± 1): the
   surrounding session was already recorded by polling. Neighbours are taken from the
   export's plays after filtering, in time order; the first play has no previous one.

songhub used to keep a different phase 3 (same track within 900 s *and* a neighbour that is
itself a phase 1/2 duplicate); it is gone, see docs/listening.md for what each catches.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone as dt_timezone

from django.db import connection, transaction

from songhub import metrics, runs
from songhub.signals import announce_library_change

from . import export_archive
from .export_archive import ImportFileError
from .local_ids import export_artist_id
from .models import Artist, ListeningEvent, Listener, PlayCount, Track

logger = logging.getLogger(__name__)

BATCH = 1000
MIN_MS_PLAYED = 30_000
NEAR_SECONDS = 450
BUCKET_SECONDS = 900

__all__ = ["ImportFileError", "analyze", "execute", "run_job"]


@dataclass(frozen=True)
class Entry:
    played_at: datetime
    track_id: str
    name: str
    artist: str
    album: str


@dataclass
class Analysis:
    total: int = 0
    to_import: int = 0
    duplicates: dict = field(default_factory=lambda: {"exact": 0, "near": 0, "sequential": 0})
    filtered: dict = field(default_factory=lambda: {"short": 0, "incognito": 0, "podcast": 0,
                                                    "malformed": 0})
    per_year: dict = field(default_factory=dict)
    new: list[Entry] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict:
        return {"total_entries": self.total, "to_import": self.to_import,
                "duplicates": self.duplicates, "filtered": self.filtered,
                "per_year": dict(sorted(self.per_year.items()))}


# --- reading -------------------------------------------------------------------------------
def read_export(path) -> Iterator:
    """Every play record in the archive's history files, streamed after the safety checks
    (`export_archive`)."""
    return export_archive.records(path)


def parse(records: Iterable, analysis: Analysis) -> list[Entry]:
    """Filter and convert records (any JSON values: the export is untrusted)."""
    entries = []
    for record in records:
        analysis.total += 1
        if not isinstance(record, dict):
            analysis.filtered["malformed"] += 1
            continue
        uri = record.get("spotify_track_uri")
        uri = uri if isinstance(uri, str) else ""
        if record.get("episode_name") or not uri.startswith("spotify:track:"):
            analysis.filtered["podcast"] += 1
            continue
        if record.get("incognito_mode"):
            analysis.filtered["incognito"] += 1
            continue
        played_at = _timestamp(record.get("ts") or record.get("endTime"))
        ms = record.get("ms_played", record.get("msPlayed"))
        if played_at is None or not isinstance(ms, int) or isinstance(ms, bool) or len(uri) != 36:
            analysis.filtered["malformed"] += 1
            continue
        if ms < MIN_MS_PLAYED:
            analysis.filtered["short"] += 1
            continue
        entries.append(Entry(played_at, uri[14:], _text(record, "master_metadata_track_name", 500),
                             _text(record, "master_metadata_album_artist_name", 300),
                             _text(record, "master_metadata_album_album_name", 500)))
    entries.sort(key=lambda e: e.played_at)
    return entries


def _text(record: dict, key: str, limit: int) -> str:
    value = record.get(key)
    return value[:limit] if isinstance(value, str) else ""


def _timestamp(value) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt_timezone.utc)


# --- duplicates ----------------------------------------------------------------------------
def classify(listener: Listener, entries: list[Entry], analysis: Analysis) -> list[Entry]:
    stored = ListeningEvent.objects.filter(listener=listener).values_list("played_at", "track_id")
    exact: set[float] = set()
    by_track: dict[tuple[str, int], list[float]] = defaultdict(list)  # (track, bucket) -> ts
    by_bucket: dict[int, set[str]] = defaultdict(set)  # bucket -> stored track ids
    for played_at, track_id in stored.iterator(chunk_size=5000):
        ts = played_at.timestamp()
        bucket = int(ts // BUCKET_SECONDS)
        exact.add(ts)
        by_track[(track_id, bucket)].append(ts)
        by_bucket[bucket].add(track_id)

    def near(entry: Entry) -> bool:  # phase 2
        ts = entry.played_at.timestamp()
        bucket = int(ts // BUCKET_SECONDS)
        return any(abs(ts - other) <= NEAR_SECONDS for b in (bucket - 1, bucket, bucket + 1)
                   for other in by_track.get((entry.track_id, b), ()))

    def sequential(i: int) -> bool:  # phase 3, the seed's rule
        neighbours = {entries[j].track_id for j in (i - 1, i + 1) if 0 <= j < len(entries)}
        bucket = int(entries[i].played_at.timestamp() // BUCKET_SECONDS)
        return any(neighbours & by_bucket.get(b, set()) for b in (bucket - 1, bucket, bucket + 1))

    seen: set[float] = set()
    new = []
    for i, entry in enumerate(entries):
        ts = entry.played_at.timestamp()
        if ts in exact or ts in seen:
            kind = "exact"
        elif near(entry):
            kind = "near"
        elif sequential(i):
            kind = "sequential"
        else:
            kind = None
        seen.add(ts)
        if kind:
            analysis.duplicates[kind] += 1
        else:
            new.append(entry)
            year = str(entry.played_at.year)
            analysis.per_year[year] = analysis.per_year.get(year, 0) + 1
    analysis.to_import = len(new)
    analysis.new = new
    return new


def analyze(path, listener: Listener) -> Analysis:
    analysis = Analysis()
    classify(listener, parse(read_export(path), analysis), analysis)
    return analysis


# --- writing -------------------------------------------------------------------------------
def execute(listener: Listener, analysis: Analysis, progress=lambda done, total: None) -> int:
    """Store `analysis.new` in batches: artists, tracks, events, then play counts. A track
    without any artist gets the export's (album) artist name as a provisional artist, so the
    dashboard shows artists at once; the linker swaps in Spotify's artists later."""
    new, stored = analysis.new, 0
    for start in range(0, len(new), BATCH):
        batch = new[start:start + BATCH]
        with transaction.atomic():
            _store_tracks(batch)
            ListeningEvent.objects.bulk_create(
                [ListeningEvent(listener=listener, track_id=e.track_id, played_at=e.played_at)
                 for e in batch], ignore_conflicts=True)
            _add_counts(listener, Counter(e.track_id for e in batch))
        stored += len(batch)
        progress(stored, len(new))
    return stored


def _store_tracks(batch: list[Entry]) -> None:
    names = {e.artist for e in batch if e.artist}
    Artist.objects.bulk_create([Artist(id=export_artist_id(n), name=n) for n in names],
                               ignore_conflicts=True)
    Track.objects.bulk_create([Track(id=e.track_id, name=e.name, album=e.album) for e in batch],
                              ignore_conflicts=True)
    ids = {e.track_id for e in batch}
    linked = set(Track.artists.through.objects.filter(track_id__in=ids)
                 .values_list("track_id", flat=True))
    Track.artists.through.objects.bulk_create(
        [Track.artists.through(track_id=t, artist_id=export_artist_id(a))
         for t, a in {(e.track_id, e.artist) for e in batch if e.artist}
         if t not in linked], ignore_conflicts=True)


def _add_counts(listener: Listener, counts: Counter) -> None:
    """One upsert that adds to existing rows (so a concurrent poll's +1 is not lost) and creates
    the rest: `INSERT … ON CONFLICT DO UPDATE SET count = count + excluded.count` (PostgreSQL
    and SQLite alike). It replaced lock + bulk_update + bulk_create, which cost ~5× more."""
    if not counts:
        return
    table = connection.ops.quote_name(PlayCount._meta.db_table)
    rows = [(listener.pk, track_id, n) for track_id, n in counts.items()]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (listener_id, track_id, count) VALUES "
            + ", ".join(["(%s, %s, %s)"] * len(rows))
            + f" ON CONFLICT (listener_id, track_id) DO UPDATE SET count = {table}.count"
              " + excluded.count",
            [value for row in rows for value in row])


def run_job(job_id: int) -> None:
    """The Celery task's body: claim the job, analyze (and for an import job, store with
    progress), clean up. Every failure ends the job FAILED with a message for the user; the
    upload is deleted whatever happens."""
    from pathlib import Path

    from django.utils import timezone

    from .models import ImportJob

    if not runs.claim(ImportJob, job_id, ImportJob.Status.QUEUED):
        runs.reap_stale(ImportJob)  # a redelivered task of a dead worker ends that job
        return  # someone else has it
    job = ImportJob.objects.select_related("listener").get(pk=job_id)
    started, outcome, items = time.monotonic(), "failed", 0
    try:
        with runs.heartbeat(job):
            analysis = analyze(job.upload_path, job.listener)
            ImportJob.objects.filter(pk=job_id).update(total=analysis.to_import,
                                                       stats=analysis.as_dict())
            if job.kind == ImportJob.Kind.IMPORT:
                execute(job.listener, analysis, lambda done, total:
                        ImportJob.objects.filter(pk=job_id).update(done=done))
        ImportJob.objects.filter(pk=job_id).update(status=ImportJob.Status.DONE,
                                                   finished_at=timezone.now())
        outcome, items = "succeeded", analysis.to_import
        if job.kind == ImportJob.Kind.IMPORT:
            announce_library_change("listening")
    except Exception as exc:  # noqa: BLE001 - every failure must end the job, not only ours
        message = str(exc) if isinstance(exc, ImportFileError) else _unexpected(job_id, exc)
        ImportJob.objects.filter(pk=job_id).update(status=ImportJob.Status.FAILED,
                                                   error=message, finished_at=timezone.now())
    finally:
        Path(job.upload_path).unlink(missing_ok=True)
        metrics.record_job(f"history_{job.kind}", outcome, time.monotonic() - started, items)


def _unexpected(job_id: int, exc: BaseException) -> str:
    logger.exception("import job %s failed", job_id, exc_info=exc)
    if isinstance(exc, RecursionError):
        return "The export is nested too deeply to be a Spotify history file."
    return ("The export could not be read (%s). Nothing more was imported; check that it is "
            "my_spotify_data.zip as Spotify sent it." % type(exc).__name__)
