"""Importing Spotify's "extended streaming history" export (my_spotify_data.zip).

`analyze(path, listener)` reads and classifies without writing; `execute(...)` stores what is
new in batches of 1,000. Duplicates against what is already stored are found in three phases,
all with sets and time buckets (linear in the number of plays):

1. exact: a stored play of this listener has the same timestamp;
2. near: the same track was stored within 450 s (clock drift between export and API);
3. sequential: the same track was stored within 900 s *and* the previous or next imported
   play is itself a duplicate (the surrounding session was already recorded).

Hostile archives are refused before anything is written: not a ZIP, member paths with `..`
or absolute, more than IMPORT_MAX_UNCOMPRESSED_BYTES in all, or a member over 10 MiB compressed
more than IMPORT_MAX_RATIO times (zip bombs).
"""

from __future__ import annotations

import json
import re
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone as dt_timezone
from pathlib import PurePosixPath

from django.conf import settings
from django.db import transaction

from .models import ListeningEvent, Listener, PlayCount, Track

BATCH = 1000
MIN_MS_PLAYED = 30_000
NEAR_SECONDS = 450
SEQUENTIAL_SECONDS = 900
RATIO_CHECK_FROM_BYTES = 10 * 2**20  # small members cannot hurt, whatever their ratio
_MEMBER = re.compile(r"(Streaming_History_Audio_.*|StreamingHistory.*|endsong_.*)\.json$",
                     re.IGNORECASE)


class ImportFileError(ValueError):
    """The upload cannot be imported; the message says why. Nothing was written."""


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
def read_export(path) -> list:
    """Every play record in the archive's history files, after the safety checks."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        raise ImportFileError("This is not a ZIP file. Upload my_spotify_data.zip as Spotify "
                              "sent it.") from None
    with archive:
        members = [info for info in archive.infolist() if not info.is_dir()]
        total = 0
        for info in members:
            name = info.filename.replace("\\", "/")
            if name.startswith("/") or ".." in PurePosixPath(name).parts:
                raise ImportFileError(f"The archive contains an unsafe path: {info.filename!r}.")
            total += info.file_size
            if (info.file_size > RATIO_CHECK_FROM_BYTES and info.compress_size
                    and info.file_size / info.compress_size > settings.IMPORT_MAX_RATIO):
                raise ImportFileError(f"{info.filename} is compressed suspiciously well "
                                      "(a zip bomb?); refusing it.")
        if total > settings.IMPORT_MAX_UNCOMPRESSED_BYTES:
            raise ImportFileError("The archive unpacks to more than "
                                  f"{settings.IMPORT_MAX_UNCOMPRESSED_BYTES // 2**20} MiB.")
        history = [m for m in members if _MEMBER.search(PurePosixPath(m.filename).name)]
        if not history:
            raise ImportFileError("No streaming history files (Streaming_History_Audio_*.json) "
                                  "in this archive.")
        records: list = []
        for info in history:
            with archive.open(info) as handle:
                data = handle.read(info.file_size + 1)
            if len(data) > info.file_size:  # a lying header: stop, whatever it claims
                raise ImportFileError(f"{info.filename} is larger than its header says.")
            try:
                body = json.loads(data)
            except (ValueError, UnicodeDecodeError):
                raise ImportFileError(f"{info.filename} is not valid JSON.") from None
            if not isinstance(body, list):
                raise ImportFileError(f"{info.filename} should hold a list of plays.")
            records.extend(body)
        return records


def parse(records: list, analysis: Analysis) -> list[Entry]:
    entries = []
    for record in records:
        analysis.total += 1
        if not isinstance(record, dict):
            analysis.filtered["malformed"] += 1
            continue
        uri = record.get("spotify_track_uri") or ""
        if record.get("episode_name") or not uri.startswith("spotify:track:"):
            analysis.filtered["podcast"] += 1
            continue
        if record.get("incognito_mode"):
            analysis.filtered["incognito"] += 1
            continue
        played_at = _timestamp(record.get("ts") or record.get("endTime"))
        ms = record.get("ms_played", record.get("msPlayed"))
        if played_at is None or not isinstance(ms, int) or len(uri) != 36:
            analysis.filtered["malformed"] += 1
            continue
        if ms < MIN_MS_PLAYED:
            analysis.filtered["short"] += 1
            continue
        entries.append(Entry(played_at, uri[14:],
                             str(record.get("master_metadata_track_name") or "")[:500],
                             str(record.get("master_metadata_album_artist_name") or "")[:300],
                             str(record.get("master_metadata_album_album_name") or "")[:500]))
    entries.sort(key=lambda e: e.played_at)
    return entries


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
    by_track: dict[tuple[str, int], list[float]] = defaultdict(list)
    for played_at, track_id in stored.iterator(chunk_size=5000):
        ts = played_at.timestamp()
        exact.add(ts)
        by_track[(track_id, int(ts // SEQUENTIAL_SECONDS))].append(ts)

    def stored_near(entry: Entry, seconds: int) -> bool:
        ts = entry.played_at.timestamp()
        bucket = int(ts // SEQUENTIAL_SECONDS)
        return any(abs(ts - other) <= seconds for b in (bucket - 1, bucket, bucket + 1)
                   for other in by_track.get((entry.track_id, b), ()))

    verdict: list[str | None] = []
    seen: set[float] = set()
    for entry in entries:
        ts = entry.played_at.timestamp()
        if ts in exact or ts in seen:
            verdict.append("exact")
        elif stored_near(entry, NEAR_SECONDS):
            verdict.append("near")
        else:
            verdict.append(None)
        seen.add(ts)
    for i, entry in enumerate(entries):
        if verdict[i] is None and stored_near(entry, SEQUENTIAL_SECONDS):
            neighbours = (verdict[i - 1] if i else None,
                          verdict[i + 1] if i + 1 < len(entries) else None)
            if any(v in ("exact", "near") for v in neighbours):
                verdict[i] = "sequential"
    new = []
    for entry, kind in zip(entries, verdict):
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
    """Store `analysis.new` in batches: tracks, events, then play counts. Artists come later
    from the artist linker (the export names them but has no artist ids)."""
    new, stored = analysis.new, 0
    for start in range(0, len(new), BATCH):
        batch = new[start:start + BATCH]
        with transaction.atomic():
            Track.objects.bulk_create(
                [Track(id=e.track_id, name=e.name, album=e.album) for e in batch],
                ignore_conflicts=True)
            ListeningEvent.objects.bulk_create(
                [ListeningEvent(listener=listener, track_id=e.track_id, played_at=e.played_at)
                 for e in batch], ignore_conflicts=True)
            _add_counts(listener, Counter(e.track_id for e in batch))
        stored += len(batch)
        progress(stored, len(new))
    return stored


def _add_counts(listener: Listener, counts: Counter) -> None:
    """Bulk: lock and bump the existing rows (so a concurrent poll's +1 is not lost), create
    the rest."""
    rows = list(PlayCount.objects.select_for_update()
                .filter(listener=listener, track_id__in=list(counts)))
    for row in rows:
        row.count += counts[row.track_id]
    PlayCount.objects.bulk_update(rows, ["count"], batch_size=BATCH)
    have = {row.track_id for row in rows}
    PlayCount.objects.bulk_create([PlayCount(listener=listener, track_id=t, count=n)
                                   for t, n in counts.items() if t not in have])


def run_job(job_id: int) -> None:
    """The Celery task's body: claim the job, analyze, import with progress, clean up."""
    from pathlib import Path

    from django.utils import timezone

    from .models import ImportJob

    if not ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.QUEUED).update(
            status=ImportJob.Status.RUNNING):
        return  # someone else has it
    job = ImportJob.objects.select_related("listener").get(pk=job_id)
    try:
        analysis = analyze(job.upload_path, job.listener)
        ImportJob.objects.filter(pk=job_id).update(total=analysis.to_import,
                                                   stats=analysis.as_dict())
        execute(job.listener, analysis,
                lambda done, total: ImportJob.objects.filter(pk=job_id).update(done=done))
        ImportJob.objects.filter(pk=job_id).update(status=ImportJob.Status.DONE,
                                                   finished_at=timezone.now())
    except ImportFileError as exc:
        ImportJob.objects.filter(pk=job_id).update(status=ImportJob.Status.FAILED,
                                                   error=str(exc), finished_at=timezone.now())
    finally:
        Path(job.upload_path).unlink(missing_ok=True)
