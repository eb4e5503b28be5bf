"""Spotify account linking and the analytics landing page."""

from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from . import oauth, service
from .models import Listener
from .spotify import app_by_id, app_with_room

SESSION_KEY = "spotify_oauth"


def _problem(request, title: str, message: str, status: int = 400):
    return render(request, "listening/problem.html", {"title": title, "message": message},
                  status=status)


@require_GET
def login_start(request):
    app = app_with_room()
    if app is None:
        return _problem(request, "Spotify linking is full",
                        "Every configured Spotify app already has its maximum number of users. "
                        "Ask an administrator to add another app (SPOTIFY_APPS).", 503)
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
        return _problem(request, "Link failed", str(exc), 502)
    if not request.user.is_authenticated:
        login(request, listener.user, backend="django.contrib.auth.backends.ModelBackend")
    return redirect("analytics")


def analytics(request):
    listener = (Listener.objects.filter(user=request.user).first()
                if request.user.is_authenticated else None)
    return render(request, "listening/analytics.html", {"listener": listener})


@require_POST
@login_required
def service_action(request, action: str):
    """The settings menu: start or stop the service, or delete everything (after a confirm)."""
    listener = get_object_or_404(Listener, user=request.user)
    if action == "start":
        service.start(listener)
        messages.success(request, "Listening service started.")
    elif action == "stop":
        service.stop(listener)
        messages.success(request, "Listening service stopped.")
    elif action == "delete":
        service.delete_data(listener)
        logout(request)
        messages.success(request, "Your listening data was deleted.")
        return redirect("home")
    return redirect("analytics")
