#!/usr/bin/env python
"""Ingestion benchmark: N synthetic songs served by the loopback GitHub.

Reports cold sync+render, no-change re-sync and one-changed-file re-sync times and request
counts. Targets (2 cores): cold 1,000 songs <= 60 s; no-change <= 2 s with 1 tree request and
0 downloads; one changed file <= 3 s.
"""

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _django  # noqa: E402

CHORDS = ["C", "G", "Am", "F", "D", "Em", "Bb", "E7", "Dm", "A"]
WORDS = ("grace love light morning river mountain song heart holy praise glory peace joy "
         "shepherd valley ocean mercy faithful wonder king").split()


def synthetic_song(n: int, rng: random.Random) -> str:
    pages = rng.choice([1, 2, 3])
    lines = [f"{{title: Synthetic Song {n:05d} {rng.choice(WORDS).title()}}}",
             f"{{artist: Composer {n % 97}}}", f"{{key: {rng.choice(CHORDS[:6])}}}", ""]
    for verse in range(pages * 2):  # two 8-line verses fill about one A4 page
        lines.append(f"{{start_of_verse: Verse {verse + 1}}}")
        for _ in range(8):
            words = [rng.choice(WORDS) for _ in range(7)]
            lines.append(" ".join(f"[{rng.choice(CHORDS)}]{w}" if i % 2 == 0 else w
                                  for i, w in enumerate(words)))
        lines += ["{end_of_verse}", ""]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--songs", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=0)
    args = parser.parse_args()

    data_dir = _django.setup("ingest")
    from django.conf import settings

    from ingestion import pipeline
    from ingestion.models import Song
    from tests.fakes.github import FakeGitHub

    rng = random.Random(42)
    repo = _django.scratch("repo")
    for n in range(args.songs):
        folder = repo / f"set{n % 10}"
        folder.mkdir(exist_ok=True)
        (folder / f"song_{n:05d}.cho").write_text(synthetic_song(n, rng))
    github = FakeGitHub(repo).start()
    settings.GITHUB_API_URL = github.url
    settings.SONGS_REPO = github.repo
    options = pipeline.SyncOptions(concurrency=args.concurrency)

    def timed(label):
        github.reset_counts()
        started = time.perf_counter()
        report = pipeline.run_sync(options)
        seconds = time.perf_counter() - started
        assert report.exit_code == 0, report.summary()
        requests = dict(github.counts)
        print(f"{label:<22} {seconds:7.2f} s  {report.total / seconds:8.1f} songs/s  "
              f"requests={requests}  downloads={report.downloads}  rendered={report.rendered}")
        return seconds, report

    print(f"songs={args.songs} db={settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]} "
          f"cpus={__import__('os').cpu_count()} data={data_dir}")
    cold, report = timed("cold sync+render")
    pages = sum(Song.objects.values_list("page_count", flat=True))
    print(f"{'':<22} {report.total} songs, {pages} pages "
          f"({pages / cold:.1f} pages/s)")
    timed("no-change re-sync")
    target = repo / "set3" / "song_00003.cho"
    target.write_text(target.read_text().replace("{key:", "{capo: 2}\n{key:"))
    timed("one-changed re-sync")
    github.stop()


if __name__ == "__main__":
    main()
