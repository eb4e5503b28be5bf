from django.shortcuts import render

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
    }
    return render(request, "home.html", context)
