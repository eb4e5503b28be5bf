"""A room run from a setlist: the host's next/previous walk through it.

Each step is `rooms.services.select_song`, so followers get the song exactly as when the host
picks it by hand — in their personal key, same events, same page cache. A run that reaches the
last song becomes a `rooms`-source setlist in the transition graph.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from rooms import services as rooms
from rooms.models import Participant

from .models import Setlist, SetlistRun, SongUse
from .services import SetlistError, item_json


def _select(run: SetlistRun, actor: Participant) -> None:
    item = run.setlist.items.filter(position=run.position).select_related("song").first()
    if item is None or item.song_id is None:
        return  # a work without a chord sheet: the room keeps showing the previous sheet
    rooms.select_song(run.room_id, actor, item.song_id)
    SongUse.objects.create(song_id=item.song_id, room_id=run.room_id, setlist=run.setlist)


def start(room_id, actor: Participant, setlist: Setlist) -> dict:
    rooms.require_control(actor)
    if not setlist.items.exists():
        raise SetlistError("The setlist is empty.")
    run, _ = SetlistRun.objects.update_or_create(
        room_id=room_id, defaults={"setlist": setlist, "position": 1,
                                   "started_at": timezone.now(), "graph_setlist_id": None})
    _select(run, actor)
    return state(run)


def step(room_id, actor: Participant, delta: int) -> dict:
    """Move `delta` songs (+1 next, -1 previous), clamped to the setlist."""
    rooms.require_control(actor)
    with transaction.atomic():
        run = SetlistRun.objects.select_for_update().select_related("setlist").filter(
            room_id=room_id).first()
        if run is None:
            raise SetlistError("This room is not running a setlist.")
        last = run.setlist.items.count()
        position = max(1, min(last, run.position + delta))
        moved = position != run.position
        run.position = position
        run.save(update_fields=["position"])
    if moved:
        _select(run, actor)
        if position == last:
            finish(run)
    return state(run)


def state(run: SetlistRun) -> dict:
    """The run for the room page: where we are and what is next (the queue)."""
    items = list(run.setlist.items.select_related("song"))
    return {"setlist_id": run.setlist_id, "name": run.setlist.name, "position": run.position,
            "count": len(items),
            "current": next((item_json(i) for i in items if i.position == run.position), None),
            "next": [item_json(i) for i in items if i.position > run.position]}


def room_state(room_id) -> dict | None:
    run = SetlistRun.objects.select_related("setlist").filter(room_id=room_id).first()
    return state(run) if run else None


def finish(run: SetlistRun) -> int | None:
    """Mark the setlist played and store it in the graph (source "rooms"), once per run."""
    from graph.etl import import_setlist
    from graph.parsers import ParsedSetlist

    setlist = run.setlist
    parsed = ParsedSetlist(title=setlist.name, event="songhub room", date=setlist.date)
    for item in setlist.items.select_related("song", "work"):
        artist = (item.song.artist if item.song else item.work.artist if item.work else "")
        parsed.add(f"{artist} - {item.title}" if artist else item.title)
    payload = "\n".join(e.raw_line for e in parsed.entries)
    result = import_setlist(parsed, source="rooms", payload=payload, fmt="text",
                            external_id=f"room-{run.room_id}-run-{run.pk}-{run.started_at:%s}",
                            meta={"setlist_id": setlist.pk, "room_id": run.room_id})
    Setlist.objects.filter(pk=setlist.pk).update(played_at=timezone.now())
    SetlistRun.objects.filter(pk=run.pk).update(graph_setlist_id=result.setlist_id)
    return result.setlist_id
