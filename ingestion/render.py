"""Chord-sheet rendering: ChordPro -> PDF (PyMuPDF) -> one WebP image per page (Pillow).

The built-in renderer lays the song out as blocks (a chord row plus its lyric row never split
across pages, a section label stays with its first line) and then draws them. Vertical layout
never depends on chord names, so a transposed copy breaks pages at the same places and page
numbers match between keys.

`render_assets` makes a song's PDF and page images in one pass: each page is rasterised once,
at IMAGE_DPI, straight from the document just drawn (not from the serialised PDF), handed to
the WebP encoder without copying its pixels, and not rasterised at all when its drawing is the
same as the last render's (`page_key`); the output is byte-identical to rendering the PDF file.
PyMuPDF and Pillow are imported on first use, so importing this module (every management
command does, through the admin and tasks) costs nothing.
"""

from __future__ import annotations

import functools
import hashlib
import io
import logging
import os
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pymupdf

from .chordpro import VERBATIM_KINDS, Line, ParsedSong, Section
from .transpose import transpose_chord, transpose_key

logger = logging.getLogger(__name__)

PAGE_WIDTH, PAGE_HEIGHT = 595, 842  # A4 in points: pymupdf.paper_size("a4")
MARGIN = 48
BODY_WIDTH = PAGE_WIDTH - 2 * MARGIN
LYRIC_SIZE = 12
CHORD_SIZE = 11
LINE_GAP = 3
CHORUS_INDENT = 18
IMAGE_DPI = 100
WEBP_QUALITY = 80
CHORD_COLOR = (0.05, 0.25, 0.6)
COMMENT_COLOR = (0.35, 0.35, 0.35)

RENDER_VERSION = 1  # part of every page key: bump when drawing changes but the PDF does not
_WIDTHS: dict[tuple[str, str], float] = {}  # (font key, char) -> advance at size 1


@functools.cache
def _fonts() -> dict:
    """Base-14 fonts for Latin text; MuPDF's built-in CJK fallback for everything else."""
    import pymupdf

    return {
        "regular": pymupdf.Font("helv"),
        "bold": pymupdf.Font("hebo"),
        "italic": pymupdf.Font("heit"),
        "mono": pymupdf.Font("cour"),
        "cjk": pymupdf.Font("cjk"),
    }


def _font_key(style: str, text: str) -> str:
    if text.isascii():  # nearly every run; the base-14 fonts have every Latin-1 glyph
        return style
    font = _fonts()[style]
    if any(ord(ch) > 0xFF and not font.has_glyph(ord(ch)) for ch in text):
        return "cjk"
    return style


def text_width(text: str, style: str, size: float) -> float:
    """Width in points; per-character advances are cached (MuPDF's lookup is slow per call)."""
    key = _font_key(style, text)
    total = 0.0
    for ch in text:
        width = _WIDTHS.get((key, ch))
        if width is None:
            width = _WIDTHS[(key, ch)] = _fonts()[key].text_length(ch, fontsize=1)
        total += width
    return total * size


# --- Layout --------------------------------------------------------------------------------
@dataclass
class Draw:
    """One text run on a page."""

    x: float
    y: float  # baseline
    text: str
    style: str
    size: float
    color: tuple[float, float, float] = (0, 0, 0)


@dataclass
class Block:
    """Something that must stay on one page; `height` includes the gap after it."""

    height: float
    draws: list[Draw] = field(default_factory=list)
    bars: list[tuple[float, float]] = field(default_factory=list)  # chorus bar (y0, y1) offsets
    boxes: list[tuple[float, float, float, float]] = field(default_factory=list)
    page_break: bool = False


def _header_blocks(song: ParsedSong, semitones: int) -> list[Block]:
    block = Block(0)
    y = 20
    block.draws.append(Draw(MARGIN, y, song.title, "bold", 20))
    y += 8
    for subtitle in song.meta.get("subtitle", []):
        y += 15
        block.draws.append(Draw(MARGIN, y, subtitle, "italic", 12, COMMENT_COLOR))
    people = [song.first(k) for k in ("artist", "composer", "lyricist") if song.first(k)]
    if people:
        y += 15
        block.draws.append(Draw(MARGIN, y, " · ".join(dict.fromkeys(people)), "regular", 11))
    facts = []
    key = song.key
    if key:
        shown = transpose_key(key, semitones)
        facts.append(f"Key {shown}" + (f" (orig. {key})" if shown != key else ""))
    for label, name in (("Capo", "capo"), ("Tempo", "tempo"), ("Time", "time")):
        if song.first(name):
            facts.append(f"{label} {song.first(name)}")
    if facts:
        y += 15
        block.draws.append(Draw(MARGIN, y, "   ".join(facts), "regular", 10, COMMENT_COLOR))
    block.height = y + 18
    return [block]


def _wrap(text: str, style: str, size: float, width: float) -> list[tuple[int, int]]:
    """Split `text` into (start, end) spans that fit `width`, breaking at spaces when it can."""
    spans = []
    start = 0
    while start < len(text):
        end = len(text)
        if text_width(text[start:end], style, size) <= width:
            spans.append((start, end))
            break
        lo, hi = start + 1, len(text)  # binary search for the longest prefix that fits
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if text_width(text[start:mid], style, size) <= width:
                lo = mid
            else:
                hi = mid - 1
        cut = text.rfind(" ", start + 1, lo + 1)
        end = cut + 1 if cut > start else max(lo, start + 1)
        spans.append((start, end))
        start = end
    return spans or [(0, 0)]


def _lyric_blocks(line: Line, indent: float, semitones: int) -> list[Block]:
    width = BODY_WIDTH - indent
    x0 = MARGIN + indent
    blocks = []
    for start, end in _wrap(line.text, "regular", LYRIC_SIZE, width):
        segment = line.text[start:end]
        chords = [(pos - start, c) for pos, c in line.chords if start <= pos < end or (
            end == len(line.text) and pos >= end)]
        chord_row = CHORD_SIZE + LINE_GAP if line.chords else 0
        block = Block(chord_row + LYRIC_SIZE + LINE_GAP + 2)
        baseline = chord_row + LYRIC_SIZE
        if segment.strip():
            block.draws.append(Draw(x0, baseline, segment, "regular", LYRIC_SIZE))
        next_free = x0
        for pos, chord in chords:
            name = transpose_chord(chord, semitones)
            x = max(x0 + text_width(segment[:pos], "regular", LYRIC_SIZE), next_free)
            block.draws.append(Draw(x, CHORD_SIZE, name, "bold", CHORD_SIZE, CHORD_COLOR))
            next_free = x + text_width(name, "bold", CHORD_SIZE) + 4
        blocks.append(block)
    return blocks


def _comment_block(line: Line, indent: float) -> Block:
    style = "italic" if line.kind in ("comment_italic", "highlight") else "regular"
    size = 11
    block = Block(size + LINE_GAP + 6)
    x = MARGIN + indent + (4 if line.kind == "comment_box" else 0)
    block.draws.append(Draw(x, size + 1, line.text, style, size, COMMENT_COLOR))
    if line.kind == "comment_box":
        w = text_width(line.text, style, size) + 8
        block.boxes.append((MARGIN + indent, -1, w, size + 6))
    return block


def _stack(first: Block, second: Block) -> Block:
    """One block holding `first` above `second`, so the two never part across pages."""
    shift = first.height
    return Block(
        first.height + second.height,
        first.draws + [Draw(d.x, d.y + shift, d.text, d.style, d.size, d.color)
                       for d in second.draws],
        first.bars + [(a + shift, b + shift) for a, b in second.bars],
        first.boxes + [(x, y + shift, w, h) for x, y, w, h in second.boxes],
    )


def _section_blocks(section: Section, semitones: int) -> list[Block]:
    if section.kind == "new_page":
        return [Block(0, page_break=True)]
    indent = CHORUS_INDENT if section.kind == "chorus" else 0
    label = section.label or ("Chorus" if section.kind == "chorus" else "")
    label_block = Block(15, [Draw(MARGIN, 11, label, "bold", 11, COMMENT_COLOR)]) if label else None
    if section.recalled:  # a recalled chorus prints as a reference, as ChordPro does by default
        return [label_block or Block(15, [Draw(MARGIN, 11, "Chorus", "bold", 11, COMMENT_COLOR)])]
    blocks: list[Block] = []
    for line in section.lines:
        if section.kind in VERBATIM_KINDS:
            blocks.append(Block(11, [Draw(MARGIN + indent, 9, line.text, "mono", 9)]))
        elif line.kind == "empty":
            blocks.append(Block(LYRIC_SIZE * 0.6))
        elif line.kind == "lyrics":
            blocks.extend(_lyric_blocks(line, indent, semitones))
        else:
            blocks.append(_comment_block(line, indent))
    if section.kind == "chorus":
        for block in blocks:
            block.bars.append((0, block.height))
    if label_block is not None:
        blocks = [_stack(label_block, blocks[0]), *blocks[1:]] if blocks else [label_block]
    if blocks:
        blocks[-1].height += 8  # air between sections
    return blocks


def layout(song: ParsedSong, semitones: int = 0) -> list[list[tuple[float, Block]]]:
    """Place blocks on pages: returns, per page, (top y, block) pairs."""
    blocks = _header_blocks(song, semitones)
    for section in song.sections:
        blocks.extend(_section_blocks(section, semitones))

    pages: list[list[tuple[float, Block]]] = [[]]
    y = MARGIN
    bottom = PAGE_HEIGHT - MARGIN
    for block in blocks:
        if block.page_break:
            if pages[-1]:
                pages.append([])
                y = MARGIN
            continue
        if y + block.height > bottom and pages[-1]:
            pages.append([])
            y = MARGIN
        pages[-1].append((y, block))
        y += block.height
    return pages


@functools.cache
def _mono_fonts() -> frozenset[str]:
    return frozenset(key for key, font in _fonts().items() if font.flags["mono"] == 1)


def append_text(writer: pymupdf.TextWriter, x: float, y: float, text: str, font_key: str,
                size: float) -> None:
    """`writer.append((x, y), text, font, size)` without the bounding box of everything
    appended so far that PyMuPDF recomputes on every call: quadratic in the runs on a page and
    60 % of drawing a song. The same MuPDF call builds the same text, so the PDF is the same
    (tests/test_render_assets.py compares it with TextWriter.append's)."""
    from pymupdf import mupdf

    font = _fonts()[font_key]
    matrix = mupdf.fz_make_matrix(size, 0, 0, size, x, writer.rect.height - y)  # PDF's y is up
    mupdf.fz_show_string(writer.this, font.this, matrix, text, 0, 0, 0, mupdf.FZ_LANG_UNSET)
    if font_key in _mono_fonts():  # write_text repairs the widths of these, as append has it
        writer.used_fonts.add(font)


def _draw_pages(doc: pymupdf.Document, pages, song: ParsedSong) -> None:
    """Draw with one TextWriter per colour per page: far cheaper than a call per text run."""
    import pymupdf

    total = len(pages)
    for number, placed in enumerate(pages, start=1):
        page = doc.new_page(width=PAGE_WIDTH, height=PAGE_HEIGHT)
        writers: dict[tuple, pymupdf.TextWriter] = {}

        def write(x, y, text, style, size, color):
            writer = writers.get(color)
            if writer is None:
                writer = writers[color] = pymupdf.TextWriter(page.rect)
            append_text(writer, x, y, text, _font_key(style, text), size)

        for top, block in placed:
            for y0, y1 in block.bars:
                page.draw_line((MARGIN + 4, top + y0), (MARGIN + 4, top + y1),
                               color=(0.6, 0.6, 0.6), width=1.5)
            for x, y, w, h in block.boxes:
                page.draw_rect(pymupdf.Rect(x, top + y, x + w, top + y + h),
                               color=COMMENT_COLOR, width=0.6)
            for d in block.draws:
                write(d.x, top + d.y, d.text, d.style, d.size, d.color)
        if total > 1:
            write(MARGIN, PAGE_HEIGHT - MARGIN / 2, f"{song.title} — {number}/{total}",
                  "regular", 8, COMMENT_COLOR)
        for color, writer in writers.items():
            writer.write_text(page, color=color)


def _drawn(song: ParsedSong, semitones: int) -> pymupdf.Document:
    import pymupdf

    doc = pymupdf.open()
    _draw_pages(doc, layout(song, semitones), song)
    return doc


def _pdf_bytes(doc: pymupdf.Document, song: ParsedSong) -> bytes:
    doc.set_metadata({"title": song.title, "author": song.artist, "creator": "songhub"})
    doc.subset_fonts()
    return doc.tobytes(garbage=3, deflate=True)
def draw_song(doc: pymupdf.Document, song: ParsedSong, semitones: int = 0) -> int:
    """Append `song` in a key to an open document (setlist books); returns its page count."""
    pages = layout(song, semitones)
    _draw_pages(doc, pages, song)
    return len(pages)


def render_pdf(song: ParsedSong, semitones: int = 0) -> bytes:
    """The built-in chord-sheet renderer."""
    doc = _drawn(song, semitones)
    try:
        return _pdf_bytes(doc, song)
    finally:
        doc.close()


def render_pdf_with_cli(chordpro_path: str, source: Path, timeout: float) -> bytes | None:
    """Run the ChordPro CLI; None (logged) when it is missing, fails or times out."""
    if not chordpro_path or not os.access(chordpro_path, os.X_OK):
        return None
    import pymupdf

    out = source.parent / f".{source.name}.{os.getpid()}.cli.pdf"
    try:
        result = subprocess.run(
            [chordpro_path, f"--output={out}", str(source)],
            capture_output=True, timeout=timeout, check=False,
        )
        if result.returncode != 0 or not out.exists():
            logger.warning("chordpro CLI failed on %s (exit %s): %s", source.name,
                           result.returncode, result.stderr[-300:].decode(errors="replace"))
            return None
        data = out.read_bytes()
        with pymupdf.open(stream=data, filetype="pdf") as check:
            if check.page_count < 1:
                return None
        return data
    except (subprocess.TimeoutExpired, OSError, RuntimeError, ValueError) as exc:
        logger.warning("chordpro CLI unusable on %s: %s", source.name, exc)
        return None
    finally:
        out.unlink(missing_ok=True)


_pixmaps = threading.local()


def _pixmap(bbox):
    """This thread's page-sized pixmap, reused: a fresh 4 MB one per page costs more in page
    faults than the drawing. Nothing outlives encode_page that reads it."""
    from pymupdf import mupdf

    key = (bbox.x0, bbox.y0, bbox.x1, bbox.y1)
    if getattr(_pixmaps, "key", None) != key:
        _pixmaps.key = key
        _pixmaps.pix = mupdf.fz_new_pixmap_with_bbox(mupdf.fz_device_rgb(), bbox,
                                                     mupdf.FzSeparations(), 1)
    return _pixmaps.pix


def encode_page(page: pymupdf.Page, dpi: int = IMAGE_DPI) -> bytes:
    """One page as WebP: rasterised once at `dpi` and handed to Pillow without a copy.

    What `page.get_pixmap(dpi=dpi)` does, minus two passes it adds: MuPDF draws the page
    straight into the pixmap (no display list recorded first), and the pixmap has a fourth,
    always opaque byte per pixel, the layout Pillow keeps RGB in ("RGBX"), so Pillow reads it
    in place instead of allocating, zeroing and unpacking a copy. The WebP file is the same,
    byte for byte (tests/test_render_assets.py)."""
    from PIL import Image
    from pymupdf import mupdf

    zoom = dpi / 72
    matrix = mupdf.FzMatrix(zoom, 0, 0, zoom, 0, 0)
    bbox = mupdf.fz_round_rect(mupdf.fz_transform_rect(mupdf.fz_bound_page(page.this), matrix))
    pix = _pixmap(bbox)
    mupdf.fz_clear_pixmap_with_value(pix, 0xFF)  # white, and opaque
    device = mupdf.fz_new_draw_device(matrix, pix)
    mupdf.fz_run_page(page.this, device, mupdf.FzMatrix(), mupdf.FzCookie())
    mupdf.fz_close_device(device)
    image = Image.frombuffer("RGBX", (pix.w(), pix.h()), mupdf.fz_pixmap_samples_memoryview(pix),
                             "raw", "RGBX", pix.stride(), 1)
    buffer = io.BytesIO()
    image.save(buffer, "WEBP", quality=WEBP_QUALITY, method=0)  # fastest; text stays crisp
    return buffer.getvalue()


def page_images(pdf: bytes, dpi: int = IMAGE_DPI) -> list[bytes]:
    """One WebP per page of a PDF file."""
    import pymupdf

    with pymupdf.open(stream=pdf, filetype="pdf") as doc:
        return [encode_page(page, dpi) for page in doc]


def page_key(page: pymupdf.Page) -> str:
    """What a page image depends on: its drawing (content stream), size and the image settings.
    Only for the built-in renderer, whose fonts and resources are always the same."""
    digest = hashlib.sha1(f"{RENDER_VERSION}:{IMAGE_DPI}:{WEBP_QUALITY}:{page.rect}".encode())
    digest.update(page.read_contents())
    return digest.hexdigest()[:20]


@dataclass
class Assets:
    pdf: bytes
    images: list[bytes]
    page_keys: list[str]  # empty for the ChordPro CLI's PDFs (never reused)
    reused: int = 0  # pages whose image came from `previous`


def render_assets(song: ParsedSong, cli_pdf: bytes | None = None,
                  previous: dict[str, bytes] | None = None) -> Assets:
    """PDF and page images in one pass. `previous` maps a page key of the last render to its
    image bytes; a page whose key is unchanged keeps its image without being rasterised."""
    import pymupdf

    doc = pymupdf.open(stream=cli_pdf, filetype="pdf") if cli_pdf else _drawn(song, 0)
    try:
        images, keys, reused = [], [], 0
        for page in doc:
            key = page_key(page) if cli_pdf is None else ""
            image = (previous or {}).get(key) if key else None
            if image is None:
                image = encode_page(page)
            else:
                reused += 1
            images.append(image)
            if key:
                keys.append(key)
        pdf = cli_pdf or _pdf_bytes(doc, song)  # after rasterising: fonts are subset in place
    finally:
        doc.close()
    return Assets(pdf, images, keys, reused)


def etag_of(*parts: bytes) -> str:
    digest = hashlib.sha1()
    for part in parts:
        digest.update(part)
    return digest.hexdigest()[:20]
