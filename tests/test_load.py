"""Load (issue #11, "the tests that must exist"): 2,000 mixed HTTP requests from 20 concurrent
clients against a real daphne + PostgreSQL + Redis: pages, search, the song list and the room
REST API (reads and page turns). Zero 5xx, database connections within the pool, p95 printed."""

import json
import os
import random
import time

import pytest

from ingestion import pipeline
from ingestion.models import Song
from rooms import services
from songhub.models import ApiToken
from tests.conftest import DEMO_SONGS
from tests.helpers import Daphne, subprocess_env
from tests.loadkit import ConnectionSampler, admin_dsn, hammer, tagged_env

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow,
              pytest.mark.django_db(transaction=True)]

POOL = 5
TOTAL, CLIENTS = 2000, 20


@pytest.fixture
def live_room(django_user_model):
    report = pipeline.run_sync(pipeline.SyncOptions(source="dir", source_dir=str(DEMO_SONGS),
                                                    concurrency=1))
    assert report.exit_code == 0
    host = django_user_model.objects.create_user("loadhost", password="pw-loadhost-1")
    _, key = ApiToken.issue(host, "load test")
    room = services.create_room(host, "Load room")
    song = Song.objects.order_by("-page_count", "id").first()
    services.select_song(room.pk, services.active_participant(room, user=host), song.pk)
    return room, song, key


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux /proc)."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def mixed_requests(room, song, key, total):
    token = {"Authorization": f"Token {key}", "Content-Type": "application/json"}
    html, api = {"Accept": "text/html"}, {"Accept": "application/json"}
    rng = random.Random(11)
    words = ["grace", "amazing", "holy", "praise", "doxology", "zzz", "lord"]
    menu = [
        lambda: ("GET", "/", None, html),
        lambda: ("GET", "/songs/", None, html),
        lambda: ("GET", f"/songs/{song.pk}/", None, html),
        lambda: ("GET", "/rooms/", None, html),
        lambda: ("GET", f"/api/songs/search?q={rng.choice(words)}", None, api),
        lambda: ("GET", "/songs/list", None, api),
        lambda: ("GET", f"/api/songs/{song.pk}", None, api),
        lambda: ("GET", "/rooms/", None, api),
        lambda: ("GET", f"/rooms/{room.pk}", None, token),
        lambda: ("POST", f"/rooms/{room.pk}/page",
                 json.dumps({"page": rng.randint(1, max(1, song.page_count))}), token),
    ]
    return [menu[n % len(menu)]() for n in range(total)]


def test_2000_mixed_requests_from_20_clients_without_a_5xx_and_with_bounded_connections(
        settings, tmp_path, live_room):
    room, song, key = live_room
    env = tagged_env(subprocess_env(settings.SONG_DATA_DIR, DB_POOL_MIN_SIZE=1,
                                    DB_POOL_MAX_SIZE=POOL), "load-web")
    server = Daphne(env, tmp_path / "daphne.log").wait_ready()
    dsn, dbname = admin_dsn()
    try:
        with ConnectionSampler(dsn, dbname, "load-web") as sampler:
            started = time.perf_counter()
            cpu_before = cpu_seconds(server.process.pid)
            result = hammer(server.url, mixed_requests(room, song, key, TOTAL), CLIENTS)
            elapsed = time.perf_counter() - started
            cpu = cpu_seconds(server.process.pid) - cpu_before
    finally:
        server.stop()
    load = os.getloadavg()[0]
    print(f"\nload test: {TOTAL} requests, {CLIENTS} clients in {elapsed:.1f} s "
          f"({TOTAL / elapsed:.0f} req/s); p50 {result.p(0.5) * 1000:.0f} ms, "
          f"p95 {result.p(0.95) * 1000:.0f} ms, p99 {result.p(0.99) * 1000:.0f} ms; "
          f"db connections peak {sampler.peak} (pool {POOL}); daphne CPU "
          f"{cpu / TOTAL * 1000:.1f} ms/request (floor {TOTAL / cpu:.0f} req/s on one core); "
          f"load average {load:.1f}")
    assert result.failures == [], result.failures[:5]
    assert len(result.statuses) == TOTAL
    assert set(result.statuses) <= {200}, sorted(set(result.statuses))
    assert 1 <= sampler.peak <= POOL
