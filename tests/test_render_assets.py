"""One-pass rendering (#13.4): the same pixels as rendering the PDF file, unchanged pages kept,
and PyMuPDF/Pillow not imported until something is drawn."""

import io
import random
import subprocess
import sys

import pymupdf
import pytest
from PIL import Image

from ingestion import chordpro, processing, render
from ingestion.store import SongStore

SAMPLE = [
    "{title: Amazing Grace}\n{artist: John Newton}\n{key: G}\n{sov}\nA[G]mazing [C]grace\n{eov}\n"
    "{soc}\n[C]Praise [D]Him\n{eoc}\n{c: Softly}\n{comment_box: boxed}\n{sot}\ne|--0--|\n{eot}\n",
    "{title: 奇异恩典 Café}\n{artist: Zoë}\n[G]奇异恩典 何等甘甜 [C]crème brûlée\n{np}\nsecond page\n",
]


def synthetic(n: int, rng: random.Random, verses: int = 0) -> str:
    chords, words = ["C", "G", "Am", "F", "D7"], "grace love light river song heart".split()
    lines = [f"{{title: Synthetic {n}}}", f"{{artist: Composer {n}}}", "{key: C}"]
    for verse in range(verses or rng.choice([2, 4, 6])):
        lines.append(f"{{start_of_verse: Verse {verse + 1}}}")
        lines += [" ".join(f"[{rng.choice(chords)}]{rng.choice(words)}" for _ in range(6))
                  for _ in range(8)]
        lines.append("{end_of_verse}")
    return "\n".join(lines) + "\n"


def previous_renderer(pdf: bytes) -> list[bytes]:
    """The renderer before #13.4, verbatim: reopen the PDF file, copy pixels, encode."""
    images = []
    with pymupdf.open(stream=pdf, filetype="pdf") as doc:
        for page in doc:
            pix = page.get_pixmap(dpi=render.IMAGE_DPI, alpha=False)
            image = Image.frombytes("RGB", (pix.width, pix.height), pix.samples)
            buffer = io.BytesIO()
            image.save(buffer, "WEBP", quality=render.WEBP_QUALITY, method=0)
            images.append(buffer.getvalue())
    return images


def pixels(webp: bytes) -> bytes:
    return Image.open(io.BytesIO(webp)).convert("RGB").tobytes()


def test_one_pass_output_equals_the_previous_renderer_byte_for_byte():
    rng = random.Random(13)
    texts = SAMPLE + [synthetic(n, rng) for n in range(6)]
    compared = 0
    for text in texts:
        song = chordpro.parse(text)
        assets = render.render_assets(song)
        old = previous_renderer(render.render_pdf(song))  # the old path, from scratch
        assert len(assets.images) == len(old) == len(assets.page_keys)
        for new_image, old_image in zip(assets.images, old, strict=True):
            assert new_image == old_image  # the same WebP file, so the same pixels
            compared += 1
        # and the PDF served beside them shows exactly what the images show
        assert [pixels(i) for i in previous_renderer(assets.pdf)] == [pixels(i) for i in old]
    assert compared >= 12


def objects(doc: pymupdf.Document) -> list:
    return [(doc.xref_object(xref), doc.xref_stream_raw(xref) if doc.xref_is_stream(xref) else None)
            for xref in range(1, doc.xref_length())]


def test_drawing_text_equals_pymupdfs_textwriter_append(monkeypatch):
    """render.append_text skips only TextWriter.append's bookkeeping: same PDF, less CPU."""
    rng = random.Random(7)
    songs = [chordpro.parse(text) for text in SAMPLE + [synthetic(n, rng) for n in range(3)]]
    ours = [render.render_pdf(song) for song in songs]

    def textwriter_append(writer, x, y, text, font_key, size):
        writer.append((x, y), text, font=render._fonts()[font_key], fontsize=size)

    monkeypatch.setattr(render, "append_text", textwriter_append)
    theirs = [render.render_pdf(song) for song in songs]
    assert any(b"Courier" in pdf for pdf in ours)  # the mono font path is covered
    for mine, reference in zip(ours, theirs, strict=True):
        with pymupdf.open(stream=mine) as a, pymupdf.open(stream=reference) as b:
            assert a.page_count == b.page_count
            assert objects(a) == objects(b)  # every object and stream: all but the random /ID


def test_unchanged_pages_are_kept_and_changed_ones_rendered():
    text = synthetic(1, random.Random(4), verses=6)
    first = render.render_assets(chordpro.parse(text))
    assert len(first.images) >= 2 and first.reused == 0
    previous = dict(zip(first.page_keys, first.images, strict=True))
    edited = text.replace("{artist: Composer 1}", "{artist: Somebody Else}")  # page 1 only
    second = render.render_assets(chordpro.parse(edited), previous=previous)
    assert second.reused == len(first.images) - 1
    assert second.page_keys[0] != first.page_keys[0]
    assert second.page_keys[1:] == first.page_keys[1:] and second.images[1:] == first.images[1:]
    fresh = render.render_assets(chordpro.parse(edited))  # what a full render would make
    assert [pixels(i) for i in second.images] == [pixels(i) for i in fresh.images]


def test_process_song_reuses_the_last_renders_pages(tmp_path):
    store = SongStore(tmp_path)
    text = synthetic(2, random.Random(5), verses=6)
    source = store.source_path("a.cho")
    source.parent.mkdir(parents=True, exist_ok=True)
    job = {"id": 1, "path": "a.cho", "sha": "s1", "data_dir": str(tmp_path), "render": True}
    source.write_text(text)
    first = processing.process_song(job)
    assert first["pages_reused"] == 0 and first["page_count"] >= 2
    source.write_text(text.replace("{key: C}", "{key: C}\n{capo: 2}"))  # header: page 1
    second = processing.process_song(dict(job, sha="s2"))
    assert second["pages_reused"] == first["page_count"] - 1
    assert processing.assets_current(store, 1, "s2")["page_keys"][1:] == \
        processing.read_marker(store, 1)["page_keys"][1:]
    (store.image_path(1, 2)).unlink()  # a missing old image is rendered again, not an error
    third = processing.process_song(dict(job, sha="s3"))
    assert "error" not in third and third["pages_reused"] == first["page_count"] - 1


@pytest.mark.parametrize("module", ["ingestion.render", "ingestion.processing",
                                    "ingestion.pipeline"])
def test_importing_the_render_path_does_not_load_pymupdf_or_pillow(module):
    code = (f"import sys, django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', "
            f"'songhub.settings'); django.setup(); import {module}; "
            "print(sorted(m for m in ('pymupdf', 'PIL.Image') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stderr[-2000:]
