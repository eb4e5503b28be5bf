#!/usr/bin/env python
"""Render benchmark: CPU per song for the previous renderer (text drawn with
TextWriter.append, PDF file -> reopen -> copy pixels -> WebP) against the one-pass
`render.render_assets`, and for re-rendering after an edit that changes one page, on the
synthetic songs of bench/ingest.py. No database.

CPU time (time.process_time) in one process, the two paths interleaved, medians of --rounds:
unlike wall time it hardly moves with the load other processes put on the machine.
"""

import argparse
import io
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest import synthetic_song  # noqa: E402


def textwriter_append(render):
    """How text was drawn before render.append_text: PyMuPDF's TextWriter.append."""
    def append(writer, x, y, text, font_key, size):
        writer.append((x, y), text, font=render._fonts()[font_key], fontsize=size)
    return append


def previous_renderer(render, song):
    """The renderer before #13.4 and before render.append_text."""
    import pymupdf
    from PIL import Image

    ours, render.append_text = render.append_text, textwriter_append(render)
    try:
        pdf = render.render_pdf(song)
    finally:
        render.append_text = ours
    images = []
    with pymupdf.open(stream=pdf, filetype="pdf") as doc:
        for page in doc:
            pix = page.get_pixmap(dpi=render.IMAGE_DPI, alpha=False)
            image = Image.frombytes("RGB", (pix.width, pix.height), pix.samples)
            buffer = io.BytesIO()
            image.save(buffer, "WEBP", quality=render.WEBP_QUALITY, method=0)
            images.append(buffer.getvalue())
    return pdf, images


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--songs", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "songhub.settings")
    from ingestion import chordpro, render

    rng = random.Random(42)
    texts = [synthetic_song(n, rng) for n in range(args.songs)]
    songs = [chordpro.parse(text) for text in texts]
    edited = [chordpro.parse(text.replace("{key:", "{capo: 2}\n{key:")) for text in texts]
    firsts = [render.render_assets(song) for song in songs]
    previous = [dict(zip(a.page_keys, a.images, strict=True)) for a in firsts]
    pages = sum(len(a.images) for a in firsts)

    def cpu(fn):
        started = time.process_time()
        for i in range(len(songs)):
            fn(i)
        return (time.process_time() - started) / len(songs) * 1000

    paths = {
        "previous renderer": lambda i: previous_renderer(render, songs[i]),
        "one pass": lambda i: render.render_assets(songs[i]),
        "edit, previous": lambda i: previous_renderer(render, edited[i]),
        "edit, one pass": lambda i: render.render_assets(edited[i], previous=previous[i]),
    }
    samples = {name: [] for name in paths}
    for round_ in range(args.rounds):
        order = list(paths) if round_ % 2 == 0 else list(reversed(paths))
        for name in order:
            samples[name].append(cpu(paths[name]))
    print(f"{args.songs} songs, {pages} pages; load average "
          f"{' '.join(open('/proc/loadavg').read().split()[:3])}")
    for name, values in samples.items():
        print(f"{name:<18} {statistics.median(values):7.1f} ms CPU per song "
              f"(rounds: {', '.join(f'{v:.1f}' for v in values)})")


if __name__ == "__main__":
    main()
