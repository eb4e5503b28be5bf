"""Thin HTTP layer over setlists.services / export / run / suggestions."""

from __future__ import annotations

import functools
import json

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from rooms import services as rooms
from songhub.http import json_error

from . import export, run, services, suggestions
from .models import Setlist


def api(view):
    """JSON errors for both our and the rooms' rule errors; sign-in required."""
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return json_error("unauthenticated", "Sign in first.", 401)
        try:
            return view(request, *args, **kwargs)
        except (services.SetlistError, rooms.RoomError) as error:
            return json_error(error.code, str(error), error.status)
    return wrapper


def _body(request) -> dict:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise services.SetlistError("The body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise services.SetlistError("The body must be a JSON object.")
    return body


def _own(request, setlist_id) -> Setlist:
    setlist = Setlist.objects.filter(pk=setlist_id, owner=request.user).first()
    if setlist is None:
        raise services.NotFound(f"No setlist {setlist_id} of yours.")
    return setlist


@require_http_methods(["GET", "POST"])
@api
def setlists(request):
    if request.method == "POST":
        setlist = services.save(request.user, _body(request))
        return JsonResponse(services.setlist_json(setlist), status=201)
    found = Setlist.objects.filter(owner=request.user)[:200]
    return JsonResponse({"setlists": [{"id": s.id, "name": s.name, "date": s.date.isoformat()}
                                      for s in found]})


@require_http_methods(["GET", "PUT", "DELETE"])
@api
def setlist(request, setlist_id):
    found = _own(request, setlist_id)
    if request.method == "DELETE":
        found.delete()
        return HttpResponse(status=204)
    if request.method == "PUT":
        found = services.save(request.user, _body(request), found)
    return JsonResponse(services.setlist_json(found))


@require_http_methods(["POST"])
@api
def add_item(request, setlist_id):
    item = services.add_item(_own(request, setlist_id), _body(request))
    return JsonResponse(services.item_json(item), status=201)


@require_http_methods(["POST"])
@api
def duplicate(request, setlist_id):
    body = _body(request)
    date = services.parse_date(body["date"]) if body.get("date") else None
    copy = services.duplicate(_own(request, setlist_id), request.user, date)
    return JsonResponse(services.setlist_json(copy), status=201)


def _download(data: bytes, content_type: str, setlist: Setlist, ext: str) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    name = f"setlist-{setlist.pk}-{setlist.date}.{ext}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@require_http_methods(["GET"])
@api
def export_pdf(request, setlist_id):
    found = _own(request, setlist_id)
    return _download(export.setlist_pdf(found), "application/pdf", found, "pdf")


@require_http_methods(["GET"])
@api
def export_zip(request, setlist_id):
    found = _own(request, setlist_id)
    return _download(export.setlist_zip(found), "application/zip", found, "zip")


@require_http_methods(["GET"])
@api
def suggest(request):
    song_id = services._int(request.GET.get("song"), "song", 1, 2**31 - 1)
    transpose = services._int(request.GET.get("transpose"), "transpose", -11, 11, default=0)
    return JsonResponse({"song_id": song_id,
                         "suggestions": suggestions.next_songs(song_id, transpose)})


def _usage_period(request):
    today = timezone.localdate()
    start = services.parse_date(request.GET.get("from") or today.replace(day=1), "from")
    end = services.parse_date(request.GET.get("to") or today, "to")
    return start, end, services.usage(start, end)


@require_http_methods(["GET"])
@api
def usage_csv(request):
    start, end, rows = _usage_period(request)
    response = HttpResponse(services.usage_csv(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="song-usage-{start}-{end}.csv"'
    return response


@require_http_methods(["GET", "POST"])
@api
def room_setlist(request, room_id):
    """GET: the run and what is next. POST {"setlist_id"} starts it, {"step": 1|-1} moves."""
    room = rooms.get_open_room(room_id)
    actor = rooms.active_participant(room, user=request.user)  # members only
    if request.method == "GET":
        return JsonResponse({"run": run.room_state(room.pk)})
    body = _body(request)
    if "setlist_id" in body:
        return JsonResponse({"run": run.start(room.pk, actor,
                                              _own(request, body["setlist_id"]))})
    step = body.get("step")
    if step not in (1, -1):
        raise services.SetlistError('Send {"setlist_id": n} or {"step": 1 | -1}.')
    return JsonResponse({"run": run.step(room.pk, actor, step)})


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
