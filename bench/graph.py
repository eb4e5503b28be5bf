#!/usr/bin/env python
"""Transition-graph benchmark on PostgreSQL (issue #15).

Synthetic silver: --setlists setlists x --entries entries (10 % unidentified) over --tracks
tracks, popular tracks more frequent (rank ~ U^2), written with SQL (generate_series). Then:

1. gold from bare silver, then a full rebuild (`manage.py rebuild_graph`)   target <= 120 s
2. incremental import of one 30-track setlist (parse excluded), p50/p95     target <= 200 ms
3. GET /api/graph?seed=..&depth=2&limit=500 through the Django client, p95  target <= 50 ms
4. GET /api/graph/tracks/{id}/next, p95                                    target <= 15 ms
5. --browser: the page drawing 5,000 nodes / 20,000 edges in headless chromium, fps from
   requestAnimationFrame over 5 s with the FA2 worker running, then paused   target >= 30 fps

Prints `uptime` load beside the figures (the machine is shared).
"""

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _django  # noqa: E402

GENERATE = """
INSERT INTO graph_rawsetlist (source, external_id, revision, url, fmt, payload, meta, fetched_at)
SELECT 'bench', s::text, '1', '', 'text', 'synthetic', '{}', now()
FROM generate_series(1, %(setlists)s) s;
INSERT INTO graph_setlist (source, external_id, raw_id, title, dj, dj_key, event, venue, date,
                           url, imported_at, updated_at)
SELECT 'bench', r.external_id, r.id, 'Set ' || r.external_id, 'DJ ' || (r.id %% 2000),
       'dj ' || (r.id %% 2000), 'Event', 'Venue', date '2015-01-01' + (r.id %% 3650)::int, '',
       now(), now()
FROM graph_rawsetlist r WHERE r.source = 'bench';
INSERT INTO graph_entry (setlist_id, position, timestamp, raw_line, raw_key, artist_text, artists,
                         title, artist_key, title_key, version, label, catalog, identified,
                         not_a_track, track_id)
SELECT s.id, p, p * 240,
       CASE WHEN unknown THEN '? - ?' ELSE 'Artist ' || (t %% 40000) || ' - Track ' || t END,
       CASE WHEN unknown THEN '? - ?' ELSE 'artist ' || (t %% 40000) || ' - track ' || t END,
       CASE WHEN unknown THEN '?' ELSE 'Artist ' || (t %% 40000) END,
       CASE WHEN unknown THEN '[["?", "primary", "?"]]'::jsonb
            ELSE jsonb_build_array(jsonb_build_array('Artist ' || (t %% 40000), 'primary',
                                                     'artist ' || (t %% 40000))) END,
       CASE WHEN unknown THEN '?' ELSE 'Track ' || t END,
       CASE WHEN unknown THEN '' ELSE 'artist ' || (t %% 40000) END,
       CASE WHEN unknown THEN '' ELSE 'track ' || t END,
       '', '', '', NOT unknown, false, NULL
FROM graph_setlist s
CROSS JOIN generate_series(1, %(entries)s) p
CROSS JOIN LATERAL (SELECT (floor(%(tracks)s * power(random(), 2)))::int + 1 + 0 * s.id * p AS t,
                           random() < 0.10 + 0 * s.id * p AS unknown) pick
WHERE s.source = 'bench';
ANALYZE graph_entry; ANALYZE graph_setlist;
"""


def percentiles(samples):
    ordered = sorted(samples)
    pick = lambda p: ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]  # noqa: E731
    return pick(50) * 1000, pick(95) * 1000


def load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--setlists", type=int, default=50_000)
    parser.add_argument("--entries", type=int, default=25)
    parser.add_argument("--tracks", type=int, default=200_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--imports", type=int, default=50)
    parser.add_argument("--browser", action="store_true", help="also measure the page's fps")
    parser.add_argument("--reuse-data", action="store_true",
                        help="keep the last run's database and measure only the reads (3. and 4.)")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("bench/graph.py needs DATABASE_URL=postgres://...")

    _django.setup("graph", reuse_database=args.reuse_data)
    from django.db import connection

    print(f"load before: {load()}")
    if not args.reuse_data:
        build(connection, args)
    measure_reads(connection, args)
    if args.browser:
        browser_fps(connection)


def build(connection, args):
    from graph import etl
    from graph.parsers import parse

    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute(GENERATE, {"setlists": args.setlists, "entries": args.entries,
                                  "tracks": args.tracks})
        cursor.execute("SELECT count(*), count(*) FILTER (WHERE identified) FROM graph_entry")
        entries, identified = cursor.fetchone()
    print(f"silver: {args.setlists} setlists, {entries} entries ({identified} identified) "
          f"generated in {time.monotonic() - started:.1f} s")

    started = time.monotonic()
    result = etl.rebuild()
    rebuild_s = time.monotonic() - started
    print(f"1a. initial build from bare silver (every entry resolved, every link and "
          f"transition created): {rebuild_s:.1f} s -> {result['tracks']} tracks, "
          f"{result['transitions']} transitions   [{load()}]")
    started = time.monotonic()
    etl.rebuild()
    print(f"1b. full rebuild over existing gold (`rebuild_graph`): "
          f"{time.monotonic() - started:.1f} s (target <= 120 s)   [{load()}]")

    rng = random.Random(15)
    samples = []
    for n in range(args.imports):
        lines = "\n".join(f"Artist {rng.randrange(40000)} - Track {rng.randrange(1, args.tracks)}"
                          for _ in range(30))
        text = f"DJ: Bench {n}\n{lines}\n"
        setlist = parse(text, "text")
        t0 = time.perf_counter()
        etl.import_setlist(setlist, source="file", payload=text, fmt="text")
        samples.append(time.perf_counter() - t0)
    p50, p95 = percentiles(samples)
    print(f"2. incremental import, 30 tracks: p50 {p50:.1f} ms, p95 {p95:.1f} ms "
          f"(target <= 200 ms)   [{load()}]")


def measure_reads(connection, args):
    from django.test import Client

    from songhub.heap import settle_after_startup

    settle_after_startup()  # as songhub.asgi does in the web process

    with connection.cursor() as cursor:  # seeds: popular tracks (they have neighbours)
        cursor.execute("SELECT from_track_id FROM graph_edges GROUP BY from_track_id "
                       "ORDER BY count(*) DESC LIMIT %s", [args.queries])
        seeds = [row[0] for row in cursor.fetchall()]
    client = Client(HTTP_HOST="127.0.0.1")
    for path, label, target in (("/api/graph?seed={}&depth=2&limit=500", "3. /api/graph depth 2 "
                                 "limit 500", 50), ("/api/graph/tracks/{}/next", "4. /next", 15)):
        samples, sizes = [], []
        for seed in seeds[:5]:  # warm-up
            client.get(path.format(seed))
        for seed in seeds:
            t0 = time.perf_counter()
            response = client.get(path.format(seed))
            samples.append(time.perf_counter() - t0)
            body = response.json()
            sizes.append(len(body.get("nodes", body.get("next", []))))
        p50, p95 = percentiles(samples)
        print(f"{label}: p50 {p50:.1f} ms, p95 {p95:.1f} ms, {statistics.mean(sizes):.0f} items "
              f"per answer (target p95 <= {target} ms)   [{load()}]")


def browser_fps(connection):
    """Serve the page over daphne and feed it a synthetic 5,000 / 20,000 graph."""
    import json

    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.conftest import CHROMIUM_FLAGS
    from tests.helpers import Daphne, subprocess_env

    from django.conf import settings

    rng = random.Random(5)
    nodes = [{"id": i, "title": f"Track {i}", "artists": [{"name": f"Artist {i % 900}",
                                                           "role": "primary"}],
              "degree": 8, "camelot": "8A"} for i in range(1, 5001)]
    edges, seen = [], set()
    while len(edges) < 20000:
        a, b = rng.randrange(1, 5001), rng.randrange(1, 5001)
        if a != b and (a, b) not in seen:
            seen.add((a, b))
            edges.append({"from": a, "to": b, "occurrences": 1, "setlists": 1, "djs": 1})
    body = json.dumps({"nodes": nodes, "edges": edges})
    log = Path(settings.SONG_DATA_DIR) / "daphne.log"
    daphne = Daphne(subprocess_env(settings.SONG_DATA_DIR), log).wait_ready()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                                 args=CHROMIUM_FLAGS)
            # wait_for_function runs its predicate through eval(), which the site's CSP forbids
            page = browser.new_page(viewport={"width": 1400, "height": 900}, bypass_csp=True)
            page.route("**/api/graph?*", lambda route: route.fulfill(
                status=200, content_type="application/json", body=body))
            page.goto(f"{daphne.url}/graph/")
            page.wait_for_function("window.songhubGraph && window.songhubGraph.graph.order === 5000",
                                   timeout=60000)
            measure = """() => new Promise(done => { let n = 0; const t0 = performance.now();
                const tick = now => { n++; if (now - t0 < 5000) requestAnimationFrame(tick);
                else done(n * 1000 / (now - t0)); }; requestAnimationFrame(tick); })"""
            # the layout runs a few seconds after a load, then stops by itself; Space resumes
            page.wait_for_function("!window.songhubGraph.layoutRunning()", timeout=60000)
            settled = page.evaluate(measure)
            size = page.evaluate("window.songhubGraph.graph.size")
            page.keyboard.press("Space")
            page.wait_for_function("window.songhubGraph.layoutRunning()")
            running = page.evaluate(measure)
            print(f"5. page: 5000 nodes / {size} edges, {settled:.1f} fps once the layout has "
                  f"settled (stops by itself), {running:.1f} fps while the FA2 worker runs "
                  f"(target >= 30 fps; headless chromium, software WebGL)   [{load()}]")
            browser.close()
    finally:
        daphne.stop()


if __name__ == "__main__":
    main()
