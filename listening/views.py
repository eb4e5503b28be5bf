"""Spotify account linking, the analytics dashboard and its JSON, the history import."""

import uuid

from django.conf import settings as conf
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.db import transaction
from django.http.multipartparser import MultiPartParserError
from django.http import JsonResponse
from django.views.decorators.http import require_GET, require_POST

from songhub.http import json_error

from . import analytics as queries
from . import export_archive, oauth, service
from .models import ImportJob, Listener
from .spotify import app_by_id, app_with_room, configured_apps
from .tasks import import_history_task

SESSION_KEY = "spotify_oauth"


def _problem(request, title: str, message: str, status: int = 400):
    return render(request, "listening/problem.html", {"title": title, "message": message},
                  status=status)


@require_GET
def login_start(request):
    if not configured_apps():
        return _problem(request, "Spotify is not configured here",
                        "This songhub has no Spotify app yet, so accounts cannot be linked. An "
                        "administrator creates one at developer.spotify.com and sets "
                        "SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET (or SPOTIFY_APPS); see "
                        "docs/listening.md, “Linking Spotify”. Meanwhile you can log in and "
                        "import your Spotify data export (Extended Streaming History) on the "
                        "Analytics page: no Spotify app is needed for that.", 200)
    app = app_with_room()
    if app is None:
        return _problem(request, "Spotify linking is full",
                        "Every configured Spotify app already has its maximum number of users "
                        "(Spotify allows 5 per Development Mode app). Ask an administrator to "
                        "add another app to SPOTIFY_APPS, or import your data export instead.",
                        503)
    state = oauth.new_state()
    request.session[SESSION_KEY] = {"state": state, "client_id": app.client_id}
    return redirect(oauth.authorize_url(app, state))


@require_GET
def login_response(request):
    pending = request.session.pop(SESSION_KEY, None)
    state = request.GET.get("state", "")
    if not pending or not state or state != pending.get("state"):
        return _problem(request, "Link expired or invalid",
                        "This Spotify sign-in did not start here or has expired. Nothing was "
                        "saved; please start again.")
    if request.GET.get("error"):
        return _problem(request, "Spotify access not granted",
                        "You declined access on Spotify, so nothing was linked or saved.")
    app = app_by_id(pending.get("client_id", ""))
    code = request.GET.get("code", "")
    if app is None or not code:
        return _problem(request, "Link failed", "Spotify sent no authorization code.")
    try:
        listener = oauth.link_account(app, code,
                                      request.user if request.user.is_authenticated else None)
    except oauth.OAuthError as exc:
        return _problem(request, "Link failed", str(exc), exc.status)
    if not request.user.is_authenticated:
        login(request, listener.user, backend="django.contrib.auth.backends.ModelBackend")
    return redirect("analytics")


def analytics(request):
    listener = (Listener.objects.filter(user=request.user).first()
                if request.user.is_authenticated else None)
    return render(request, "listening/analytics.html",
                  {"listener": listener, "spotify_configured": bool(configured_apps()),
                   "status": queries.service_status(listener) if listener else None})


@require_POST
@login_required
def from_export(request):
    """Start analytics without Spotify: a listener for this user, filled by imports only;
    linking Spotify later makes it that account's listener (`oauth.link_account`)."""
    service.listener_for(request.user)
    return redirect("analytics")


@require_POST
@login_required
def service_action(request, action: str):
    """The settings menu: start or stop the service, or delete the user (after a confirm)."""
    if action == "delete":
        return _delete_user(request)
    listener = get_object_or_404(Listener, user=request.user)
    if action == "start":
        service.start(listener)
        messages.success(request, "Listening service started.")
    elif action == "stop":
        service.stop(listener)
        messages.success(request, "Listening service stopped.")
    return redirect("analytics")


def _delete_user(request):
    """"Delete User" deletes the songhub account itself and everything of it. The form must
    carry `confirm` equal to the username (typed, or set by the confirmation dialog)."""
    if request.POST.get("confirm", "") != request.user.get_username():
        messages.error(request, "Nothing was deleted: confirm with your username.")
        return redirect("analytics")
    user = request.user
    logout(request)
    service.delete_user(user)
    messages.success(request, "Your account and all its listening data were deleted.")
    return redirect("home")


def _upload(request):
    """The uploaded export (streamed to a temporary file by Django), or an error response."""
    length = int(request.META.get("CONTENT_LENGTH") or 0)
    if length > conf.IMPORT_MAX_UPLOAD_BYTES:  # refuse before reading the body
        return None, json_error("too_large", "The file is larger than the upload limit of "
                                 f"{conf.IMPORT_MAX_UPLOAD_BYTES // 2**20} MiB.", 413)
    try:
        upload = request.FILES.get("file")
    except MultiPartParserError as exc:  # a truncated or malformed multipart body
        return None, json_error("bad_upload", f"The upload is not valid multipart: {exc}", 400)
    if upload is None:
        return None, json_error("no_file", "Attach my_spotify_data.zip as `file`.", 400)
    if upload.size > conf.IMPORT_MAX_UPLOAD_BYTES:
        return None, json_error("too_large", "The file is larger than the upload limit.", 413)
    return upload, None


def _listener_or_error(request):
    listener = Listener.objects.filter(user=request.user).first()
    if listener is None:
        return None, json_error("no_listener", "Link your Spotify account or import your "
                                "Spotify data export first.", 400)
    return listener, None


def _start_import(request, kind: str):
    upload, problem = _upload(request)
    if problem:
        return problem
    listener = service.listener_for(request.user)  # an export alone is enough to start
    folder = conf.SONG_DATA_DIR / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{uuid.uuid4().hex}.zip"
    with open(target, "wb") as handle:
        for chunk in upload.chunks():
            handle.write(chunk)
    try:
        export_archive.check_archive(target)  # the directory only: nothing is inflated
    except export_archive.ImportFileError as exc:
        target.unlink(missing_ok=True)
        return json_error("bad_file", str(exc), 400)
    with transaction.atomic():
        job = ImportJob.objects.create(listener=listener, upload_path=str(target), kind=kind)
        import_history_task.delay_on_commit(job.pk)
    return JsonResponse({"job_id": job.pk, "kind": kind,
                         "status_url": f"/analytics/importStatus/{job.pk}"}, status=202)
