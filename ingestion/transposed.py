"""Page images in a personal key: rendered on demand, cached per song, source and key.

The built-in renderer's vertical layout does not depend on chord names, so a transposed copy
breaks pages exactly where the original does and page numbers match the host's.
"""

from __future__ import annotations

from pathlib import Path

from . import chordpro, render
from .models import Song
from .store import SongStore, atomic_write


def transposed_page(store: SongStore, song: Song, page: int, semitones: int) -> Path:
    folder = store.image_dir(song.id) / f"key{semitones:+d}-{song.source_sha[:12]}"
    target = folder / f"page_{page}.webp"
    if not target.exists():
        parsed = chordpro.parse_bytes(store.source_path(song.filename).read_bytes(), song.filename)
        images = render.page_images(render.render_pdf(parsed, semitones=semitones))
        for number, image in enumerate(images, start=1):
            atomic_write(folder / f"page_{number}.webp", image)
    return target
