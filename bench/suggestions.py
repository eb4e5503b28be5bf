""""What next" suggestions (`setlists.suggestions.next_songs`, what the setlist editor and the
host's song picker call): p50/p95 over random seed songs at a realistic graph size (target
p95 ≤ 20 ms).

The graph is built through the real ETL (`graph.etl.import_setlist`): `--setlists` sets of 15
tracks drawn with a popularity skew from `--tracks` tracks; half the tracks have chord sheets;
`link_works` then joins them. There is no physical floor to print: the figure is a handful of
indexed PostgreSQL reads, so the floor is the database round trip, printed beside it.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/songhub .venv/bin/python bench/suggestions.py
"""

import argparse
import os
import random
import statistics
import time

from _django import setup


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setlists", type=int, default=1500)
    parser.add_argument("--tracks", type=int, default=3000)
    parser.add_argument("--queries", type=int, default=500)
    args = parser.parse_args()
    setup("suggestions")

    from django.db import connection

    from graph import etl
    from graph.parsers import parse
    from ingestion.models import Song
    from setlists.suggestions import next_songs
    from works.linker import link_works

    rng = random.Random(20)
    started = time.monotonic()
    names = [(f"Artist {n % 700}", f"Tune number {n}") for n in range(args.tracks)]
    weights = [1 / (n + 10) for n in range(args.tracks)]  # a few hits, a long tail
    for s in range(args.setlists):
        picks = rng.choices(range(args.tracks), weights=weights, k=15)
        text = "".join(f"{names[p][0]} - {names[p][1]}\n" for p in picks)
        etl.import_setlist(parse(text, "text"), source="file", payload=f"{s}\n{text}",
                           fmt="text", meta={"dj": f"DJ {s % 200}"}, notify=False)
    Song.objects.bulk_create([Song(id=n + 1, title=title, artist=artist, key=rng.choice(
        ["C", "G", "D", "A", "Em", "Am", "F"]), filename=f"{n}.cho", source_sha="x")
        for n, (artist, title) in enumerate(names) if n % 2 == 0], batch_size=5000)
    report = link_works()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # as autovacuum would have by now in a running install
    print(f"setup: {args.setlists:,} setlists × 15 over {args.tracks:,} tracks, "
          f"{report.works:,} works in {time.monotonic() - started:.1f} s")

    seeds = [n + 1 for n in range(0, args.tracks, 2)]
    for seed in seeds[:20]:  # warm caches and connections
        next_songs(seed)
    times, found = [], 0
    for seed in rng.sample(seeds, min(args.queries, len(seeds))):
        t0 = time.perf_counter()
        found += bool(next_songs(seed, transpose=rng.randint(-5, 5)))
        times.append((time.perf_counter() - t0) * 1000)
    with connection.cursor() as cursor:
        t0 = time.perf_counter()
        for _ in range(200):
            cursor.execute("SELECT 1")
        floor = (time.perf_counter() - t0) / 200 * 1000
    times.sort()
    p95 = times[int(len(times) * 0.95) - 1]
    print(f"next_songs over {len(times)} seeds ({found} with suggestions): "
          f"p50 {statistics.median(times):.2f} ms, p95 {p95:.2f} ms (target ≤ 20 ms); "
          f"floor: one DB round trip {floor:.3f} ms; load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
