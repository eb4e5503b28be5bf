"""Setlist JSON operations (ninja router, mounted by songhub.api): a user's setlists, their
items, exports, "what next" suggestions, the licensing usage report and a room's setlist run.
Everything needs a login; a setlist is only ever its owner's. The rules are in
setlists.services / run / export / suggestions."""

from __future__ import annotations

from django.http import HttpResponse
from django.utils import timezone
from ninja import Path, Query, Router, Schema, Status

from rooms import services as rooms
from songhub.api import LOGGED_IN, Error, api
from songhub.http import json_error

from . import export, run, services, suggestions
from .models import Setlist

router = Router(tags=["setlists"], auth=LOGGED_IN)
ID = Path(..., ge=0, le=2**31 - 1)
ANSWERS = {400: Error, 401: Error, 404: Error}


@api.exception_handler(services.SetlistError)
def _setlist_error(request, exc: services.SetlistError):
    return json_error(exc.code, str(exc), exc.status)


class ItemIn(Schema):
    """A song (`song_id`) or a work (`work_id`), in the key `transpose` semitones away
    (-11…11), capo 0…12, notes (≤ 2,000 characters), duration in seconds."""
    song_id: int | None = None
    work_id: int | None = None
    transpose: int | None = None
    capo: int | None = None
    notes: str | None = None
    duration: int | None = None


class SetlistIn(Schema):
    """`items`, when given, replaces every item in this order (also how a reorder is saved)."""
    name: str | None = None
    date: str | None = None
    items: list[ItemIn] | None = None


class ItemOut(Schema):
    id: int
    position: int
    song_id: int | None
    work_id: int | None
    title: str
    transpose: int
    capo: int
    notes: str
    duration: int | None
    key: str


class SetlistOut(Schema):
    id: int
    name: str
    date: str
    owner: str
    played_at: str | None
    duration: int
    items: list[ItemOut]


class SetlistRow(Schema):
    id: int
    name: str
    date: str


class SetlistList(Schema):
    setlists: list[SetlistRow]


class DuplicateIn(Schema):
    date: str | None = None


class Suggestion(Schema):
    song_id: int
    title: str
    artist: str
    key: str
    key_hint: str | None
    setlists: int
    reason: str


class Suggestions(Schema):
    song_id: int
    suggestions: list[Suggestion]


class RunIn(Schema):
    """`{"setlist_id": n}` starts that setlist in the room; `{"step": 1 | -1}` moves on/back."""
    setlist_id: int | None = None
    step: int | None = None


class RunState(Schema):
    setlist_id: int
    name: str
    position: int
    count: int
    current: ItemOut | None
    next: list[ItemOut]


class RoomRun(Schema):
    run: RunState | None


def _own(request, setlist_id: int) -> Setlist:
    setlist = Setlist.objects.filter(pk=setlist_id, owner=request.user).first()
    if setlist is None:
        raise services.NotFound(f"No setlist {setlist_id} of yours.")
    return setlist


def _download(data: bytes, content_type: str, name: str) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _file(content_type: str, description: str) -> dict:
    return {"responses": {"200": {"description": description, "content": {
        content_type: {"schema": {"type": "string", "format": "binary"}}}}}}


@router.get("api/setlists", response={200: SetlistList, 401: Error}, url_name="setlists-api",
            summary="Your setlists (newest first, at most 200)")
def setlist_list(request):
    found = Setlist.objects.filter(owner=request.user)[:200]
    return {"setlists": [{"id": s.id, "name": s.name, "date": s.date.isoformat()}
                         for s in found]}


@router.post("api/setlists", response={201: SetlistOut, **ANSWERS},
             summary="Create a setlist")
def setlist_create(request, payload: SetlistIn):
    setlist = services.save(request.user, payload.dict(exclude_unset=True))
    return Status(201, services.setlist_json(setlist))


@router.get("api/setlists/suggest", response={200: Suggestions, **ANSWERS},
            url_name="setlists-suggest", summary='"What next" after a song')
def suggest(request, song: str | None = None, transpose: str | None = None):
    """Chord sheets that followed `song` in the transition graph, most setlists first, in
    the key `transpose` semitones away."""
    song_id = services._int(song, "song", 1, 2**31 - 1)
    shift = services._int(transpose, "transpose", -11, 11, default=0)
    return {"song_id": song_id, "suggestions": suggestions.next_songs(song_id, shift)}


@router.get("api/setlists/usage.csv", response={**ANSWERS}, url_name="setlists-usage-csv",
            summary="Song usage for licensing reports (CSV)",
            openapi_extra=_file("text/csv", "song_id, title, artist, setlists, rooms, total"))
def usage_csv(request, start: str | None = Query(None, alias="from"), to: str | None = None):
    """Songs in setlists dated in [`from`, `to`] and shown in rooms then (default: this
    month so far)."""
    today = timezone.localdate()
    first = services.parse_date(start or today.replace(day=1), "from")
    end = services.parse_date(to or today, "to")
    response = HttpResponse(services.usage_csv(services.usage(first, end)),
                            content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="song-usage-{first}-{end}.csv"'
    return response


@router.get("api/setlists/{int:setlist_id}", response={200: SetlistOut, **ANSWERS},
            url_name="setlist-api", summary="One of your setlists")
def setlist_detail(request, setlist_id: int = ID):
    return services.setlist_json(_own(request, setlist_id))


@router.put("api/setlists/{int:setlist_id}", response={200: SetlistOut, **ANSWERS},
            summary="Change a setlist (all or nothing)")
def setlist_update(request, payload: SetlistIn, setlist_id: int = ID):
    found = services.save(request.user, payload.dict(exclude_unset=True),
                          _own(request, setlist_id))
    return services.setlist_json(found)


@router.delete("api/setlists/{int:setlist_id}", response={204: None, **ANSWERS},
               summary="Delete a setlist")
def setlist_delete(request, setlist_id: int = ID):
    _own(request, setlist_id).delete()
    return HttpResponse(status=204)


@router.post("api/setlists/{int:setlist_id}/items", response={201: ItemOut, **ANSWERS},
             url_name="setlist-items", summary="Add an item at the end")
def add_item(request, payload: ItemIn, setlist_id: int = ID):
    item = services.add_item(_own(request, setlist_id), payload.dict(exclude_unset=True))
    return Status(201, services.item_json(item))


@router.post("api/setlists/{int:setlist_id}/duplicate", response={201: SetlistOut, **ANSWERS},
             url_name="setlist-duplicate", summary="Copy a setlist (optionally to a new date)")
def duplicate(request, payload: DuplicateIn, setlist_id: int = ID):
    date = services.parse_date(payload.date) if payload.date else None
    copy = services.duplicate(_own(request, setlist_id), request.user, date)
    return Status(201, services.setlist_json(copy))


@router.get("setlists/{setlist_id}/setlist.pdf", response={**ANSWERS},
            url_name="setlist-pdf", summary="The setlist as one PDF book, every song in its key",
            openapi_extra=_file("application/pdf", "A PDF: contents, then each song"))
def export_pdf(request, setlist_id: int = ID):
    found = _own(request, setlist_id)
    return _download(export.setlist_pdf(found), "application/pdf",
                     f"setlist-{found.pk}-{found.date}.pdf")


@router.get("setlists/{setlist_id}/chordpro.zip", response={**ANSWERS},
            url_name="setlist-zip", summary="The setlist's ChordPro sources, transposed",
            openapi_extra=_file("application/zip", "A zip of .cho files in setlist order"))
def export_zip(request, setlist_id: int = ID):
    found = _own(request, setlist_id)
    return _download(export.setlist_zip(found), "application/zip",
                     f"setlist-{found.pk}-{found.date}.zip")


@router.get("api/rooms/{int:room_id}/setlist", response={200: RoomRun, 403: Error, 409: Error, **ANSWERS},
            url_name="room-setlist", summary="A room's setlist run and what is next")
def room_setlist(request, room_id: int = ID):
    room = rooms.get_open_room(room_id)
    rooms.active_participant(room, user=request.user)  # members only
    return {"run": run.room_state(room.pk)}


@router.post("api/rooms/{int:room_id}/setlist", response={200: RoomRun, 403: Error, 409: Error, **ANSWERS},
             summary="Start a setlist in a room, or step through it")
def room_setlist_change(request, payload: RunIn, room_id: int = ID):
    room = rooms.get_open_room(room_id)
    actor = rooms.active_participant(room, user=request.user)
    if payload.setlist_id is not None:
        return {"run": run.start(room.pk, actor, _own(request, payload.setlist_id))}
    if payload.step not in (1, -1):
        raise services.SetlistError('Send {"setlist_id": n} or {"step": 1 | -1}.')
    return {"run": run.step(room.pk, actor, payload.step)}
