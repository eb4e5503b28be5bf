#!/usr/bin/env python
"""Search benchmark on PostgreSQL: 100,000 synthetic songs, 200 queries per mode.

Reports p50/p95/p99 per mode through the Django test client (the whole API) and through SQL
alone, and how much faster indexed substring search is than a sequential scan.
Targets: p95 <= 15 ms per API query in every mode at 100,000 songs; indexed substring >= 100x.
"""

import argparse
import hashlib
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _django  # noqa: E402


def word(n: int) -> str:
    digest = hashlib.md5(str(n).encode()).digest()
    return "".join("bcdfghjklmnprstvwz"[b % 18] + "aeiou"[b % 5] for b in digest[:3 + n % 2])


def backend_cpu_seconds(pid: int) -> float:
    """utime + stime of a PostgreSQL backend on this machine (loopback), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentiles(samples):
    ordered = sorted(samples)
    pick = lambda p: ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]  # noqa: E731
    return pick(50) * 1000, pick(95) * 1000, pick(99) * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--songs", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--reuse-data", action="store_true",
                        help="query the songs the last run loaded (same --songs) instead of "
                             "reloading them")
    args = parser.parse_args()

    _django.setup("search", reuse_database=args.reuse_data)
    from django.conf import settings
    from django.db import connection
    from django.test import Client

    from ingestion import search, search_infra
    from ingestion.models import Song

    if connection.vendor != "postgresql":
        sys.exit("bench/search.py needs DATABASE_URL=postgres://...")
    settings.ALLOWED_HOSTS = ["testserver"]
    started = time.perf_counter()
    batch = []
    if args.reuse_data and Song.objects.count() == args.songs:
        print(f"reusing {args.songs} songs loaded by the last run")
        loading = range(0)
    else:
        Song.objects.all().delete()
        loading = range(1, args.songs + 1)
    for i in loading:
        batch.append(Song(id=i, title=f"{word(i).title()} {word(i * 7)}",
                          artist=f"{word(i * 3).title()} {word(i % 5000)}", filename=f"{i}.cho",
                          source_sha="x", page_count=1,
                          lyrics=" ".join(word(i * k) for k in (11, 13, 17, 19, 23, 29))))
        if len(batch) == 5000:
            Song.objects.bulk_create(batch)
            batch = []
    Song.objects.bulk_create(batch)
    search_infra.refresh_after_bulk_change()
    if loading:
        print(f"loaded {args.songs} songs in {time.perf_counter() - started:.1f} s")

    rng = random.Random(7)
    picks = [rng.randint(1, args.songs) for _ in range(args.queries)]
    queries = {
        "substring": [word(i)[1:6] for i in picks],
        "fuzzy": [word(i)[:-1] + "x " + word(i * 7) for i in picks],
        "fulltext": [f"{word(i * 7)} {word(i)}" for i in picks],
        "lyrics": [word(i * 13) for i in picks],
        "auto": [rng.choice([word(i), word(i * 7), word(i)[:4], word(i * 13)]) for i in picks],
    }
    if hasattr(search, "TYPO_MAX_RESULTS"):  # short typos (auto's fallback), accents
        queries["auto-typo"] = [word(i)[:4] + "q" for i in picks]  # 5 letters, one wrong
        queries["auto-accent"] = [word(i).replace("a", "\u00e1", 1) for i in picks]
    client = Client()
    print(f"load average {' '.join(open('/proc/loadavg').read().split()[:3])}")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    print(f"{'mode':<11} {'API p50':>8} {'p95':>7} {'p99':>7}   {'SQL p50':>8} {'p95':>7} {'p99':>7}"
          f"   {'CPU/query':>9}   (ms; CPU = PostgreSQL backend + this process, mean)")
    for mode, items in queries.items():
        api_mode = mode.split("-")[0]
        for q in items[:10]:  # warm caches and the connection
            client.get("/api/songs/search", {"q": q, "mode": api_mode})
        api, sql = [], []
        cpu_started = backend_cpu_seconds(backend) + time.process_time()
        for q in items:
            t = time.perf_counter()
            response = client.get("/api/songs/search", {"q": q, "mode": api_mode})
            api.append(time.perf_counter() - t)
            assert response.status_code == 200
            t = time.perf_counter()
            search.search(q, api_mode)
            sql.append(time.perf_counter() - t)
        cpu = (backend_cpu_seconds(backend) + time.process_time() - cpu_started) / (2 * len(items))
        a, s = percentiles(api), percentiles(sql)
        print(f"{mode:<11} {a[0]:8.2f} {a[1]:7.2f} {a[2]:7.2f}   {s[0]:8.2f} {s[1]:7.2f} {s[2]:7.2f}"
              f"   {cpu * 1000:9.2f}")

    substring_sql = search._postgres_sql("substring")

    def run_substring(q):
        params = {"q": q, "like": f"%{search.escape_like(q)}%", "prefix": "", "limit": 20,
                  "offset": 0, "headline": getattr(search, "HEADLINE_OPTIONS", "")}
        with connection.cursor() as cursor:
            t = time.perf_counter()
            cursor.execute(substring_sql, params)
            cursor.fetchall()
            return time.perf_counter() - t

    sample = queries["substring"][:40]
    indexed = statistics.median(run_substring(q) for q in sample)
    with connection.cursor() as cursor:
        cursor.execute("SET enable_bitmapscan = off")
        cursor.execute("SET enable_indexscan = off")
    seq = statistics.median(run_substring(q) for q in sample)
    with connection.cursor() as cursor:
        cursor.execute("RESET enable_bitmapscan")
        cursor.execute("RESET enable_indexscan")
    print(f"substring median: indexed {indexed * 1000:.2f} ms, sequential scan "
          f"{seq * 1000:.2f} ms -> {seq / indexed:.0f}x faster with the trigram indexes")


if __name__ == "__main__":
    main()
