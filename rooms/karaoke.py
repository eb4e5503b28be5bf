"""The karaoke queue and the shared player: rules on top of rooms.services (same locking,
same `emit`, same errors).

Who may do what:
- the host and allowed controllers: everything (add, remove, reorder, "play next", skip,
  playback, queue mode, whether guests may add songs);
- any member, when the host allows it (`Room.guests_can_queue`): add songs, and remove the
  ones they added;
- player state reports: the host, or a display the host admitted (`can_control`).

The singer of an entry is always whoever queued it. A song already in the queue is refused.
Every number that reaches the database or a frame is finite and within its range.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from ingestion.models import Song

from . import events
from .models import Participant, PlayerState, QueueItem, Room, new_entry_id
from .services import (Forbidden, Invalid, NotFound, StaleVersion, _locked, _song_id,
                       can_control, emit, number, require_control, text)

logger = logging.getLogger(__name__)
Role = Participant.Role
PLAY_STATES = set(PlayerState.PlayState.values)
MAX_SECONDS = 24 * 3600  # longer than any song or video we queue
ENTRY_FIELDS = {"title": 300, "artist": 300, "thumbnail_url": 1000, "video_url": 2000,
                "source": 40, "uploader": 200}


# --- reading --------------------------------------------------------------------------------
def ordered_queue(room: Room) -> list[QueueItem]:
    """Pinned ('play next') items first, newest pin first; then items the host placed by
    dragging, in that order; then the rest by fair rotation (round-robin by singer, each
    singer's songs in the order added) or first come."""
    items = list(room.queue.all())
    pinned = sorted((i for i in items if i.pinned_at), key=lambda i: i.pinned_at, reverse=True)
    placed = sorted((i for i in items if not i.pinned_at and i.position is not None),
                    key=lambda i: i.position)
    rest = [i for i in items if not i.pinned_at and i.position is None]
    if room.queue_mode == Room.QueueMode.FAIR:
        by_singer: dict[str, list[QueueItem]] = {}
        for item in rest:  # already in added order
            by_singer.setdefault(item.singer, []).append(item)
        rounds = []
        while any(by_singer.values()):
            for singer in list(by_singer):
                if by_singer[singer]:
                    rounds.append(by_singer[singer].pop(0))
        rest = rounds
    return pinned + placed + rest


def entry_json(item: QueueItem) -> dict:
    return {"id": item.entry_id, "song_id": item.song_id, "title": item.title,
            "artist": item.artist, "duration": item.duration,
            "thumbnail_url": item.thumbnail_url or None, "video_url": item.video_url or None,
            "source": item.source, "uploader": item.uploader}


def queue_state(room: Room) -> dict:
    return {
        "items": [{"id": i.entry_id, "entry": entry_json(i), "singer": i.singer,
                   "queued_by": i.queued_by_id, "added_at": i.added_at.timestamp(),
                   "added_by": i.singer}
                  for i in ordered_queue(room)],
        "mode": room.queue_mode,
        "guests_can_queue": room.guests_can_queue,
        "version": room.queue_version,
        "timestamp": events.now_ts(),
    }


def player_state(room: Room) -> dict:
    player, _ = PlayerState.objects.get_or_create(room=room)
    return {"entry": player.entry, "play_state": player.play_state,
            "current_time": player.current_time, "duration": player.duration,
            "volume": player.volume, "version": player.version,
            "timestamp": player.updated_at.timestamp()}


# --- validation -----------------------------------------------------------------------------
def clean_entry(entry) -> dict:
    """The fields of a queue or player entry, validated; `song` is the Song or None."""
    if not isinstance(entry, dict):
        raise Invalid("An entry must be an object.")
    song = None
    if entry.get("song_id") is not None:
        song = Song.objects.filter(pk=_song_id(entry["song_id"])).first()
        if song is None:
            raise NotFound(f"No song {entry['song_id']!r}.")
    fields = {name: text(entry.get(name), name, limit) for name, limit in ENTRY_FIELDS.items()}
    fields["title"] = fields["title"] or (song.title if song else "")
    if not fields["title"]:
        raise Invalid("An entry needs a title (or a song_id).")
    fields["artist"] = fields["artist"] or (song.artist if song else "")
    fields["source"] = fields["source"] or "songhub"
    duration = entry.get("duration")
    fields["duration"] = None if duration is None else number(duration, "duration", 0,
                                                              MAX_SECONDS)
    entry_id = entry.get("id")
    if entry_id is not None and (isinstance(entry_id, bool)
                                 or not isinstance(entry_id, (str, int))):
        raise Invalid("id must be text.")
    fields["entry_id"] = text(str(entry_id), "id", 64) if entry_id is not None else ""
    fields["song"] = song
    return fields


def _check_queue_version(room: Room, payload: dict) -> None:
    version = payload.get("version")
    if version is not None and version != room.queue_version:
        raise StaleVersion(f"The queue changed (version {room.queue_version}, you sent "
                           f"{version!r}).", {"current": queue_state(room)})


def _entry(room: Room, entry_id) -> QueueItem:
    item = (room.queue.filter(entry_id=entry_id).first()
            if isinstance(entry_id, str) and entry_id and "\x00" not in entry_id else None)
    if item is None:
        raise NotFound(f"No queue entry {entry_id!r}.")
    return item


# --- queue ----------------------------------------------------------------------------------
def queue_song(room_id, actor: Participant, entry) -> dict:
    fields = clean_entry(entry)
    with transaction.atomic():
        room = _locked(room_id)
        if not can_control(actor) and not room.guests_can_queue:
            raise Forbidden("The host has not allowed guests to add songs.")
        _check_queue_version(room, entry)
        duplicate = room.queue.filter(**(
            {"song": fields["song"]} if fields["song"] else
            {"video_url": fields["video_url"]} if fields["video_url"] else
            {"title__iexact": fields["title"], "artist__iexact": fields["artist"]})).first()
        if duplicate is None and fields["entry_id"]:
            duplicate = room.queue.filter(entry_id=fields["entry_id"]).first()
        if duplicate is not None:
            raise Invalid(f"“{duplicate.title}” is already in the queue (sung by "
                          f"{duplicate.singer}).", {"reason": "duplicate",
                                                    "entry_id": duplicate.entry_id})
        QueueItem.objects.create(room=room, **{**fields, "entry_id": fields["entry_id"]
                                               or new_entry_id()},
                                 singer=actor.display_name[:60], queued_by=actor,
                                 added_by=actor.user)
        return _queue_changed(room)


def remove_song(room_id, actor: Participant, entry_id) -> dict:
    with transaction.atomic():
        room = _locked(room_id)
        item = _entry(room, entry_id)
        if not can_control(actor) and item.queued_by_id != actor.pk:
            raise Forbidden("You can only remove songs you added.")
        item.delete()
        return _queue_changed(room)


def queue_next_song(room_id, actor: Participant, entry_id) -> dict:
    """'Play next': pin the entry to the front."""
    require_control(actor)
    with transaction.atomic():
        room = _locked(room_id)
        item = _entry(room, entry_id)
        QueueItem.objects.filter(pk=item.pk).update(pinned_at=timezone.now())
        return _queue_changed(room)


def move_song(room_id, actor: Participant, entry_id, position) -> dict:
    """Drag to reorder: `position` is the entry's new 0-based index. The whole current order
    is written down, so it stays as shown; songs added later follow in queue-mode order."""
    require_control(actor)
    if isinstance(position, bool) or not isinstance(position, int) or position < 0:
        raise Invalid("position must be a whole number from 0.")
    with transaction.atomic():
        room = _locked(room_id)
        order = ordered_queue(room)
        item = _entry(room, entry_id)
        order = [i for i in order if i.pk != item.pk]
        order.insert(min(position, len(order)), item)
        for index, each in enumerate(order):
            each.position, each.pinned_at = index, None
        QueueItem.objects.bulk_update(order, ["position", "pinned_at"])
        return _queue_changed(room)


def clear_queue(room_id, actor: Participant) -> dict:
    require_control(actor)
    with transaction.atomic():
        room = _locked(room_id)
        room.queue.all().delete()
        return _queue_changed(room)


def set_queue_mode(room_id, actor: Participant, mode) -> dict:
    require_control(actor)
    if mode not in Room.QueueMode.values:
        raise Invalid(f"mode must be one of {', '.join(Room.QueueMode.values)}.")
    with transaction.atomic():
        room = _locked(room_id)
        room.queue_mode = mode
        return _queue_changed(room, extra_fields=["queue_mode"])


def set_guests_can_queue(room_id, actor: Participant, allowed) -> dict:
    require_control(actor)
    if not isinstance(allowed, bool):
        raise Invalid("allowed must be true or false.")
    with transaction.atomic():
        room = _locked(room_id)
        room.guests_can_queue = allowed
        return _queue_changed(room, extra_fields=["guests_can_queue"])


def _queue_changed(room: Room, extra_fields=()) -> dict:
    room.queue_version += 1
    state = queue_state(room)
    emit(room, "queue_update", events.QueueUpdate(**state), save=("queue_version", *extra_fields))
    return state


# --- player ---------------------------------------------------------------------------------
def play_next(room_id, actor: Participant) -> dict:
    """Skip to the head of the queue: it leaves the queue and loads in the player."""
    require_control(actor)
    with transaction.atomic():
        room = _locked(room_id)
        queue = ordered_queue(room)
        if not queue:
            raise Invalid("The queue is empty.")
        return _start_head(room, queue)


def song_ended(room_id, actor: Participant, payload) -> dict:
    """The display's `queue_update` at the end of a song: the head of the queue moves into the
    player (or the player finishes when the queue is empty). `ended_entry_id` names the entry
    that ended (null: the player is empty, start the head); when the player already moved on
    (a second display, a resend) nothing changes, so the queue advances once per song however
    many displays report it."""
    if not (actor.role == Role.HOST or (actor.role == Role.DISPLAY and actor.can_control)):
        raise Forbidden("Only the host or a display the host admitted advances the queue.")
    if not isinstance(payload, dict):
        raise Invalid("queue_update must be an object.")
    ended = payload.get("ended_entry_id")
    if ended is not None and not isinstance(ended, str):
        raise Invalid("ended_entry_id must be text.")
    with transaction.atomic():
        room = _locked(room_id)
        player = PlayerState.objects.select_for_update().get(room=room)
        current = (player.entry or {}).get("id")
        if "ended_entry_id" in payload and ended != current:
            return queue_state(room)
        queue = ordered_queue(room)
        if queue:
            _start_head(room, queue)
        elif player.entry is not None or player.play_state != "finished":
            _update_player(room, entry=None, play_state="finished", current_time=0.0,
                           duration=0.0)
        return queue_state(room)


def _start_head(room: Room, queue: list[QueueItem]) -> dict:
    """Move the head of the queue into the player, its video URL resolved now (lazily: the
    provider is asked when the entry is about to play, so expiring URLs are fresh)."""
    item = queue[0]
    entry = entry_json(item)
    entry["video_url"] = resolve_video_url(entry)
    item.delete()
    _queue_changed(room)
    return _update_player(room, entry=entry, play_state="loading", current_time=0.0,
                          duration=float(item.duration or 0))


def resolve_video_url(entry: dict) -> str | None:
    """The entry's playable URL from its provider (cached for the provider's TTL, so an
    expired URL is resolved again); the queued URL when the source is no provider or the
    provider cannot answer."""
    from . import sources

    if not entry.get("id") or entry.get("source") not in sources.providers():
        return entry.get("video_url")
    try:
        return sources.get_video_url(entry["source"], entry["id"]) or entry.get("video_url")
    except sources.ProviderError as exc:
        logger.warning("karaoke: no video URL for %s/%s: %s", entry["source"], entry["id"], exc)
        return entry.get("video_url")


def control_player(room_id, actor: Participant, **changes) -> dict:
    """play_song / pause_song / set_volume from the host or an allowed controller."""
    require_control(actor)
    if "volume" in changes:
        changes["volume"] = number(changes["volume"], "volume", 0, 1)
    with transaction.atomic():
        room = _locked(room_id)
        state = _update_player(room, **changes)
        # the seed's commands to displays, after the player_state they follow from
        if changes.get("play_state") == "playing":
            emit(room, "play_song", {})
        elif changes.get("play_state") == "paused":
            emit(room, "pause_song", {})
        if "volume" in changes:
            # an object, not the seed's bare number: every event carries `room_version`
            emit(room, "set_volume", {"volume": changes["volume"]})
        return state


def report_player_state(room_id, actor: Participant, state, controller: bool) -> dict:
    """A display reports what it plays (or a controller sets it); stale versions are refused.
    Only the host, an allowed controller or a display the host admitted may."""
    if controller:
        require_control(actor)
    elif not (actor.role == Role.HOST or (actor.role == Role.DISPLAY and actor.can_control)):
        raise Forbidden("Only the host or a display the host admitted reports player state.")
    if not isinstance(state, dict):
        raise Invalid("player state must be an object.")
    changes = {}
    if "play_state" in state:
        if not isinstance(state["play_state"], str) or state["play_state"] not in PLAY_STATES:
            raise Invalid(f"play_state must be one of {', '.join(sorted(PLAY_STATES))}.")
        changes["play_state"] = state["play_state"]
    for name, high in (("current_time", MAX_SECONDS), ("duration", MAX_SECONDS),
                       ("volume", 1)):
        if name in state:
            changes[name] = number(state[name], name, 0, high)
    if "entry" in state:
        if state["entry"] is None:
            changes["entry"] = None
        else:
            fields = clean_entry(state["entry"])
            changes["entry"] = {"id": fields["entry_id"] or None,
                                "song_id": fields["song"].pk if fields["song"] else None,
                                **{k: fields[k] for k in (*ENTRY_FIELDS, "duration")}}
    with transaction.atomic():
        room = _locked(room_id)
        player = PlayerState.objects.select_for_update().get(room=room)
        version = state.get("version")
        if isinstance(version, bool) or version != player.version:
            raise StaleVersion(f"Player state is at version {player.version}; you sent "
                               f"{version!r}.", {"current": player_state(room)})
        return _update_player(room, **changes)


def _update_player(room: Room, **changes) -> dict:
    player = PlayerState.objects.select_for_update().get(room=room)
    for name, value in changes.items():
        setattr(player, name, value)
    player.version += 1
    player.updated_at = timezone.now()
    player.save()
    state = player_state(room)
    emit(room, "player_state", events.PlayerStateEvent(**state))
    return state
