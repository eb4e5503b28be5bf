"""Prometheus metrics scraped from a real daphne and a real Celery worker during a short room
session, a sync and a poll: the series exist and move, no label carries an id or a user name,
and a scrape without the bearer token is refused."""

import json
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from ingestion.models import SyncRun
from listening.models import Listener
from tests.conftest import DEMO_SONGS
from tests.helpers import Daphne, free_port, subprocess_env
from tests.test_celery_worker import broker_connection
from tests.test_rooms_e2e import Socket, cookie_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
TOKEN = "metrics-token-" + "m" * 20


def scrape(url: str, token: str | None = TOKEN) -> dict[tuple, float]:
    """{(sample name, frozenset(labels)): value} of one scrape."""
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read().decode()
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples, name, **labels) -> float:
    """Sum of the samples called `name` whose labels include `labels`."""
    return sum(v for (n, ls), v in samples.items()
               if n == name and set(labels.items()) <= set(ls))


def assert_no_identifying_labels(samples, *names):
    """No songhub series carries an id or a user name (status codes and buckets are numbers)."""
    for (name, labels), _ in samples.items():
        if not name.startswith("songhub_"):
            continue
        for key, label in labels:
            if key in ("le", "status"):
                continue
            assert not re.fullmatch(r"\d+|[0-9a-f-]{32,36}", label), (name, key, label)
            assert label not in names, (name, key, label)


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_the_endpoint_refuses_scrapes_without_the_token(client, settings):
    settings.METRICS_TOKEN = TOKEN
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200
    settings.METRICS_TOKEN = ""  # none configured: nobody scrapes
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 401


def test_a_process_still_creating_its_file_does_not_fail_the_scrape(tmp_path):
    """A prefork child's first metric creates its .db file before sizing it; a scrape in that
    moment read the empty file and answered 500 (prometheus/client_python#1199)."""
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.mmap_dict import MmapedDict, mmap_key

    from songhub.metrics import SettledFilesCollector

    settled = MmapedDict(str(tmp_path / "counter_1.db"))
    settled.write_value(mmap_key("songhub_demo_total", "songhub_demo_total", (), (), "songhub_demo"),
                        3.0, 0.0)
    settled.close()
    (tmp_path / "counter_2.db").touch()  # the other process, between create and truncate
    registry = CollectorRegistry()
    SettledFilesCollector(registry, path=str(tmp_path))
    assert "songhub_demo_total 3.0" in generate_latest(registry).decode()


def test_web_series_move_during_a_room_session(tmp_path, room, song, host):
    from contextlib import ExitStack

    server = Daphne(subprocess_env(tmp_path / "web", METRICS_TOKEN=TOKEN),
                    tmp_path / "daphne.log").wait_ready()
    try:
        with pytest.raises(urllib.error.HTTPError) as refused:
            scrape(server.url + "/metrics", token=None)
        assert refused.value.code == 401
        before = scrape(server.url + "/metrics")
        for _ in range(5):
            urllib.request.urlopen(server.url + "/api/songs/search?q=grace", timeout=10).read()
        with ExitStack() as stack:
            viewer = Socket(stack, server).join("viewer", room.id, name="Ann")
            controller = Socket(stack, server, cookie_for(host)).join("controller", room.id)
            during = scrape(server.url + "/metrics")
            health = json.loads(urllib.request.urlopen(server.url + "/health", timeout=10).read())
            controller.send("select_song", {"song_id": song.id})
            viewer.expect("song_updated")
            for page in (2, 3):
                controller.send("set_page", {"page": page})
                viewer.expect("page_updated", lambda p, page=page: p["current_page"] == page)
            for _ in range(200):  # past the burst: some frames are refused
                controller.ws.send(json.dumps(["ping", {}]))
            time.sleep(0.5)
        deadline = time.monotonic() + 10  # the server handles the closes when it gets to them
        after = scrape(server.url + "/metrics")
        while value(after, "songhub_ws_connections") and time.monotonic() < deadline:
            time.sleep(0.1)
            after = scrape(server.url + "/metrics")
    finally:
        server.stop()

    view = "song-search"
    assert value(after, "songhub_http_requests_total", view=view, status="200") - \
        value(before, "songhub_http_requests_total", view=view, status="200") == 5
    assert value(after, "songhub_http_request_duration_seconds_count", view=view) >= 5
    assert value(during, "songhub_ws_connections") == 2
    assert value(after, "songhub_ws_connections") == 0
    assert value(after, "songhub_room_events_broadcast_total", event="page_updated") >= 2
    assert value(after, "songhub_room_fanout_seconds_count") >= 3
    assert value(after, "songhub_ws_rate_limited_frames_total") > 0
    assert value(during, "songhub_rooms_open") >= 1
    assert value(after, "songhub_database_up") == 1
    assert value(after, "songhub_cache_requests_total") > 0  # /health read the URL cache stats
    assert health["websocket_connections"] == 2 and health["rooms_open"] >= 1
    assert set(health["video_url_cache"]) == {"hits", "misses", "hit_rate"}
    assert ("songhub_db_pool_connections", frozenset({("state", "max")})) in after
    assert value(after, "process_resident_memory_bytes") > 0
    assert_no_identifying_labels(after, host.username, "Ann")


@pytest.mark.redis
def test_worker_series_move_during_a_sync_and_a_poll(tmp_path, spotify):
    from ingestion.tasks import sync_songs

    spotify.add_track("t" * 22, "Song", [("a" * 22, "Artist")])
    refresh = spotify.add_user("user0")
    listener = Listener(spotify_id="user0", app_client_id=spotify.client_id)
    listener.set_tokens("x", refresh, timezone.now() - timedelta(minutes=1))
    listener.save()
    spotify.play("user0", "t" * 22, "2026-11-20T10:00:00.000Z")

    port, queue = free_port(), f"metrics-{uuid.uuid4().hex[:6]}"
    env = subprocess_env(tmp_path / "w", METRICS_TOKEN=TOKEN, WORKER_METRICS_PORT=port,
                         PROMETHEUS_MULTIPROC_DIR=tmp_path / "prom", WORKER_HEARTBEAT_SECONDS=1,
                         HISTORY_POLL_SECONDS=1, SPOTIFY_API_URL=spotify.url,
                         SPOTIFY_ACCOUNTS_URL=spotify.url, SPOTIFY_CLIENT_ID=spotify.client_id,
                         SPOTIFY_CLIENT_SECRET=spotify.client_secret)
    log = open(tmp_path / "worker.log", "w+")
    process = subprocess.Popen([sys.executable, "-m", "celery", "-A", "songhub", "worker", "-Q",
                                queue, "--concurrency", "1", "-l", "INFO", "-n", f"{queue}@%h"],
                               env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        def polled():
            try:
                return value(scrape(url), "songhub_poll_lag_seconds_count") >= 2
            except OSError:
                return False

        assert wait_for(polled, 60), (tmp_path / "worker.log").read_text()[-3000:]
        with pytest.raises(urllib.error.HTTPError) as refused:
            scrape(url, token=None)
        assert refused.value.code == 401

        run = SyncRun.objects.create(trigger="admin", options={"source": "dir",
                                                                "source_dir": str(DEMO_SONGS)})
        with broker_connection(env) as conn:  # runs in a prefork child: multi-process mode
            sync_songs.apply_async(args=[run.pk], queue=queue, connection=conn)
        assert wait_for(lambda: SyncRun.objects.get(pk=run.pk).status == "succeeded", 60)
        assert wait_for(lambda: value(scrape(url), "songhub_job_runs_total",
                                      job="song_sync", outcome="succeeded") == 1, 10)
        samples = scrape(url)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()

    assert value(samples, "songhub_spotify_calls_total", status="200") >= 2
    endpoints = {dict(ls)["endpoint"] for (n, ls) in samples if n == "songhub_spotify_calls_total"}
    assert "/v1/me/player/recently-played" in endpoints, endpoints
    assert value(samples, "songhub_spotify_token_refreshes_total") >= 1
    assert value(samples, "songhub_job_duration_seconds_count", job="song_sync") == 1
    assert value(samples, "songhub_job_items_total", job="song_sync") == 5
    assert_no_identifying_labels(samples, "user0")
