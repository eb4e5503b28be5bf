"""Page images in a personal key: rendered on demand, cached per song, source and key.

The built-in renderer's vertical layout does not depend on chord names, so a transposed copy
breaks pages exactly where the original does and page numbers match the host's.

`page_etag` is the one place a page image's tag is built: the HTTP `ETag` of
`/songs/{id}/pages/{n}` and the `image_etag` of room events, so a client revalidating with the
event's tag gets `304 Not Modified`.
"""

from __future__ import annotations

from pathlib import Path

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


def transposed_page(store: SongStore, song: Song, page: int, semitones: int) -> Path:
    target = transposed_path(store, song, page, semitones)
    if not target.exists():
        render_transposed(store, song, semitones)
    return target
