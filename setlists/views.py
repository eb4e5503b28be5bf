"""Setlist pages (the JSON operations are setlists.api)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

from . import services
from .models import Setlist


def _usage_period(request):
    today = timezone.localdate()
    start = services.parse_date(request.GET.get("from") or today.replace(day=1), "from")
    end = services.parse_date(request.GET.get("to") or today, "to")
    return start, end, services.usage(start, end)


# Pages ---------------------------------------------------------------------------------------

@login_required
def list_page(request):
    return render(request, "setlists/list.html",
                  {"setlists": Setlist.objects.filter(owner=request.user)[:200]})


@login_required
def edit_page(request, setlist_id):
    found = Setlist.objects.filter(pk=setlist_id, owner=request.user).first()
    if found is None:
        return render(request, "404.html", status=404)
    return render(request, "setlists/edit.html",
                  {"setlist": found, "items": found.items.select_related("song")})


@login_required
def usage_page(request):
    try:
        start, end, rows = _usage_period(request)
    except services.SetlistError as error:
        return render(request, "setlists/usage.html", {"error": str(error)}, status=400)
    return render(request, "setlists/usage.html", {"rows": rows, "start": start, "end": end})
