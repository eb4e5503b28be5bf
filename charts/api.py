"""Chart library JSON API. Reads need a login (session or API token), writes need staff.
Errors are `{"error": {"code", "message"}}` (songhub.http); the work is in `library`,
`sync`, `importer` and the storage."""

from __future__ import annotations

import json
import re
import shutil
import uuid
from functools import wraps
from pathlib import Path

from django.conf import settings
from django.http import JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from songhub.http import json_error

from . import generation, generator, importer, library, storage as storage_mod, sync
from .models import Chart, ChartImportJob
from .storage.base import StorageError

CONTENT_TYPES = {".ogg": "audio/ogg", ".opus": "audio/ogg", ".mp3": "audio/mpeg",
                 ".wav": "audio/wav", ".png": "image/png", ".jpg": "image/jpeg",
                 ".jpeg": "image/jpeg", ".ini": "text/plain; charset=utf-8",
                 ".chart": "text/plain; charset=utf-8", ".mid": "audio/midi",
                 ".mp4": "video/mp4", ".webm": "video/webm"}
ARCHIVE_SUFFIXES = (".zip", ".7z", ".rar")


def api(staff: bool = False):
    """Login (and staff) checks, JSON bodies in `request.data`, and the error shape for
    LibraryError, ImportRefused and StorageError."""

    def decorate(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return json_error("login_required", "Log in or send an API token.", 401)
            if staff and request.method not in ("GET", "HEAD") and not request.user.is_staff:
                return json_error("forbidden", "Only staff can change the chart library.", 403)
            request.data = {}
            if request.content_type == "application/json" and request.body:
                try:
                    request.data = json.loads(request.body)
                except ValueError:
                    return json_error("bad_json", "The request body is not valid JSON.", 400)
                if not isinstance(request.data, dict):
                    return json_error("bad_json", "The request body must be a JSON object.", 400)
            try:
                return view(request, *args, **kwargs)
            except library.LibraryError as exc:
                return json_error(exc.code, str(exc), exc.status, exc.details)
            except importer.ImportRefused as exc:
                return json_error("refused", str(exc), 400)
            except StorageError as exc:
                return json_error(exc.code, str(exc), exc.status)

        return wrapper

    return decorate


@require_GET
@api()
def chart_list(request):
    p = request.GET
    count, charts = library.search(p.get("q", ""), p.get("instrument", ""),
                                   p.get("difficulty", ""), p.get("issue", ""),
                                   p.get("limit"), p.get("offset"))
    return JsonResponse({"count": count, "results": [library.as_json(c) for c in charts]})


@require_http_methods(["GET", "PUT", "DELETE"])
@api(staff=True)
def chart_detail(request, chart_id: int):
    chart = get_object_or_404(Chart, pk=chart_id)
    if request.method == "PUT":
        fields = request.data.get("fields", request.data)
        chart = library.update_metadata(chart, library.clean_fields(fields))
    elif request.method == "DELETE":
        library.delete_chart(chart)
        return JsonResponse({"deleted": chart_id})
    return JsonResponse(library.as_json(chart, full=True))


@require_POST
@api(staff=True)
def library_sync(request):
    run = sync.queue(trigger="api", purge=request.data.get("purge", True) is not False)
    return JsonResponse({"run_id": run.pk, "status": run.status}, status=202)


@require_GET
@api()
def library_status(request):
    return JsonResponse(library.status())


def _staged_upload(upload) -> Path:
    folder = settings.SONG_DATA_DIR / "charts-uploads"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{uuid.uuid4().hex}{Path(upload.name).suffix.lower()}"
    if hasattr(upload, "temporary_file_path"):
        shutil.move(upload.temporary_file_path(), target)
    else:
        with open(target, "wb") as handle:
            for chunk in upload.chunks():
                handle.write(chunk)
    return target


def _too_large(request):
    cap = settings.CHARTS_MAX_UPLOAD_MB * 2**20
    if int(request.META.get("CONTENT_LENGTH") or 0) > cap:  # refuse before reading the body
        return json_error("too_large", f"The upload is larger than the limit of "
                                       f"{settings.CHARTS_MAX_UPLOAD_MB} MiB.", 413)
    return None


@require_POST
@api(staff=True)
def upload(request):
    """Archives (or a song folder's files are not accepted here: use an archive) → an import
    job (202); `type=backgrounds|colors|highways` → the asset is stored now (201)."""
    if (problem := _too_large(request)) is not None:
        return problem
    files = request.FILES.getlist("file")
    if not files:
        return json_error("no_file", "Attach one or more files as `file`.", 400)
    kind = request.POST.get("type", "songs")
    if kind != "songs":
        paths = [importer.upload_asset(kind, f.name, f.chunks(), size=f.size) for f in files]
        return JsonResponse({"stored": paths}, status=201)
    bad = [f.name for f in files if not f.name.lower().endswith(ARCHIVE_SUFFIXES)]
    if bad:
        return json_error("bad_type", f"Songs are uploaded as .zip, .7z or .rar archives: "
                                      f"{', '.join(bad)}.", 400)
    staged = [_staged_upload(f) for f in files]
    job = importer.create_job(staged, [f.name for f in files], user=request.user)
    return JsonResponse({"job_id": job.pk, "status_url": f"/api/charts/jobs/{job.pk}"},
                        status=202)


@require_GET
@api()
def job_status(request, job_id: int):
    job = ChartImportJob.objects.filter(pk=job_id).first()
    if job is None or not (request.user.is_staff or job.user_id == request.user.pk):
        return json_error("not_found", "No such import job.", 404)
    return JsonResponse({"id": job.pk, "status": job.status, "files": job.files,
                         "error": job.error})


# --- storage browser ---------------------------------------------------------------------------
@require_GET
@api()
def storage_browse(request):
    path = storage_mod.confine(request.GET.get("path", ""))
    entries = storage_mod.get_storage().list(path)
    return JsonResponse({"path": path, "entries": [
        {**e.as_dict(), "protected": library.protected(e.path)} for e in entries]})


@require_POST
@api(staff=True)
def storage_upload(request):
    if (problem := _too_large(request)) is not None:
        return problem
    folder = storage_mod.confine(request.POST.get("path", ""))
    files = request.FILES.getlist("file")
    if not files:
        return json_error("no_file", "Attach one or more files as `file`.", 400)
    store = storage_mod.get_storage()
    stored = []
    for f in files:
        target = storage_mod.join(folder, storage_mod.safe_name(Path(f.name).name, "upload"))
        store.write(target, f.chunks(), size=f.size)
        stored.append(target)
    return JsonResponse({"stored": stored}, status=201)


@require_POST
@api(staff=True)
def storage_mkdir(request):
    parent = storage_mod.confine(request.data.get("path", ""))
    name = request.data.get("name")
    target = storage_mod.join(parent, storage_mod.safe_name(name, "")) if name else parent
    if not target or (name and not storage_mod.safe_name(name, "")):
        return json_error("bad_name", "Give the new folder a name.", 400)
    storage_mod.get_storage().mkdir(target)
    return JsonResponse({"created": target}, status=201)


@require_http_methods(["DELETE"])
@api(staff=True)
def storage_delete(request):
    path = request.data.get("path") or request.GET.get("path", "")
    if not path:
        return json_error("bad_path", "Say which path to delete (`path`).", 400)
    rows = library.delete_path(path)
    return JsonResponse({"deleted": storage_mod.confine(path), "charts_removed": rows})


# --- files ---------------------------------------------------------------------------------------
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@require_GET
@api()
def chart_file(request, chart_id: int, name: str):
    """One file of a chart folder, streamed; a single `Range` is honoured (audio seeking)."""
    chart = get_object_or_404(Chart, pk=chart_id)
    if name not in chart.files:
        return json_error("not_found", "No such file in this chart.", 404)
    store = storage_mod.get_storage()
    path = storage_mod.join(chart.remote_path, name)
    size = store.stat(path).size
    content_type = CONTENT_TYPES.get(Path(name).suffix.lower(), "application/octet-stream")
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


GENERATE_FIELDS = ("title", "artist", "album", "genre", "year")


@require_POST
@api()
def generate(request):
    """Audio (multipart `file`) + title/artist (+ album/genre/year) → a generate job (202).
    The file's header is checked here so a wrong file is refused at once; the analysis runs
    in the worker."""
    cap = settings.CHARTS_MAX_AUDIO_MB * 2**20
    if int(request.META.get("CONTENT_LENGTH") or 0) > cap + 2**20:
        return json_error("too_large", f"Audio files may be at most "
                                       f"{settings.CHARTS_MAX_AUDIO_MB} MB.", 413)
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
    staged = _staged_upload(upload)
    try:
        generator.check_audio(staged, max_bytes=cap)
    except generator.GeneratorError as exc:
        staged.unlink(missing_ok=True)
        return json_error("bad_audio", str(exc), 400)
    job = generation.create_job(staged, upload.name, meta, user=request.user)
    return JsonResponse({"job_id": job.pk, "status_url": f"/api/charts/jobs/{job.pk}"},
                        status=202)
