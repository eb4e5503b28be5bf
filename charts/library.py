"""The chart library's services for views and admin: listing/search, metadata edits, deletes,
status. Views parse and shape; the rules are here."""

from __future__ import annotations

import re

from django.conf import settings
from django.db import connection
from django.db.models import Q

from . import storage as storage_mod, sync
from .formats import ini
from .formats.common import DIFF_KEYS, DIFFICULTIES
from .models import Chart, ChartSyncRun
from .storage.base import NotFound

MAX_LIMIT = 100
MAX_OFFSET = 10**9  # beyond any library; far below PostgreSQL's bigint OFFSET
KEY = re.compile(r"^[a-z0-9_]{1,60}$")
CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # a tab is text; NUL cannot be stored


class LibraryError(ValueError):
    def __init__(self, code: str, message: str, status: int = 400, details: dict | None = None):
        super().__init__(message)
        self.code, self.status, self.details = code, status, details


def _int_param(raw, name, default):
    try:
        return default if raw in (None, "") else int(raw)
    except (TypeError, ValueError):
        raise LibraryError("bad_paging", f"{name} must be a whole number.") from None


def search(q: str = "", instrument: str = "", difficulty: str = "", issue: str = "",
           limit=None, offset=None) -> tuple[int, list[Chart]]:
    """(count of all matches, one page). Trigram similarity on PostgreSQL, LIKE elsewhere."""
    limit, offset = _int_param(limit, "limit", 24), _int_param(offset, "offset", 0)
    if limit < 1 or not 0 <= offset <= MAX_OFFSET:
        raise LibraryError("bad_paging", f"limit must be at least 1 and offset from 0 to "
                                         f"{MAX_OFFSET}.")
    if "\x00" in f"{q}{issue}":  # PostgreSQL text cannot hold it
        raise LibraryError("bad_query", "q and issue cannot contain a NUL character.")
    limit = min(limit, MAX_LIMIT)
    qs = Chart.objects.all()
    if instrument:
        if instrument not in DIFF_KEYS:
            raise LibraryError("bad_instrument", f"instrument must be one of "
                                                 f"{', '.join(DIFF_KEYS)}.")
        if difficulty:
            if difficulty not in DIFFICULTIES:
                raise LibraryError("bad_difficulty", "difficulty must be one of "
                                                     f"{', '.join(DIFFICULTIES)}.")
            qs = qs.filter(**{f"note_counts__{instrument}__{difficulty}__gt": 0})
        else:
            qs = qs.filter(note_counts__has_key=instrument)
    elif difficulty:
        raise LibraryError("bad_difficulty", "difficulty needs an instrument.")
    if issue:
        qs = qs.filter(issues__icontains=f'"{issue}"')
    query = (q or "").strip()[:200]
    if query and connection.vendor == "postgresql":
        from django.contrib.postgres.search import TrigramWordSimilarity

        qs = qs.annotate(score=TrigramWordSimilarity(query, "search_text")).filter(
            Q(search_text__icontains=query) | Q(score__gte=settings.SEARCH_SIMILARITY_THRESHOLD)
        ).order_by("-score", "artist", "title", "id")
    elif query:
        qs = qs.filter(search_text__icontains=query)
    return qs.count(), list(qs[offset:offset + limit])


def as_json(chart: Chart, full: bool = False) -> dict:
    body = {"id": chart.pk, "title": ini.strip_tags(chart.title),
            "artist": ini.strip_tags(chart.artist), "album": ini.strip_tags(chart.album),
            "genre": chart.genre, "year": chart.year, "charter": ini.strip_tags(chart.charter),
            "song_length_ms": chart.song_length_ms, "chart_format": chart.chart_format,
            "instruments": sorted(chart.note_counts), "issues": chart.issues,
            "remote_path": chart.remote_path,
            "album_art_url": f"/api/charts/{chart.pk}/files/{chart.album_art}"
            if chart.album_art else None}
    if full:
        body.update({"raw": {"title": chart.title, "artist": chart.artist,
                             "charter": chart.charter},
                     "preview_start_ms": chart.preview_start_ms,
                     "chart_length_ms": chart.chart_length_ms, "diffs": chart.diffs,
                     "note_counts": chart.note_counts, "star_power": chart.star_power,
                     "sections": chart.sections, "files": chart.files,
                     "audio_files": chart.audio_files, "has_video": chart.has_video,
                     "has_background": chart.has_background, "ini": chart.ini,
                     "ini_other": chart.ini_other, "synced_at": chart.synced_at.isoformat()})
    return body


def clean_fields(data) -> dict[str, str | None]:
    """song.ini edits from a JSON object or a form: key → new raw value (None removes it).
    Raises LibraryError with per-field messages."""
    if not isinstance(data, dict) or not data:
        raise LibraryError("bad_fields", "Send the song.ini fields to change as an object.")
    errors, cleaned = {}, {}
    for key, value in data.items():
        key_l = str(key).strip().lower()
        if not KEY.match(key_l):
            errors[str(key)] = "Keys are lower-case letters, digits and underscores."
            continue
        if value is None or (isinstance(value, str) and value.strip() == ""):
            if key_l in ("name", "artist"):
                errors[key_l] = "This field is required."
            else:
                cleaned[key_l] = None
            continue
        if isinstance(value, bool):
            value = "True" if value else "False"
        text = str(value).strip()
        if CONTROL.search(text) or len(text) > 500:
            errors[key_l] = "One line of at most 500 characters, no control characters."
        elif (key_l in ini.INT_FIELDS or key_l.startswith("diff_")) and \
                not re.fullmatch(r"-?\d{1,10}", text):
            errors[key_l] = "A whole number."
        elif key_l.startswith("diff_") and not -1 <= int(text) <= 6:
            errors[key_l] = "From -1 (no part) to 6."
        elif key_l in ini.INT_FIELDS and key_l != "delay" and int(text) < 0:
            errors[key_l] = "Zero or more."
        elif key_l in ini.BOOL_FIELDS and text.lower() not in ("true", "false", "1", "0"):
            errors[key_l] = "True or False."
        else:
            cleaned[key_l] = text
    if errors:
        raise LibraryError("invalid", "Some fields are not valid.", 400, errors)
    return cleaned


def update_metadata(chart: Chart, changes: dict[str, str | None]) -> Chart:
    """Rewrite song.ini on the storage (NAME.tmp then MOVE), then the row from the folder."""
    store = storage_mod.get_storage()
    path = f"{chart.remote_path}/song.ini"
    existing = next((n for n in chart.files if n.lower() == "song.ini"), None)
    if existing:
        path = f"{chart.remote_path}/{existing}"
        doc = ini.parse(store.read_bytes(path, max_bytes=2**20))
    else:
        doc = ini.parse(b"[song]\r\n")
    for key, value in changes.items():
        if value is None:
            doc.remove(key)
        else:
            doc.set(key, value)
    store.write_atomic(path, doc.render())
    return sync.refresh_folder(chart.remote_path, store) or chart


def delete_chart(chart: Chart) -> None:
    """The folder on the storage, then the row (a missing folder still removes the row)."""
    if protected(chart.remote_path):
        raise LibraryError("protected", "This chart points at a main storage folder; it "
                                        "cannot be deleted from here.")
    try:
        storage_mod.get_storage().delete(chart.remote_path)
    except NotFound:
        pass
    chart.delete()


def protected(path: str) -> bool:
    """The storage root and the configured top-level folders cannot be deleted."""
    rel = storage_mod.confine(path)
    return rel == "" or rel in {storage_mod.folder(k) for k in storage_mod.DEFAULT_FOLDERS}


def delete_path(path: str) -> int:
    """Delete a file or folder from the storage browser; rows under it go too."""
    rel = storage_mod.confine(path)
    if protected(rel):
        raise LibraryError("protected", "The storage root and its main folders cannot be "
                                        "deleted.", 400)
    storage_mod.get_storage().delete(rel)
    deleted, _ = Chart.objects.filter(Q(remote_path=rel) | Q(remote_path__startswith=rel + "/")
                                      ).delete()
    return deleted


def status() -> dict:
    last = ChartSyncRun.objects.exclude(status=ChartSyncRun.Status.QUEUED).first()
    store = storage_mod.get_storage(timeout=2.0, attempts=1)
    return {
        "charts": Chart.objects.count(),
        "with_issues": Chart.objects.exclude(issues=[]).count(),
        "last_sync": None if last is None else {
            "id": last.pk, "status": last.status, "started_at": last.started_at.isoformat(),
            "finished_at": last.finished_at.isoformat() if last.finished_at else None,
            "summary": last.summary, "message": last.message},
        "storage": {**store.describe(), "status": storage_mod.check(store)},
    }


def issue_counts() -> dict[str, int]:
    counts: dict[str, int] = {}
    for issues in Chart.objects.exclude(issues=[]).values_list("issues", flat=True):
        for code in issues:
            counts[code] = counts.get(code, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
