"""Database connections under a real daphne (issue #11.1): every request runs in a thread of its
own, so the web process must borrow from a bounded pool instead of keeping one connection per
thread. The control shows the old configuration (no pool, CONN_MAX_AGE=60) piling them up."""

import time
from pathlib import Path

import pytest

from ingestion import pipeline
from ingestion.models import Song
from ingestion.store import SongStore
from tests.helpers import Daphne, subprocess_env
from tests.loadkit import ConnectionSampler, admin_dsn, hammer, tagged_env

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

POOL = 4


@pytest.fixture
def songs(settings):
    """Twenty songs and the song index (`/songs/list` reads it)."""
    Song.objects.bulk_create(
        Song(id=n, title=f"Song {n} grace", artist="Artist", filename=f"s{n}.cho", source_sha="x",
             page_count=1) for n in range(1, 21))
    pipeline.write_song_index(SongStore(settings.SONG_DATA_DIR))


def daphne_with(settings, tmp_path, name, **extra):
    env = tagged_env(subprocess_env(settings.SONG_DATA_DIR, **extra), name)
    return Daphne(env, tmp_path / f"{name}.log").wait_ready()


def mixed_requests(total):
    paths = ["/api/songs/search?q=grace", "/songs/list", "/api/songs/3", "/api/songs/search?q=so"]
    return [("GET", paths[n % len(paths)]) for n in range(total)]


def test_connections_stay_within_the_pool_through_1000_concurrent_requests(
        settings, tmp_path, songs):
    server = daphne_with(settings, tmp_path, "pooled-web", DB_POOL_MIN_SIZE=1,
                         DB_POOL_MAX_SIZE=POOL)
    dsn, dbname = admin_dsn()
    try:
        with ConnectionSampler(dsn, dbname, "pooled-web") as sampler:
            result = hammer(server.url, mixed_requests(1000), concurrency=20)
            time.sleep(1.0)  # and afterwards: nothing left behind beyond the pool
            after = sampler.count()
    finally:
        server.stop()
    assert result.failures == []
    assert set(result.statuses) == {200}
    assert len(sampler.samples) > 10, "the sampler must have watched the whole run"
    assert 1 <= sampler.peak <= POOL, sampler.samples
    assert after <= POOL


def test_control_without_the_pool_each_request_thread_keeps_a_connection(
        settings, tmp_path, songs):
    """The configuration before the fix: what the pooled test guards against (kept small, the
    PostgreSQL server is shared)."""
    server = daphne_with(settings, tmp_path, "unpooled-web", DB_POOL_MAX_SIZE=0, CONN_MAX_AGE=60)
    dsn, dbname = admin_dsn()
    try:
        with ConnectionSampler(dsn, dbname, "unpooled-web") as sampler:
            result = hammer(server.url, mixed_requests(24), concurrency=4)
            time.sleep(0.5)
            after = sampler.count()
    finally:
        server.stop()
    assert result.failures == []
    assert after > POOL * 2, sampler.samples


def test_celery_worker_and_beat_drop_the_pool_before_their_first_connection(settings, tmp_path):
    """Prefork children must not inherit a pool's sockets and threads: worker_init and
    beat_init switch the process to direct connections (closed after each task)."""
    import subprocess
    import sys

    code = ("import django; django.setup()\n"
            "from celery.signals import beat_init, worker_init\n"
            "from django.db import connection\n"
            "print(bool(connection.pool))\n"
            "worker_init.send(sender=None)\n"
            "print(bool(connection.pool))\n"
            "from django.conf import settings\n"
            "settings.DATABASES['default']['OPTIONS']['pool'] = {'max_size': 2}\n"
            "beat_init.send(sender=None)\n"
            "print(bool(connection.pool))\n")
    env = subprocess_env(settings.SONG_DATA_DIR, DJANGO_SETTINGS_MODULE="songhub.settings")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, timeout=60, cwd=Path(__file__).resolve().parent.parent)
    assert result.stdout.split() == ["True", "False", "False"], result.stderr[-2000:]


@pytest.mark.parametrize("env, message", [
    ({"DB_POOL_MIN_SIZE": "5", "DB_POOL_MAX_SIZE": "2"}, "DB_POOL_MIN_SIZE and DB_POOL_MAX_SIZE"),
    ({"CONN_MAX_AGE": "60"}, "CONN_MAX_AGE must be 0 while the connection pool is on"),
    ({"DB_POOL_TIMEOUT_SECONDS": "0"}, "DB_POOL_TIMEOUT_SECONDS must be positive"),
])
def test_pool_settings_that_cannot_work_stop_start_up(settings, env, message):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = "
                               "'songhub.settings'; django.setup()"],
        env=subprocess_env(settings.SONG_DATA_DIR, **env), capture_output=True, text=True,
        timeout=60)
    assert result.returncode != 0 and message in result.stderr
