"""Setlists as plain Python: validation, saving items in order, duplicating, the usage report.

Views and admin call these; errors are `SetlistError`s with a code the JSON views pass on.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

from django.db import transaction
from django.db.models import Count, Max, Q
from django.utils import timezone

from ingestion.models import Song
from works.models import Work

from .models import Setlist, SetlistItem, SongUse

MAX_ITEMS = 200


class SetlistError(Exception):
    code = "invalid"
    status = 400


class NotFound(SetlistError):
    code = "not_found"
    status = 404


def _int(value, name: str, low: int, high: int, default=None):
    if value is None or value == "":
        if default is not None:
            return default
        raise SetlistError(f"{name} is required.")
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise SetlistError(f"{name} must be a whole number.")
    try:
        number = int(value)
    except ValueError:
        raise SetlistError(f"{name} must be a whole number.") from None
    if not low <= number <= high:
        raise SetlistError(f"{name} must be between {low} and {high}.")
    return number


def parse_date(value, name: str = "date") -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise SetlistError(f"{name} must be a date like 2026-11-22.") from None


def clean_item(raw) -> dict:
    """One item from JSON: `song_id` or `work_id`, plus key, capo, notes, duration."""
    if not isinstance(raw, dict):
        raise SetlistError("Each item must be an object.")
    song = work = None
    if raw.get("song_id") not in (None, ""):
        song = Song.objects.filter(pk=_int(raw["song_id"], "song_id", 1, 2**31 - 1)).first()
        if song is None:
            raise NotFound(f"No song {raw['song_id']!r}.")
    if raw.get("work_id") not in (None, ""):
        work = Work.objects.filter(pk=_int(raw["work_id"], "work_id", 1, 2**62)).first()
        if work is None:
            raise NotFound(f"No work {raw['work_id']!r}.")
    if song is None and work is None:
        raise SetlistError("Each item needs a song_id or a work_id.")
    notes = raw.get("notes") or ""
    if not isinstance(notes, str) or len(notes) > 2000:
        raise SetlistError("notes must be text of at most 2000 characters.")
    return {
        "song": song, "work": work, "title": (song or work).title[:300],
        "transpose": _int(raw.get("transpose"), "transpose", -11, 11, default=0),
        "capo": _int(raw.get("capo"), "capo", 0, 12, default=0),
        "notes": notes,
        "duration": (None if raw.get("duration") in (None, "")
                     else _int(raw.get("duration"), "duration", 0, 24 * 3600)),
    }


def save(owner, data: dict, setlist: Setlist | None = None) -> Setlist:
    """Create or replace a setlist from JSON; `items` (if given) replaces all items in order,
    which is also how a reorder is saved. All or nothing."""
    if not isinstance(data, dict):
        raise SetlistError("The body must be a JSON object.")
    name = data.get("name", setlist.name if setlist else None)
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise SetlistError("name is required (at most 200 characters).")
    date = parse_date(data["date"]) if data.get("date") else (
        setlist.date if setlist else timezone.localdate())
    items = data.get("items")
    if items is not None and (not isinstance(items, list) or len(items) > MAX_ITEMS):
        raise SetlistError(f"items must be a list of at most {MAX_ITEMS}.")
    cleaned = [clean_item(raw) for raw in items] if items is not None else None
    with transaction.atomic():
        if setlist is None:
            setlist = Setlist.objects.create(name=name.strip(), date=date, owner=owner)
        else:
            setlist.name, setlist.date = name.strip(), date
            setlist.save(update_fields=["name", "date"])
        if cleaned is not None:
            setlist.items.all().delete()
            SetlistItem.objects.bulk_create(
                SetlistItem(setlist=setlist, position=n, **item)
                for n, item in enumerate(cleaned, start=1))
    return setlist


def add_item(setlist: Setlist, raw) -> SetlistItem:
    item = clean_item(raw)
    with transaction.atomic():
        Setlist.objects.select_for_update().filter(pk=setlist.pk).first()
        last = setlist.items.aggregate(m=Max("position"))["m"] or 0
        if last >= MAX_ITEMS:
            raise SetlistError(f"A setlist holds at most {MAX_ITEMS} songs.")
        return SetlistItem.objects.create(setlist=setlist, position=last + 1, **item)


def duplicate(setlist: Setlist, owner, date=None) -> Setlist:
    """A copy of a past setlist for a new date: same songs, keys, capos and notes."""
    with transaction.atomic():
        copy = Setlist.objects.create(name=setlist.name, owner=owner,
                                      date=date or timezone.localdate())
        SetlistItem.objects.bulk_create(
            SetlistItem(setlist=copy, position=i.position, song=i.song, work=i.work,
                        title=i.title, transpose=i.transpose, capo=i.capo, notes=i.notes,
                        duration=i.duration)
            for i in setlist.items.all())
    return copy


def item_json(item: SetlistItem) -> dict:
    return {"id": item.id, "position": item.position, "song_id": item.song_id,
            "work_id": item.work_id, "title": item.title, "transpose": item.transpose,
            "capo": item.capo, "notes": item.notes, "duration": item.duration,
            "key": _key(item)}


def _key(item: SetlistItem) -> str:
    from ingestion.transpose import transpose_key

    if item.song is None or not item.song.key:
        return ""
    return transpose_key(item.song.key, item.transpose)


def setlist_json(setlist: Setlist) -> dict:
    items = list(setlist.items.select_related("song"))
    return {"id": setlist.id, "name": setlist.name, "date": setlist.date.isoformat(),
            "owner": setlist.owner.get_username(),
            "played_at": setlist.played_at.isoformat() if setlist.played_at else None,
            "duration": sum(i.duration or 0 for i in items),
            "items": [item_json(i) for i in items]}


def usage(start: dt.date, end: dt.date) -> list[dict]:
    """How often each song was in a setlist dated in [start, end] and shown in a room then —
    the per-song counts churches report for licensing (CCLI and the like)."""
    if end < start:
        raise SetlistError("to must not be before from.")
    in_setlists = (SetlistItem.objects.filter(setlist__date__range=(start, end), song__isnull=False)
                   .values("song_id").annotate(n=Count("id")))
    begin = timezone.make_aware(dt.datetime.combine(start, dt.time.min))
    finish = timezone.make_aware(dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min))
    in_rooms = (SongUse.objects.filter(used_at__gte=begin, used_at__lt=finish)
                .values("song_id").annotate(n=Count("id"), setlist_runs=Count(
                    "id", filter=Q(setlist__isnull=False))))
    counts: dict[int, dict] = {}
    for row in in_setlists:
        counts.setdefault(row["song_id"], {"setlists": 0, "rooms": 0})["setlists"] = row["n"]
    for row in in_rooms:
        counts.setdefault(row["song_id"], {"setlists": 0, "rooms": 0})["rooms"] = row["n"]
    songs = Song.objects.in_bulk(list(counts))
    rows = [{"song_id": sid, "title": songs[sid].title, "artist": songs[sid].artist,
             "setlists": c["setlists"], "rooms": c["rooms"], "total": c["setlists"] + c["rooms"]}
            for sid, c in counts.items() if sid in songs]
    return sorted(rows, key=lambda r: (-r["total"], r["title"].lower()))


def usage_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["song_id", "title", "artist", "setlists", "rooms", "total"])
    for r in rows:
        writer.writerow([r["song_id"], r["title"], r["artist"], r["setlists"], r["rooms"],
                         r["total"]])
    return out.getvalue()
