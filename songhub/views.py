import logging
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.shortcuts import render
from django.views.defaults import server_error as django_server_error

from charts.models import Chart
from ingestion.models import Song, SyncRun
from rooms.models import Room
from workers.models import Worker

from .http import json_error

logger = logging.getLogger(__name__)


def home(request):
    """The dashboard: what the hub holds and whether its background parts are alive."""
    context = {
        "song_count": Song.objects.count(),
        "room_count": Room.objects.filter(closed_at=None).count(),
        "live_workers": Worker.objects.live().count(),
        "last_sync": SyncRun.objects.order_by("-started_at").first(),
        "chart_count": Chart.objects.count(),
        "charts_with_issues": Chart.objects.exclude(issues=[]).count(),
    }
    return render(request, "home.html", context)


def server_error(request):
    """handler500. An unreachable database (refused, reset, no pooled connection in time) is
    an outage, not a bug: 503 with Retry-After, so clients and proxies retry and nothing
    reads as "your change failed for good". Anything else stays a plain 500."""
    exc = sys.exc_info()[1]
    if isinstance(exc, (OperationalError, InterfaceError)):
        logger.warning("database unavailable for %s: %s", request.path, exc)
        message = "The database is unreachable right now; try again in a moment."
        if "text/html" in request.headers.get("Accept", ""):
            response = HttpResponse(message, status=503, content_type="text/plain")
        else:
            response = json_error("database_unavailable", message, 503)
        response["Retry-After"] = "5"
        return response
    if "text/html" not in request.headers.get("Accept", ""):
        return json_error("server_error", "Something went wrong on our side.", 500)
    return django_server_error(request)
