from django.shortcuts import render

from charts.models import Chart
from ingestion.models import Song, SyncRun
from rooms.models import Room
from workers.models import Worker


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
