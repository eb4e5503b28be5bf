"""Page images in a personal key: rendered on demand, cached per song, source and key.

The built-in renderer's vertical layout does not depend on chord names, so a transposed copy
breaks pages exactly where the original does and page numbers match the host's.

Rendering a key costs ~0.7 s of CPU, so it never happens in the web process: `request_render`
enqueues `ingestion.tasks.render_transposed_task` (once per song, source and key while it is
pending) and refuses when all TRANSPOSE_RENDERS_IN_FLIGHT slots are taken by renders queued or
running, so eager clients cannot flood the worker pool. The view answers 202 meanwhile.

`page_etag` is the one place a page image's tag is built: the HTTP `ETag` of
`/songs/{id}/pages/{n}` and the `image_etag` of room events, so a client revalidating with the
event's tag gets `304 Not Modified`.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.cache import cache

from . import chordpro, render
from .models import Song
from .store import SongStore, atomic_write


def page_etag(image_etag: str, page: int, semitones: int = 0) -> str:
    """`{image_etag}-{page}-k{semitones}`, or "" while the song has no images."""
    return f"{image_etag}-{page}-k{semitones}" if image_etag else ""


def transposed_path(store: SongStore, song: Song, page: int, semitones: int) -> Path:
    folder = store.image_dir(song.id) / f"key{semitones:+d}-{song.source_sha[:12]}"
    return folder / f"page_{page}.webp"


def render_transposed(store: SongStore, song: Song, semitones: int) -> None:
    """Render every page of `song` in a key (CPU-heavy: run it in the worker pool)."""
    folder = transposed_path(store, song, 1, semitones).parent
    parsed = chordpro.parse_bytes(store.source_path(song.filename).read_bytes(), song.filename)
    images = render.page_images(render.render_pdf(parsed, semitones=semitones))
    for number, image in enumerate(images, start=1):
        atomic_write(folder / f"page_{number}.webp", image)


RENDER_TIMEOUT = 300  # seconds a slot stays taken at most (a lost task frees it by itself)


def _pending_key(song: Song, semitones: int) -> str:
    return f"transpose:pending:{song.id}:{song.source_sha[:12]}:{semitones}"


def slot_keys() -> list[str]:
    return [f"transpose:slot:{n}" for n in range(settings.TRANSPOSE_RENDERS_IN_FLIGHT)]


def request_render(song: Song, semitones: int) -> str:
    """Queue a render of `song` in a key unless one is pending: "queued", "pending", or "busy"
    (every slot is taken; try later). Slots are cache keys with a timeout, so a task lost on
    the way cannot hold one for longer than RENDER_TIMEOUT."""
    from .tasks import render_transposed_task

    pending = _pending_key(song, semitones)
    if cache.get(pending) is not None:
        return "pending"
    slot = next((key for key in slot_keys() if cache.add(key, pending, RENDER_TIMEOUT)), None)
    if slot is None:
        return "busy"
    if not cache.add(pending, slot, RENDER_TIMEOUT):  # another request won the race
        cache.delete(slot)
        return "pending"
    render_transposed_task.delay(song.id, song.source_sha, semitones)
    return "queued"


def finish_render(song: Song, semitones: int) -> None:
    """Free the slot taken by `request_render` (the task calls it, success or not)."""
    pending = _pending_key(song, semitones)
    slot = cache.get(pending)
    if slot is not None and cache.get(slot) == pending:
        cache.delete(slot)
    cache.delete(pending)
