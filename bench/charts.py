#!/usr/bin/env python
"""Chart library benchmark against wsgidav on loopback (a real WebDAV server, Basic auth).

N synthetic song folders (song.ini + a 50–150 KB notes.chart + a small audio placeholder):
cold sync, no-change re-sync (must download nothing), one changed folder; the parse time of a
150 KB notes.chart; and the import of a zip of S songs (random, incompressible audio) in a
child process whose peak RSS growth is measured (a worker importing a 500 MB archive).
Targets: cold sync of 5,000 ≤ 60 s; re-sync ≤ 5 s with 0 downloads; one change ≤ 2 s;
parse ≤ 20 ms; import of 500 MB / 200 songs with RSS growth ≤ 150 MB.
"""

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _django  # noqa: E402


def chart_bytes(rng, target_kb: int) -> bytes:
    lines = ["[Song]", "{", '  Name = "Bench"', "  Resolution = 192", "}", "[SyncTrack]", "{",
             "  0 = TS 4", "  0 = B 120000", "  7680 = B 140000", "}", "[Events]", "{",
             '  0 = E "section Intro"', "}"]
    tick = 0
    body = []
    for difficulty in ("Expert", "Hard", "Medium", "Easy"):
        body += [f"[{difficulty}Single]", "{", f"  0 = S 2 {192 * 16}"]
        for _ in range(target_kb * 1024 // 4 // 19):
            tick += rng.choice((48, 96, 192))
            body.append(f"  {tick} = N {rng.randrange(5)} {rng.choice((0, 0, 96))}")
        body.append("}")
    return ("\r\n".join(lines + body) + "\r\n").encode()


def make_folder(folder: Path, i: int, rng, audio: bytes, chart_kb: int | None = None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "song.ini").write_bytes(
        f"[song]\r\nname = Song {i}\r\nartist = Artist {i % 300}\r\ncharter = Bench\r\n"
        f"diff_guitar = 4\r\n".encode())
    (folder / "notes.chart").write_bytes(chart_bytes(rng, chart_kb or rng.randint(50, 150)))
    (folder / "song.ogg").write_bytes(audio)


def memory_kb(field: str) -> int:
    """VmRSS / VmHWM of this process. (Not ru_maxrss: Linux carries that across exec, so a
    child would start with its parent's peak.)"""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def child_import(path: str) -> None:
    """Runs in a fresh process: the import as a worker runs it; RSS before and peak after."""
    _django.setup_existing()
    from charts import importer

    before = memory_kb("VmRSS")
    started = time.perf_counter()
    result = importer.import_path(path)
    seconds = time.perf_counter() - started
    after = memory_kb("VmHWM")
    print(json.dumps({"seconds": seconds, "rss_before_kb": before, "rss_after_kb": after,
                      "added": len(result["songs"]), "duplicates": len(result["duplicates"])}))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--folders", type=int, default=500)
    parser.add_argument("--import-songs", type=int, default=20)
    parser.add_argument("--import-mb", type=int, default=50)
    parser.add_argument("--child-import", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_import:
        return child_import(args.child_import)

    data_dir = _django.setup("charts")
    from django.conf import settings

    from charts import sync
    from charts.formats import chart
    from tests.fakes.webdav import PASSWORD, USER

    rng = random.Random(7)
    root = data_dir.parent / "nextcloud"
    songs = root / "CloneHero" / "Songs"
    started = time.perf_counter()
    for i in range(args.folders):
        make_folder(songs / f"Artist {i % 300}" / f"Song {i}_{i:08x}", i, rng, b"OggS" + b"\0" * 2000)
    print(f"generated {args.folders} folders in {time.perf_counter() - started:.1f} s")
    # the server runs in its own process, as Nextcloud would: it does not share our GIL
    server_proc = subprocess.Popen([sys.executable, "-m", "tests.fakes.webdav", str(root)],
                                   stdout=subprocess.PIPE, text=True, cwd=_django.ROOT)
    url = server_proc.stdout.readline().strip()
    settings.NEXTCLOUD_URL, settings.NEXTCLOUD_USERNAME = url, USER
    settings.NEXTCLOUD_PASSWORD, settings.NEXTCLOUD_REMOTE_PATH = PASSWORD, "CloneHero"
    print(f"load: {os.getloadavg()[0]:.1f} {os.getloadavg()[1]:.1f} {os.getloadavg()[2]:.1f} "
          f"on {os.cpu_count()} CPUs")

    def timed(label, **kwargs):
        start, cpu = time.perf_counter(), time.process_time()
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        _run, report = sync.run(**kwargs)
        seconds = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        # our own CPU (this process + parser processes that ended): the part contention
        # on a shared machine does not inflate
        used = time.process_time() - cpu + (after.ru_utime + after.ru_stime
                                             - children.ru_utime - children.ru_stime)
        print(f"{label}: {seconds:.2f} s wall, {used:.2f} s CPU  {report.summary()}  "
              f"downloads={report.downloads} requests={report.requests}")
        return seconds, report

    import requests

    from charts.storage.webdav import PROPFIND_BODY

    def floor(depth: str, path: str = "CloneHero/Songs") -> None:
        start = time.perf_counter()
        listing = requests.request("PROPFIND", f"{url}/{path}", data=PROPFIND_BODY,
                                   headers={"Depth": depth}, auth=(USER, PASSWORD), timeout=600)
        print(f"floor: the server's own Depth: {depth} PROPFIND of {path} takes "
              f"{time.perf_counter() - start:.2f} s ({len(listing.content) / 2**10:.0f} KB of XML)")

    # the server computes each folder's ETag from everything below it, as Nextcloud propagates
    # them: the floors include that cost
    for depth in ("infinity", "1", "0"):
        floor(depth)
    floor("infinity", "CloneHero/Songs/Artist 1")
    timed(f"cold sync of {args.folders} folders")
    timed("no-change re-sync")
    target = songs / "Artist 1" / "Song 1_00000001" / "song.ini"
    target.write_bytes(target.read_bytes().replace(b"Song 1", b"Song One"))
    timed("one changed folder")
    timed("full walk, nothing changed (sync_charts --full)", full=True)

    data = chart_bytes(random.Random(1), 150)
    runs = []
    for _ in range(30):
        start = time.perf_counter()
        chart.parse(data)
        runs.append((time.perf_counter() - start) * 1000)
    print(f"parse of a {len(data) // 1024} KB notes.chart: median {statistics.median(runs):.1f} ms, "
          f"min {min(runs):.1f} ms")

    archive = data_dir.parent / "import.zip"
    per_song = args.import_mb * 2**20 // max(1, args.import_songs)
    start = time.perf_counter()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as out:
        for i in range(args.import_songs):
            base = f"pack/Import {i}"
            out.writestr(f"{base}/song.ini", f"[song]\r\nname = Import {i}\r\nartist = Bench\r\n"
                                             "charter = Bench\r\ndiff_guitar = 3\r\n")
            out.writestr(f"{base}/notes.chart", chart_bytes(rng, 60))
            out.writestr(f"{base}/song.ogg", os.urandom(per_song))
    size_mb = archive.stat().st_size / 2**20
    print(f"built a {size_mb:.0f} MB zip of {args.import_songs} songs in "
          f"{time.perf_counter() - start:.1f} s")
    env = {**os.environ, "NEXTCLOUD_URL": url, "NEXTCLOUD_USERNAME": USER,
           "NEXTCLOUD_PASSWORD": PASSWORD, "NEXTCLOUD_REMOTE_PATH": "CloneHero",
           "SONG_DATA_DIR": str(data_dir), "DATABASE_URL": os.environ["DATABASE_URL"] if
           os.environ.get("DATABASE_URL") else f"sqlite:///{data_dir / 'songhub.sqlite3'}"}
    done = subprocess.run([sys.executable, __file__, "--child-import", str(archive)], env=env,
                          capture_output=True, text=True, timeout=3600)
    if done.returncode:
        print(done.stderr[-3000:])
        raise SystemExit("import child failed")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    growth = (result["rss_after_kb"] - result["rss_before_kb"]) / 1024
    print(f"import of {size_mb:.0f} MB / {args.import_songs} songs: {result['seconds']:.1f} s "
          f"({size_mb / result['seconds']:.0f} MB/s), added {result['added']}, peak RSS "
          f"{result['rss_before_kb'] / 1024:.0f} → {result['rss_after_kb'] / 1024:.0f} MB "
          f"(growth {growth:.0f} MB)")
    print(f"load after: {os.getloadavg()[0]:.1f}")
    server_proc.terminate()
    server_proc.wait(timeout=10)


if __name__ == "__main__":
    main()
