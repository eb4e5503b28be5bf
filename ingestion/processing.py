"""The per-song work: parse a ChordPro file and (optionally) render its PDF and page images.

`process_song` runs in a worker process of the pipeline's pool, so it takes and returns plain
dicts and touches no database. A failure comes back as `{"error": ...}`; it never raises.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from . import chordpro, render
from .store import SongStore

MARKER = "source.json"  # in each image folder: which source SHA the assets were made from


def read_marker(store: SongStore, song_id: int) -> dict | None:
    try:
        return json.loads((store.image_dir(song_id) / MARKER).read_text())
    except (OSError, ValueError):
        return None


def assets_current(store: SongStore, song_id: int, sha: str) -> dict | None:
    """The marker when PDF and all page images exist for exactly this source SHA."""
    marker = read_marker(store, song_id)
    if not marker or marker.get("sha") != sha:
        return None
    if not store.has_assets(song_id, int(marker.get("pages", 0))):
        return None
    return marker


def _small_int(value: str) -> int | None:
    match = re.match(r"\s*(\d{1,3})", value or "")
    return int(match.group(1)) if match else None


def song_fields(song: chordpro.ParsedSong) -> dict:
    """The Song row's columns from a parsed file; everything else goes into `metadata`."""
    columns = {"title", "subtitle", "artist", "key", "tempo", "time", "capo", "genre", "language"}
    metadata = {k: v if len(v) > 1 else v[0] for k, v in song.meta.items() if k not in columns}
    metadata.update(song.custom)
    if song.chord_definitions:
        metadata["chord_definitions"] = song.chord_definitions
    metadata["chords"] = song.chords_used
    metadata["encoding"] = song.encoding
    return {
        "title": song.title[:300],
        "title_from_filename": not song.first("title"),
        "subtitle": song.subtitle[:300],
        "artist": song.artist[:300],
        "key": song.key[:20],
        "tempo": song.first("tempo")[:40],
        "time_signature": song.first("time")[:20],
        "capo": _small_int(song.first("capo")),
        "genre": (song.first("genre") or song.custom.get("x_genre", ""))[:100],
        "language": (song.first("language") or song.custom.get("x_language", ""))[:40],
        "lyrics": song.lyrics_text(),
        "metadata": metadata,
        "warnings": [str(w) for w in song.warnings],
    }


def previous_images(store: SongStore, song_id: int, marker: dict | None) -> dict[str, bytes]:
    """The last render's page images by page key, so unchanged pages are not redrawn."""
    previous = {}
    for number, key in enumerate((marker or {}).get("page_keys", []), start=1):
        try:
            previous[key] = store.image_path(song_id, number).read_bytes()
        except OSError:
            continue  # missing or unreadable: that page is simply rendered again
    return previous


def render_assets(song: chordpro.ParsedSong, source: Path, options: dict) -> render.Assets:
    """options: the job (chordpro_path, chordpro_timeout; id and data_dir to reuse the last
    render's unchanged pages)."""
    cli_pdf = render.render_pdf_with_cli(
        options.get("chordpro_path", ""), source, options.get("chordpro_timeout", 60.0))
    previous = None
    if "id" in options and "data_dir" in options:
        store = SongStore(Path(options["data_dir"]))
        previous = previous_images(store, options["id"], read_marker(store, options["id"]))
    return render.render_assets(song, cli_pdf=cli_pdf, previous=previous)


def process_song(job: dict) -> dict:
    """job: id, path, sha, data_dir, render (bool), chordpro_path, chordpro_timeout."""
    result = {"id": job["id"], "path": job["path"], "sha": job["sha"]}
    try:
        store = SongStore(Path(job["data_dir"]))
        source = store.source_path(job["path"])
        song = chordpro.parse_bytes(source.read_bytes(), job["path"])
        result["fields"] = song_fields(song)
        if job["render"]:
            assets = render_assets(song, source, job)
            marker = {
                "sha": job["sha"],
                "pages": len(assets.images),
                "pdf_etag": render.etag_of(assets.pdf),
                "image_etag": render.etag_of(*assets.images),
                "page_keys": assets.page_keys,
            }
            store.write_assets(job["id"], assets.pdf, assets.images, marker)
            result["rendered"] = True
            result["pages_reused"] = assets.reused
        else:
            marker = read_marker(store, job["id"]) or {}
            result["rendered"] = False
        result["page_count"] = int(marker.get("pages", 0))
        result["pdf_etag"] = marker.get("pdf_etag", "")
        result["image_etag"] = marker.get("image_etag", "")
    except Exception as exc:  # one bad song is a reported failure, never a stopped run
        result["error"] = f"{exc.__class__.__name__}: {exc}"
    return result
