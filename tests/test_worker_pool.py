"""The worker pool: quotas, rebalancing, atomic claims, and real Celery workers that share
listeners through database heartbeats (including one killed with SIGKILL)."""

import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from listening.models import ListeningEvent, Listener
from tests.helpers import subprocess_env
from workers import assignment, registry
from workers.models import Worker


def listeners(count, **fields):
    return [Listener.objects.create(spotify_id=f"user{n}", **fields) for n in range(count)]


def workers(*ids):
    for worker_id in ids:
        registry.register(worker_id)


@pytest.mark.django_db
def test_quota_is_spread_and_a_joining_worker_gets_a_share():
    listeners(5)
    workers("w1", "w2")
    assert len(assignment.balance("w1")) == 3  # ceil(5 / 2)
    assert len(assignment.balance("w2")) == 2
    workers("w3")
    assert len(assignment.balance("w3")) == 0  # nothing free yet
    assert len(assignment.balance("w1")) == 2  # over the new quota of 2: releases one
    assert len(assignment.balance("w3")) == 1
    owners = list(Listener.objects.values_list("assigned_worker_id", flat=True))
    assert sorted(owners) == ["w1", "w1", "w2", "w2", "w3"]


@pytest.mark.django_db
def test_disabled_listeners_are_released_and_dead_workers_hand_theirs_back(settings):
    people = listeners(2)
    workers("w1", "w2")
    assignment.balance("w1")
    assignment.balance("w2")
    Listener.objects.filter(pk=people[0].pk).update(enabled=False)
    assignment.balance(Listener.objects.get(pk=people[0].pk).assigned_worker_id)
    assert Listener.objects.get(pk=people[0].pk).assigned_worker_id is None
    Worker.objects.filter(pk="w2").update(last_heartbeat=timezone.now() - timedelta(
        seconds=settings.WORKER_STALE_SECONDS + 1))
    registry.prune_stale()
    assert not Listener.objects.filter(assigned_worker_id="w2").exists()
    assert len(assignment.balance("w1")) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_claims_skip_rows_another_worker_is_claiming():
    listeners(4)
    workers("w1", "w2")
    locked = threading.Event()
    release = threading.Event()

    def hold_two():
        with transaction.atomic():
            list(Listener.objects.select_for_update().order_by("pk")[:2])
            locked.set()
            release.wait(10)
        connection.close()

    holder = threading.Thread(target=hold_two)
    holder.start()
    locked.wait(10)
    started = time.monotonic()
    claimed = assignment.claim("w2", 4)
    assert time.monotonic() - started < 1  # did not wait for the other transaction
    release.set()
    holder.join()
    assert len(claimed) == 2 and set(claimed).isdisjoint(
        Listener.objects.order_by("pk").values_list("pk", flat=True)[:2])


# --- real processes -------------------------------------------------------------------------
def admin_connection():
    """A session on the maintenance database, to switch the test database on and off."""
    import psycopg

    params = connection.get_connection_params()
    for key in ("cursor_factory", "context", "prepare_threshold", "server_side_binding"):
        params.pop(key, None)
    params["dbname"] = "postgres"
    return psycopg.connect(**params, autocommit=True)


STALE, HEARTBEAT = 3, 1
MARGIN = 1.0  # process start-up of a poll, database round trips, a loaded machine


def start_worker(tmp_path, spotify, n):
    env = subprocess_env(tmp_path / f"w{n}", WORKER_HEARTBEAT_SECONDS=HEARTBEAT,
                         WORKER_STALE_SECONDS=STALE,
                         HISTORY_POLL_SECONDS=1, SPOTIFY_API_URL=spotify.url,
                         SPOTIFY_ACCOUNTS_URL=spotify.url, SPOTIFY_CLIENT_ID=spotify.client_id,
                         SPOTIFY_CLIENT_SECRET=spotify.client_secret)
    log = open(tmp_path / f"worker{n}.log", "w")
    queue = f"pool-{uuid.uuid4().hex[:6]}"
    return subprocess.Popen([sys.executable, "-m", "celery", "-A", "songhub", "worker", "-Q",
                             queue, "--pool", "solo", "-l", "INFO", "-n", f"{queue}@%h"],
                            env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_for(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_three_workers_share_listeners_without_duplicates_and_survive_a_kill(tmp_path, spotify,
                                                                             settings):
    spotify.add_track("t" * 22, "Song", [("a" * 22, "Artist")])
    people = []
    for n in range(6):
        refresh = spotify.add_user(f"user{n}")
        listener = Listener(spotify_id=f"user{n}", app_client_id=spotify.client_id)
        listener.set_tokens("x", refresh, timezone.now() - timedelta(minutes=1))
        listener.save()
        people.append(listener)
        for minute in range(3):
            spotify.play(f"user{n}", "t" * 22, f"2026-11-20T10:0{minute}:00.000Z")
    processes = [start_worker(tmp_path, spotify, n) for n in range(3)]
    try:
        assert wait_for(lambda: Worker.objects.live().count() == 3, 60)
        assert wait_for(lambda: ListeningEvent.objects.count() == 18, 30)

        def shares():
            owners = list(Listener.objects.values_list("assigned_worker_id", flat=True))
            return sorted(owners.count(w) for w in set(owners) if w)

        # the first worker up claims everyone; later ones get their share as it rebalances
        assert wait_for(lambda: shares() == [2, 2, 2], 15), shares()
        time.sleep(3)  # several more poll rounds by three processes
        assert ListeningEvent.objects.count() == 18  # no play stored twice

        victim = processes[0]
        victim_id = Worker.objects.get(pid=victim.pid).pk
        orphaned = list(Listener.objects.filter(assigned_worker_id=victim_id)
                        .values_list("spotify_id", flat=True))
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        killed_at = time.monotonic()
        time.sleep(0.3)  # a request the victim sent just before dying is counted by now
        before = {s: spotify.requests_by_user[s] for s in orphaned}
        assert wait_for(lambda: all(spotify.requests_by_user[s] > before[s] for s in orphaned),
                        15)
        took = time.monotonic() - killed_at
        # docs/listening.md: stale + heartbeat + poll jobs taken over / POLL_START_RATE
        # (the victim's last beat may precede the kill by up to one heartbeat, hence the floor)
        bound = STALE + HEARTBEAT + len(orphaned) / settings.POLL_START_RATE
        assert STALE - HEARTBEAT <= took <= bound + MARGIN, (took, bound)
        assert Worker.objects.live().count() == 2
        assert not Listener.objects.filter(assigned_worker_id=victim_id).exists()
        spotify.play("user0", "t" * 22, "2026-11-20T10:09:00.000Z")
        assert wait_for(lambda: ListeningEvent.objects.count() == 19, 10)
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_survives_the_database_going_away(tmp_path, spotify):
    refresh = spotify.add_user("user0")
    spotify.add_track("t" * 22, "Song", [("a" * 22, "Artist")])
    listener = Listener(spotify_id="user0", app_client_id=spotify.client_id)
    listener.set_tokens("x", refresh, timezone.now() - timedelta(minutes=1))
    listener.save()
    admin = admin_connection()
    # only the worker's sessions: others of this test process (threads of earlier tests in the
    # same xdist worker) must not die with it
    worker_started = admin.execute("SELECT clock_timestamp()").fetchone()[0]
    process = start_worker(tmp_path, spotify, 0)
    name = connection.settings_dict["NAME"]

    def allow(allowed: bool):
        admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS {str(allowed).lower()}')

    try:
        assert wait_for(lambda: Worker.objects.live().count() == 1, 60)
        allow(False)
        ours = connection.connection.info.backend_pid
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE datname = %s AND pid <> %s AND backend_start >= %s",
                      [name, ours, worker_started])
        time.sleep(4)  # several heartbeats fail
        assert process.poll() is None, "the worker died with the database"
        log = (tmp_path / "worker0.log").read_text()
        assert "unhealthy: heartbeat failed" in log
        allow(True)
        back = timezone.now()
        assert wait_for(lambda: Worker.objects.filter(last_heartbeat__gt=back,
                                                      healthy=True).exists(), 15)
        spotify.play("user0", "t" * 22, "2026-11-20T12:00:00.000Z")
        assert wait_for(lambda: ListeningEvent.objects.count() == 1, 15)  # polling resumed
    finally:
        allow(True)
        admin.close()
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
