"""Song identity: `link_works` over a synthetic library (default 100,000 chord sheets, 200,000
Spotify tracks, 10,000 charts; target ≤ 60 s), cold and again with nothing changed.

About a third of the Spotify tracks and charts are the same songs as chord sheets (with the
sources' quirks: remaster notes, case, "The"), the rest are other songs, so the run creates and
links realistic numbers of works.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/songhub .venv/bin/python bench/identity.py
"""

import argparse
import os
import time

from _django import setup


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--songs", type=int, default=100_000)
    parser.add_argument("--tracks", type=int, default=200_000)
    parser.add_argument("--charts", type=int, default=10_000)
    args = parser.parse_args()
    setup("identity")

    from charts.models import Chart
    from ingestion.models import Song
    from listening.models import Artist, Track
    from works.linker import link_works

    started = time.monotonic()
    artists = [Artist(id=f"a{n:021d}", name=f"Band {n}") for n in range(args.songs // 5)]
    Artist.objects.bulk_create(artists, batch_size=5000)
    Song.objects.bulk_create([Song(id=n + 1, title=f"Song number {n}", artist=f"Band {n // 5}",
                                   filename=f"{n}.cho", source_sha="x")
                              for n in range(args.songs)], batch_size=5000)
    tracks, through = [], []
    for n in range(args.tracks):
        same = n % 3 == 0 and n // 3 < args.songs
        song = n // 3 if same else args.songs + n
        name = f"Song number {song}" + (" - Remastered 2011" if n % 2 else "")
        tracks.append(Track(id=f"t{n:021d}", name=name))
        through.append(Track.artists.through(track_id=f"t{n:021d}",
                                             artist_id=f"a{(song // 5) % len(artists):021d}"))
    Track.objects.bulk_create(tracks, batch_size=5000)
    Track.artists.through.objects.bulk_create(through, batch_size=5000)
    Chart.objects.bulk_create([Chart(title=f"SONG NUMBER {n * 7 % args.songs}",
                                     artist=f"Band {(n * 7 % args.songs) // 5}",
                                     remote_path=f"Songs/{n}") for n in range(args.charts)],
                              batch_size=5000)
    print(f"setup: {args.songs:,} songs, {args.tracks:,} tracks, {args.charts:,} charts in "
          f"{time.monotonic() - started:.1f} s; load {os.getloadavg()[0]:.2f}")

    cold = link_works()
    print(f"cold link_works: {cold.seconds:.1f} s (target ≤ 60 s): {cold.works:,} works, "
          f"{cold.linked:,} links")
    warm = link_works()
    print(f"no-change link_works: {warm.seconds:.1f} s: {warm.unchanged:,} unchanged, "
          f"{warm.linked + warm.moved} changed")


if __name__ == "__main__":
    main()
