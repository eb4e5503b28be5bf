"""Chart library JSON operations (ninja router, mounted by songhub.api). Reads need a login
(session or API token), writes need staff. Errors are `{"error": {"code", "message"}}`; the work
is in `library`, `sync`, `importer`, `generation` and the storage. Uploads read the multipart
body themselves (declared in the schema by hand), so an oversized one is refused from its
Content-Length before a byte is read."""

from __future__ import annotations

import re
import shutil
import uuid
from pathlib import Path as FilePath

from django.conf import settings
from django.http import StreamingHttpResponse
import json

from ninja import Body, Path, Router, Schema, Status
from pydantic import ValidationError as PydanticError

from songhub.api import LOGGED_IN, Error, api, json_body
from songhub.http import json_error

from . import generation, generator, importer, library, storage as storage_mod, sync
from .models import Chart, ChartImportJob
from .storage.base import StorageError

router = Router(tags=["charts"], auth=LOGGED_IN)

CONTENT_TYPES = {".ogg": "audio/ogg", ".opus": "audio/ogg", ".mp3": "audio/mpeg",
                 ".wav": "audio/wav", ".png": "image/png", ".jpg": "image/jpeg",
                 ".jpeg": "image/jpeg", ".ini": "text/plain; charset=utf-8",
                 ".chart": "text/plain; charset=utf-8", ".mid": "audio/midi",
                 ".mp4": "video/mp4", ".webm": "video/webm"}
ARCHIVE_SUFFIXES = (".zip", ".7z", ".rar")
GENERATE_FIELDS = ("title", "artist", "album", "genre", "year")
ID = Path(..., ge=0, le=2**31 - 1)
READ = {401: Error}
# 409: the storage holds a file where a folder is wanted, or the reverse, or a move target
WRITE = {400: Error, 401: Error, 403: Error, 404: Error, 409: Error, 502: Error, 503: Error,
         507: Error}


# --- errors of the chart modules, in the one error shape --------------------------------------
@api.exception_handler(library.LibraryError)
def _library_error(request, exc: library.LibraryError):
    return json_error(exc.code, str(exc), exc.status, exc.details)


@api.exception_handler(importer.ImportRefused)
def _import_refused(request, exc: importer.ImportRefused):
    return json_error("refused", str(exc), 400)


@api.exception_handler(StorageError)
def _storage_error(request, exc: StorageError):
    return json_error(exc.code, str(exc), exc.status)


def _optional_body(request, schema: type[Schema]) -> Schema:
    """An optional JSON body: absent (or not JSON, e.g. an empty form) is the schema's
    defaults. (ninja's `Body(None)` still refuses an empty body.)"""
    if request.content_type != "application/json" or not request.body:
        return schema()
    try:
        return schema.model_validate(json.loads(request.body))
    except ValueError as exc:  # not JSON, or pydantic's ValidationError (a ValueError)
        errors = exc.errors() if isinstance(exc, PydanticError) else []
        raise library.LibraryError("bad_parameter", f"The JSON body does not fit: {exc}"[:300],
                                   400, {"errors": [{"loc": [str(p) for p in e["loc"]],
                                                     "msg": e["msg"]} for e in errors]}) from exc


def _staff_only(request):
    """None for staff; else the 403 answer."""
    if request.user.is_staff:
        return None
    return json_error("forbidden", "Only staff can change the chart library.", 403)


# --- schemas ---------------------------------------------------------------------------------
class ChartSummary(Schema):
    id: int
    title: str
    artist: str
    album: str
    genre: str
    year: str
    charter: str
    song_length_ms: int | None
    chart_format: str
    instruments: list[str]
    issues: list
    remote_path: str
    album_art_url: str | None


class ChartDetail(ChartSummary):
    raw: dict
    preview_start_ms: int | None
    chart_length_ms: int | None
    diffs: dict
    note_counts: dict
    star_power: dict
    sections: list
    files: list[str]
    audio_files: list[str]
    has_video: bool
    has_background: bool
    ini: dict
    ini_other: dict
    synced_at: str


class ChartPage(Schema):
    count: int
    results: list[ChartSummary]


class ChartDeleted(Schema):
    deleted: int


class SyncIn(Schema):
    purge: bool = True


class SyncQueued(Schema):
    run_id: int
    status: str


class JobQueued(Schema):
    job_id: int
    status_url: str


class JobState(Schema):
    id: int
    status: str
    files: list
    error: str


class StorageEntry(Schema):
    path: str
    name: str
    is_dir: bool
    size: int | None
    etag: str
    modified: str
    protected: bool


class Listing(Schema):
    path: str
    entries: list[StorageEntry]


class Stored(Schema):
    stored: list[str]


class MkdirIn(Schema):
    path: str = ""
    name: str | None = None


class Created(Schema):
    created: str


class DeleteIn(Schema):
    path: str = ""


class PathDeleted(Schema):
    deleted: str
    charts_removed: int


def _multipart(description: str, fields: dict, required: list[str]) -> dict:
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": required, "description": description,
        "properties": fields}}}}}


FILES = {"type": "array", "minItems": 1, "items": {"type": "string", "format": "binary"}}
AUDIO = {"type": "string", "format": "binary"}
TEXT = {"type": "string", "maxLength": 200}


# --- the library -------------------------------------------------------------------------------
@router.get("api/charts", response={200: ChartPage, 400: Error, **READ},
            url_name="chart-api-list", summary="Search the chart library")
def chart_list(request, q: str = "", instrument: str = "", difficulty: str = "",
               issue: str = "", limit: str | None = None, offset: str | None = None):
    """Trigram search on title/artist/charter; `instrument`/`difficulty` keep charts with
    that part; `issue` those with that health issue. `limit` (at most 100) and `offset` are
    whole numbers."""
    count, charts = library.search(q, instrument, difficulty, issue, limit, offset)
    return {"count": count, "results": [library.as_json(c) for c in charts]}


def _chart(chart_id: int):
    chart = Chart.objects.filter(pk=chart_id).first()
    if chart is None:
        raise library.LibraryError("not_found", f"No chart {chart_id}.", 404)
    return chart


@router.get("api/charts/{int:chart_id}", response={200: ChartDetail, 404: Error, **READ},
            url_name="chart-api-detail", summary="One chart: metadata, parts, files, issues")
def chart_detail(request, chart_id: int = ID):
    return library.as_json(_chart(chart_id), full=True)


@router.put("api/charts/{int:chart_id}", response={200: ChartDetail, **WRITE},
            summary="Edit song.ini fields (staff)")
def chart_update(request, chart_id: int = ID, payload: dict = Body(...)):
    """`{"fields": {key: value}}` (or the fields themselves); `null` removes a key. song.ini is
    rewritten on the storage (keys, order and line endings kept), then the row."""
    if refused := _staff_only(request):
        return refused
    chart = _chart(chart_id)
    changes = library.clean_fields(payload.get("fields", payload))
    return library.as_json(library.update_metadata(chart, changes), full=True)


@router.delete("api/charts/{int:chart_id}", response={200: ChartDeleted, **WRITE},
               summary="Delete a chart and its folder (staff)")
def chart_delete(request, chart_id: int = ID):
    if refused := _staff_only(request):
        return refused
    library.delete_chart(_chart(chart_id))
    return {"deleted": chart_id}


@router.post("api/charts/library/sync", response={202: SyncQueued, **WRITE},
             url_name="chart-api-sync", summary="Sync the library from the storage (staff)",
             openapi_extra=json_body(SyncIn, required=False))
def library_sync(request):
    """`purge: false` keeps rows whose folder is gone."""
    if refused := _staff_only(request):
        return refused
    run = sync.queue(trigger="api", purge=_optional_body(request, SyncIn).purge)
    return Status(202, {"run_id": run.pk, "status": run.status})


@router.get("api/charts/library/status", response={200: dict, **READ},
            url_name="chart-api-status", summary="Counts, the last sync, the storage connection")
def library_status(request):
    return library.status()


# --- imports and generation ---------------------------------------------------------------------
def _staged_upload(upload) -> FilePath:
    folder = settings.SONG_DATA_DIR / "charts-uploads"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{uuid.uuid4().hex}{FilePath(upload.name).suffix.lower()}"
    if hasattr(upload, "temporary_file_path"):
        shutil.move(upload.temporary_file_path(), target)
    else:
        with open(target, "wb") as handle:
            for chunk in upload.chunks():
                handle.write(chunk)
    return target


def _too_large(request, cap_mb: int, slack: int = 0):
    """The 413 answer when Content-Length is over the cap, read before the body is."""
    if int(request.META.get("CONTENT_LENGTH") or 0) > cap_mb * 2**20 + slack:
        return json_error("too_large", f"The upload is larger than the limit of {cap_mb} MiB.",
                          413)
    return None


UPLOAD_ANSWERS = {201: Stored, 202: JobQueued, 413: Error, **WRITE}


@router.post("api/charts/upload", response=UPLOAD_ANSWERS, url_name="chart-api-upload",
             summary="Import song archives, or store assets (staff)",
             openapi_extra=_multipart(
                 "`file`: .zip/.7z/.rar archives of song folders (202, a job to poll), or with "
                 "`type` backgrounds|colors|highways the asset files (201).",
                 {"file": FILES, "type": {"type": "string",
                                          "enum": ["songs", "backgrounds", "colors", "highways"]}},
                 ["file"]))
def upload(request):
    if refused := _staff_only(request):
        return refused
    if (problem := _too_large(request, settings.CHARTS_MAX_UPLOAD_MB)) is not None:
        return problem
    files = request.FILES.getlist("file")
    if not files:
        return json_error("no_file", "Attach one or more files as `file`.", 400)
    kind = request.POST.get("type", "songs")
    if kind != "songs":
        paths = [importer.upload_asset(kind, f.name, f.chunks(), size=f.size) for f in files]
        return Status(201, {"stored": paths})
    bad = [f.name for f in files if not f.name.lower().endswith(ARCHIVE_SUFFIXES)]
    if bad:
        return json_error("bad_type", f"Songs are uploaded as .zip, .7z or .rar archives: "
                                      f"{', '.join(bad)}.", 400)
    staged = [_staged_upload(f) for f in files]
    job = importer.create_job(staged, [f.name for f in files], user=request.user)
    return Status(202, {"job_id": job.pk, "status_url": f"/api/charts/jobs/{job.pk}"})


@router.post("api/charts/generate", response={202: JobQueued, 413: Error, **WRITE},
             url_name="chart-api-generate", summary="Generate a chart from audio",
             openapi_extra=_multipart(
                 "The audio (`file`: ogg, mp3, wav, flac) and the song's title and artist.",
                 {"file": AUDIO, **{name: TEXT for name in GENERATE_FIELDS}},
                 ["file", "title", "artist"]))
def generate(request):
    """Any logged-in user. The file's header is checked here, so a wrong file is refused at
    once; the analysis runs in the worker (a job to poll)."""
    cap_mb = settings.CHARTS_MAX_AUDIO_MB
    if (problem := _too_large(request, cap_mb, slack=2**20)) is not None:
        return problem
    upload = request.FILES.get("file")
    if upload is None:
        return json_error("no_file", "Attach the audio file as `file`.", 400)
    meta = {k: (request.POST.get(k) or "").strip() for k in GENERATE_FIELDS}
    missing = [k for k in ("title", "artist") if not meta[k]]
    if missing:
        return json_error("missing_fields", f"Give the song's {' and '.join(missing)}.", 400,
                          {"fields": missing})
    if any(len(v) > 200 for v in meta.values()):
        return json_error("too_long", "Metadata fields may be at most 200 characters.", 400)
    if any(library.CONTROL.search(v) for v in meta.values()):  # a NUL cannot be stored
        return json_error("bad_text", "Metadata fields are one line of text, without control "
                                      "characters.", 400)
    staged = _staged_upload(upload)
    try:
        generator.check_audio(staged, max_bytes=cap_mb * 2**20)
    except generator.GeneratorError as exc:
        staged.unlink(missing_ok=True)
        return json_error("bad_audio", str(exc), 400)
    job = generation.create_job(staged, upload.name, meta, user=request.user)
    return Status(202, {"job_id": job.pk, "status_url": f"/api/charts/jobs/{job.pk}"})


@router.get("api/charts/jobs/{int:job_id}", response={200: JobState, 404: Error, **READ},
            url_name="chart-api-job", summary="An import or generate job's progress")
def job_status(request, job_id: int = ID):
    """Staff see every job, others their own."""
    job = ChartImportJob.objects.filter(pk=job_id).first()
    if job is None or not (request.user.is_staff or job.user_id == request.user.pk):
        return json_error("not_found", "No such import job.", 404)
    return {"id": job.pk, "status": job.status, "files": job.files, "error": job.error}


# --- storage browser ---------------------------------------------------------------------------
@router.get("api/charts/storage/browse", response={200: Listing, 400: Error, 404: Error,
                                                   502: Error, 503: Error, **READ},
            url_name="chart-api-browse", summary="List a storage folder")
def storage_browse(request, path: str = ""):
    path = storage_mod.confine(path)
    entries = storage_mod.get_storage().list(path)
    return {"path": path, "entries": [
        {**e.as_dict(), "protected": library.protected(e.path)} for e in entries]}


@router.post("api/charts/storage/upload", response={201: Stored, 413: Error, **WRITE},
             url_name="chart-api-storage-upload", summary="Upload files into a folder (staff)",
             openapi_extra=_multipart("`file`s stored into the folder `path`.",
                                      {"file": FILES, "path": {"type": "string"}}, ["file"]))
def storage_upload(request):
    if refused := _staff_only(request):
        return refused
    if (problem := _too_large(request, settings.CHARTS_MAX_UPLOAD_MB)) is not None:
        return problem
    folder = storage_mod.confine(request.POST.get("path", ""))
    files = request.FILES.getlist("file")
    if not files:
        return json_error("no_file", "Attach one or more files as `file`.", 400)
    store = storage_mod.get_storage()
    stored = []
    for f in files:
        target = storage_mod.join(folder,
                                  storage_mod.safe_name(FilePath(f.name).name, "upload"))
        store.write(target, f.chunks(), size=f.size)
        stored.append(target)
    return Status(201, {"stored": stored})


@router.post("api/charts/storage/mkdir", response={201: Created, **WRITE},
             url_name="chart-api-mkdir", summary="Create a folder (staff)")
def storage_mkdir(request, payload: MkdirIn):
    """`name` inside `path`; without `name`, `path` itself (parents are created)."""
    if refused := _staff_only(request):
        return refused
    parent = storage_mod.confine(payload.path)
    name = payload.name
    target = storage_mod.join(parent, storage_mod.safe_name(name, "")) if name else parent
    if not target or (name and not storage_mod.safe_name(name, "")):
        return json_error("bad_name", "Give the new folder a name.", 400)
    storage_mod.get_storage().mkdir(target)
    return Status(201, {"created": target})


@router.delete("api/charts/storage/delete", response={200: PathDeleted, **WRITE},
               url_name="chart-api-delete", summary="Delete a file or folder (staff)",
               openapi_extra=json_body(DeleteIn, required=False))
def storage_delete(request, path: str = ""):
    """The path as `?path=` or in a JSON body; charts under it are removed too. The storage
    root and its main folders are protected."""
    if refused := _staff_only(request):
        return refused
    target = _optional_body(request, DeleteIn).path or path
    if not target:
        return json_error("bad_path", "Say which path to delete (`path`).", 400)
    rows = library.delete_path(target)
    return {"deleted": storage_mod.confine(target), "charts_removed": rows}


# --- files ---------------------------------------------------------------------------------------
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
BINARY = {"content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}}


@router.get("api/charts/{int:chart_id}/files/{path:name}",
            response={404: Error, 416: Error, 502: Error, 503: Error, **READ},
            url_name="chart-api-file", summary="One file of a chart folder (Range for audio)",
            openapi_extra={"responses": {
                "200": {"description": "The whole file", **BINARY},
                "206": {"description": "The requested `Range` (one range)", **BINARY}}})
def chart_file(request, chart_id: int = ID, name: str = Path(...)):
    """Streamed from the storage; a single `Range` is honoured (audio seeking)."""
    chart = _chart(chart_id)
    if name not in chart.files:
        return json_error("not_found", "No such file in this chart.", 404)
    store = storage_mod.get_storage()
    path = storage_mod.join(chart.remote_path, name)
    size = store.stat(path).size
    content_type = CONTENT_TYPES.get(FilePath(name).suffix.lower(), "application/octet-stream")
    match = _RANGE.match(request.headers.get("Range", "").strip())
    if match and (match.group(1) or match.group(2)):
        if match.group(1):
            start = int(match.group(1))
            end = min(int(match.group(2)) if match.group(2) else size - 1, size - 1)
        else:
            start, end = max(0, size - int(match.group(2))), size - 1
        if start > end or start >= size:
            response = json_error("bad_range", "The requested range is not satisfiable.", 416)
            response["Content-Range"] = f"bytes */{size}"
            return response
        response = StreamingHttpResponse(store.open_read(path, start, end), status=206,
                                         content_type=content_type)
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(end - start + 1)
    else:
        response = StreamingHttpResponse(store.open_read(path), content_type=content_type)
        response["Content-Length"] = str(size)
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, max-age=300"
    return response
