import io
import os
import stat
import sys

import pymupdf
import pytest
from PIL import Image

from ingestion import chordpro, render

HYMN = """{title: Amazing Grace}
{subtitle: New Britain}
{artist: John Newton}
{key: G}
{capo: 2}
{start_of_verse: Verse 1}
A[G]mazing grace! How [C]sweet the [G]sound
{end_of_verse}
{soc}
[C]Praise [D]Him
{eoc}
{c: Softly}
{sot}
e|---0---|
{eot}
"""


def pdf_doc(data: bytes) -> pymupdf.Document:
    return pymupdf.open(stream=data, filetype="pdf")


def test_it_renders_a_header_and_chords_as_real_text():
    with pdf_doc(render.render_pdf(chordpro.parse(HYMN))) as doc:
        text = doc[0].get_text()
    for expected in ("Amazing Grace", "New Britain", "John Newton", "Key G", "Capo 2",
                     "Verse 1", "Chorus", "Softly", "e|---0---|", "G", "C", "D"):
        assert expected in text


def test_it_places_each_chord_above_its_syllable():
    with pdf_doc(render.render_pdf(chordpro.parse(HYMN))) as doc:
        page = doc[0]
        lyric = page.search_for("sweet")[0]
        chords = [r for r in page.search_for("C") if 5 < lyric.y0 - r.y0 < 25]
    assert chords, "no chord row right above the lyric"
    assert abs(chords[0].x0 - lyric.x0) < 2  # [C] sits on "sweet"


def test_it_indents_the_chorus_and_draws_a_bar():
    with pdf_doc(render.render_pdf(chordpro.parse(HYMN))) as doc:
        page = doc[0]
        verse = page.search_for("Amazing grace")[0]
        chorus = page.search_for("Praise")[0]
        drawings = page.get_drawings()
    assert chorus.x0 - verse.x0 >= render.CHORUS_INDENT - 1
    assert any(d["rect"].width < 3 and d["rect"].height > 10 for d in drawings)


def test_it_honours_new_page_and_never_parts_chords_from_their_line():
    body = "\n".join(f"[C]line {n} with [G]chords" for n in range(60))
    song = chordpro.parse("{title: Long}\n" + body + "\n{np}\n[D]after the break\n")
    with pdf_doc(render.render_pdf(song)) as doc:
        assert doc.page_count >= 3
        assert "after the break" in doc[doc.page_count - 1].get_text()
        lyric_lines = 0
        for page in doc:
            words = page.get_text("words")
            chord_tops = [w[1] for w in words if w[4] == "C" and abs(w[0] - render.MARGIN) < 1]
            for word in (w for w in words if w[4] == "line"):
                lyric_lines += 1
                assert any(5 < word[1] - top < 25 for top in chord_tops), "chords split from line"
        assert lyric_lines == 60


def test_transposition_changes_chords_but_not_page_breaks():
    body = "\n".join(f"[C]line {n} with [G]chords" for n in range(60))
    song = chordpro.parse("{title: Long}\n{key: C}\n" + body)
    original, transposed = render.layout(song), render.layout(song, semitones=3)
    assert [len(p) for p in original] == [len(p) for p in transposed]
    with pdf_doc(render.render_pdf(song, semitones=3)) as doc:
        text = doc[0].get_text()
    assert "D#" in text and "Key D# (orig. C)" in text


def test_it_renders_non_latin_lyrics():
    song = chordpro.parse("{title: 奇异恩典}\n[G]奇异恩典 何等甘甜\n")
    with pdf_doc(render.render_pdf(song)) as doc:
        assert "奇异恩典" in doc[0].get_text()


def test_page_images_are_webp_one_per_page():
    song = chordpro.parse("{title: Two}\nfirst\n{np}\nsecond\n")
    pdf = render.render_pdf(song)
    images = render.page_images(pdf)
    assert len(images) == 2
    for data in images:
        image = Image.open(io.BytesIO(data))
        assert image.format == "WEBP" and image.width > 500


def _script(tmp_path, body):
    path = tmp_path / "chordpro"
    path.write_text(f"#!{sys.executable}\n{body}")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_it_uses_the_chordpro_cli_when_it_works(tmp_path):
    cli = _script(tmp_path, (
        "import sys, pymupdf\n"
        "out = [a.split('=', 1)[1] for a in sys.argv if a.startswith('--output=')][0]\n"
        "doc = pymupdf.open(); doc.new_page().insert_text((50, 50), 'FROM CLI'); doc.save(out)\n"
    ))
    source = tmp_path / "song.cho"
    source.write_text(HYMN)
    pdf = render.render_pdf_with_cli(cli, source, timeout=30)
    with pdf_doc(pdf) as doc:
        assert "FROM CLI" in doc[0].get_text()
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".cli.pdf")]


@pytest.mark.parametrize("body", ["import sys; sys.exit(3)", "import time; time.sleep(10)"])
def test_it_falls_back_when_the_cli_fails_or_hangs(tmp_path, body):
    cli = _script(tmp_path, body)
    source = tmp_path / "song.cho"
    source.write_text(HYMN)
    assert render.render_pdf_with_cli(cli, source, timeout=1) is None
    assert render.render_pdf_with_cli(str(tmp_path / "missing"), source, timeout=1) is None
