"""A setlist as one PDF book (contents page + every song in its chosen key) and as a ZIP of
ChordPro sources carrying `{transpose: n}`.

The PDF is drawn by the chord-sheet renderer itself (`ingestion.render.draw_song`) into one
document, so text stays text (searchable, small, crisp) — never pasted page images.
"""

from __future__ import annotations

import io
import re
import zipfile

import pymupdf
from django.conf import settings

from ingestion import chordpro, render
from ingestion.store import SongStore
from ingestion.transpose import transpose_key

from .models import Setlist, SetlistItem

CONTENTS_TITLE = "Contents"
_DIRECTIVE = re.compile(r"^\s*\{\s*(title|t|subtitle|st|artist|key|meta)\b", re.I)


def _store() -> SongStore:
    return SongStore(settings.SONG_DATA_DIR)


def _source(store: SongStore, item: SetlistItem) -> bytes | None:
    if item.song is None:
        return None
    path = store.source_path(item.song.filename)
    return path.read_bytes() if path.exists() else None


def _items(setlist: Setlist) -> list[SetlistItem]:
    return list(setlist.items.select_related("song"))


def setlist_pdf(setlist: Setlist) -> bytes:
    """Contents page first (title, key, capo, page), then each song; PDF bookmarks per song.
    Items without a chord sheet are listed in the contents as "no chord sheet"."""
    store = _store()
    songs = []
    for item in _items(setlist):
        data = _source(store, item)
        songs.append((item, chordpro.parse_bytes(data, item.song.filename) if data else None))
    doc = pymupdf.open()
    try:
        doc.new_page(width=render.PAGE_WIDTH, height=render.PAGE_HEIGHT)  # contents, drawn last
        toc, starts = [[1, CONTENTS_TITLE, 1]], []
        for item, parsed in songs:
            if parsed is None:
                starts.append(None)
                continue
            starts.append(doc.page_count + 1)
            render.draw_song(doc, parsed, item.transpose)
            toc.append([1, f"{item.position}. {item.title}", starts[-1]])
        _draw_contents(doc[0], setlist, songs, starts)
        doc.set_toc(toc)
        doc.set_metadata({"title": f"{setlist.name} — {setlist.date}", "creator": "songhub"})
        doc.subset_fonts()
        return doc.tobytes(garbage=3, deflate=True)
    finally:
        doc.close()


def _draw_contents(page, setlist: Setlist, songs, starts) -> None:
    margin, y = render.MARGIN, render.MARGIN + 10
    page.insert_text((margin, y), setlist.name, fontsize=20, fontname="helv")
    y += 22
    page.insert_text((margin, y), f"{setlist.date:%A %d %B %Y} — {CONTENTS_TITLE}",
                     fontsize=11, fontname="helv", color=render.COMMENT_COLOR)
    y += 28
    for (item, parsed), start in zip(songs, starts):
        key = parsed.first("key") if parsed else ""
        key = transpose_key(key, item.transpose) if key else ""
        details = "  ".join(filter(None, [f"key {key}" if key else "",
                                          f"capo {item.capo}" if item.capo else ""]))
        line = f"{item.position}. {item.title}" + (f"  ({details})" if details else "")
        page.insert_text((margin, y), line[:90], fontsize=12, fontname="helv")
        right = str(start) if start else "no chord sheet"
        page.insert_text((render.PAGE_WIDTH - margin - 80, y), right, fontsize=12,
                         fontname="helv")
        if start:
            page.insert_link({"kind": pymupdf.LINK_GOTO, "page": start - 1,
                              "from": pymupdf.Rect(margin, y - 12, render.PAGE_WIDTH - margin,
                                                   y + 3)})
        y += 18
        if y > render.PAGE_HEIGHT - margin:  # more than ~40 songs: the rest are in bookmarks
            break


def with_transpose(source: str, semitones: int, capo: int = 0) -> str:
    """The source with `{transpose: n}` (and `{capo: n}`) after its leading metadata lines,
    so ChordPro tools show the chords in the setlist's key."""
    if not semitones and not capo:
        return source
    lines = source.splitlines(keepends=True)
    at = 0
    while at < len(lines) and (_DIRECTIVE.match(lines[at]) or not lines[at].strip()):
        at += 1
    added = (f"{{transpose: {semitones}}}\n" if semitones else "") + (
        f"{{capo: {capo}}}\n" if capo else "")
    return "".join(lines[:at] + [added] + lines[at:])


def _safe(name: str) -> str:
    return re.sub(r"[^\w\- ]+", "", name).strip()[:80] or "song"


def setlist_zip(setlist: Setlist) -> bytes:
    store, out = _store(), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for item in _items(setlist):
            data = _source(store, item)
            if data is None:
                continue
            text, _ = chordpro.decode(data)
            archive.writestr(f"{item.position:02d} - {_safe(item.title)}.cho",
                             with_transpose(text, item.transpose, item.capo))
    return out.getvalue()
