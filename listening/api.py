"""The analytics JSON (ninja router, mounted by songhub.api): the seed's paths under
/analytics/, login required (except the authentication check), a linked or imported listener
for the charts. The queries are listening.analytics; imports start in listening.views."""

from django.http import JsonResponse
from ninja import Path, Router, Schema

from songhub.api import LOGGED_IN, Error
from songhub.http import json_error

from . import analytics as queries
from . import views
from .models import ImportJob, Listener

router = Router(tags=["analytics"])


class ServiceStatus(Schema):
    status: str
    color: str
    mode: str
    linked: bool
    error: str
    error_at: str | None
    status_song: int
    status_playlist: int
    last_history_poll: str | None


class AuthCheck(Schema):
    authenticated: bool
    user: str | None = None
    spotify_linked: bool
    spotify_id: str | None = None
    service: ServiceStatus | None


class Day(Schema):
    date: str
    plays: int


class Days(Schema):
    days: list[Day]


class Grid(Schema):
    grid: list[list[int]]


class Ranked(Schema):
    id: int | str
    name: str
    plays: int
    minutes: int


class Top(Schema):
    tracks: list[Ranked]
    artists: list[Ranked]


class Play(Schema):
    played_at: str
    track: str
    artists: str


class History(Schema):
    page: int
    has_next: bool
    items: list[Play]


class ImportStarted(Schema):
    job_id: int
    kind: str
    status_url: str


class ImportState(Schema):
    kind: str
    status: str
    done: int
    total: int
    stats: dict
    error: str


CHART = {400: Error, 401: Error}  # 400 no_listener: nothing linked or imported yet
UPLOAD = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary",
                            "description": "my_spotify_data.zip (Spotify's data export)"}}}}}}}


def _number(raw: str | None, default: int, low: int, high: int) -> int:
    """Lenient like the dashboard always was: a bad number is the default, out of range is
    clamped; the charts never answer 400 to a hand-edited URL."""
    try:
        value = int(raw if raw not in (None, "") else default)
    except ValueError:
        value = default
    return max(low, min(high, value))


def _listener(request):
    return views._listener_or_error(request)


@router.get("analytics/authenticated", response={200: AuthCheck, 401: AuthCheck},
            url_name="analytics-authenticated", summary="The seed's authentication check")
def authenticated(request):
    """200 when logged in, 401 otherwise; says whether Spotify is linked and how the listening
    service is doing."""
    if not request.user.is_authenticated:
        return JsonResponse({"authenticated": False, "spotify_linked": False, "service": None},
                            status=401)
    listener = Listener.objects.filter(user=request.user).first()
    return {"authenticated": True, "user": request.user.get_username(),
            "spotify_linked": bool(listener and listener.spotify_id),
            "spotify_id": listener.spotify_id if listener else None,
            "service": queries.service_status(listener) if listener else None}


@router.get("analytics/playsPerDay/", response={200: Days, **CHART}, auth=LOGGED_IN,
            url_name="analytics-plays-per-day", summary="Plays per day over the last `days`")
def plays_per_day(request, days: str | None = None):
    listener, problem = _listener(request)
    if problem:
        return problem
    start, end = queries.window(_number(days, 30, 1, 3660))
    return {"days": queries.plays_per_day(listener, start, end)}


@router.get("analytics/heatmap/", response={200: Grid, **CHART}, auth=LOGGED_IN,
            url_name="analytics-heatmap", summary="Plays by weekday (rows) and hour (columns)")
def heatmap(request, days: str | None = None):
    listener, problem = _listener(request)
    if problem:
        return problem
    start, end = queries.window(_number(days, 90, 1, 3660))
    return {"grid": queries.hour_of_week(listener, start, end)}


@router.get("analytics/top/", response={200: Top, **CHART}, auth=LOGGED_IN,
            url_name="analytics-top", summary="Top tracks and artists")
def top(request, days: str | None = None, limit: str | None = None):
    listener, problem = _listener(request)
    if problem:
        return problem
    start, end = queries.window(_number(days, 30, 1, 3660))
    count = _number(limit, 10, 1, 50)
    return {"tracks": queries.top_tracks(listener, start, end, count),
            "artists": queries.top_artists(listener, start, end, count)}


@router.get("analytics/listeningHistory/", response={200: History, **CHART}, auth=LOGGED_IN,
            url_name="analytics-history", summary="Recent plays, 25 a page")
def listening_history(request, page: str | None = None):
    listener, problem = _listener(request)
    if problem:
        return problem
    return queries.recent_plays(listener, _number(page, 1, 1, 10**6))


@router.get("analytics/status/", response={200: ServiceStatus, **CHART}, auth=LOGGED_IN,
            url_name="analytics-status", summary="The listening service's status badge")
def status(request):
    listener, problem = _listener(request)
    return problem or queries.service_status(listener)


IMPORT_ANSWERS = {202: ImportStarted, 400: Error, 401: Error, 403: Error, 413: Error}


@router.post("analytics/analyzeHistoricalImport/", response=IMPORT_ANSWERS, auth=LOGGED_IN,
             url_name="import-analyze", openapi_extra=UPLOAD,
             summary="Analyse a Spotify data export (a job to poll)")
def analyze_import(request):
    """The archive's directory is checked now (400 says why it is refused); the plays are
    classified in the worker, and the job's `stats` hold the analysis when done."""
    return views._start_import(request, ImportJob.Kind.ANALYZE)


@router.post("analytics/executeHistoricalImport/", response=IMPORT_ANSWERS, auth=LOGGED_IN,
             url_name="import-execute", openapi_extra=UPLOAD,
             summary="Import a Spotify data export (a job to poll)")
def execute_import(request):
    """The body is read by the operation itself (not declared as a ninja File parameter) so
    an oversized upload is refused from Content-Length before it is read."""
    return views._start_import(request, ImportJob.Kind.IMPORT)


@router.get("analytics/importStatus/{job_id}", response={200: ImportState, 401: Error,
                                                             404: Error},
            auth=LOGGED_IN, url_name="import-status", summary="An import job's progress")
def import_status(request, job_id: int = Path(..., ge=0, le=2**31 - 1)):
    job = ImportJob.objects.filter(pk=job_id, listener__user=request.user).first()
    if job is None:
        return json_error("not_found", "No such import.", 404)
    return {"kind": job.kind, "status": job.status, "done": job.done, "total": job.total,
            "stats": job.stats, "error": job.error}
