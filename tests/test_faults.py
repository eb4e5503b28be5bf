"""Faults (issue #11, "the tests that must exist"): real daphne, a real Celery worker polling a
loopback Spotify, a live room with a WebSocket follower.

* Redis down (a private redis-server, killed and restarted) and PostgreSQL down (a TCP proxy in
  front of it dropped: every connection reset, new ones refused; the shared server is never
  stopped) for OUTAGE seconds each: /health truthful throughout, every page turn reported as
  success is committed and every one reported as failure is not, and everything recovers.
* kill -9 of web, worker (mid-render) and beat in turn: each comes back, and nothing stays
  "running" after the stale timeout.

Outages last OUTAGE = 30 s each, as the issue asks: longer than every client timeout, the
worker's heartbeat and the stale timeout, so each part meets the failure for real.
"""

import json
import os
import signal
import time
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from django.utils import timezone
from websockets.sync.client import connect

from ingestion.models import Song, SyncRun
from ingestion.tasks import sync_songs
from listening.models import Listener
from rooms import services
from rooms.models import Room
from songhub.models import ApiToken
from tests.conftest import DEMO_SONGS
from tests.faultkit import RedisServer, TcpProxy, celery, wait_for
from tests.helpers import Daphne, subprocess_env
from workers.models import Worker

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow,
              pytest.mark.django_db(transaction=True)]

OUTAGE = 30.0
STALE = 3  # RUN_STALE_SECONDS / WORKER_STALE_SECONDS in the child processes


def http(url, method="GET", body=None, headers=None, timeout=15.0):
    """(status, parsed JSON or None); never raises for an HTTP status."""
    request = urllib.request.Request(url, method=method, headers=headers or {},
                                     data=json.dumps(body).encode() if body is not None else None)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    except OSError:
        return 0, None
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, None


class Follower:
    """A guest following the room over a real WebSocket (or, with a session cookie, the host
    as a controller)."""

    def __init__(self, server, room_id, cookie=None, client_type="viewer"):
        self.ws = connect(f"ws://127.0.0.1:{server.port}/ws", origin=server.url, open_timeout=10,
                          additional_headers={"Cookie": cookie} if cookie else None, legacy=True)
        self.ws.send(json.dumps(["handshake", {"client_type": client_type}]))
        self.ws.send(json.dumps(["join_room", {"room_id": room_id, "request_id": "j",
                                               "name": "Follower"}]))
        self.state = self.expect("room_state")

    def turn(self, page, timeout=15.0) -> bool:
        """A page turn over the socket; True when the server acknowledged it as done."""
        self.ws.send(json.dumps(["set_page", {"page": page, "request_id": f"turn-{page}"}]))
        return self.expect("ack", lambda p: p["request_id"] == f"turn-{page}",
                           timeout)["success"]

    def expect(self, name, where=lambda p: True, timeout=10.0):
        deadline = time.monotonic() + timeout
        while True:
            frame = json.loads(self.ws.recv(timeout=max(0.01, deadline - time.monotonic())))
            if frame[0] == name and where(frame[1]):
                return frame[1]

    def close(self):
        self.ws.close()


@pytest.fixture
def stack(settings, tmp_path, spotify, django_user_model):
    """Private Redis, a proxy to PostgreSQL, a room with a 1,000-page song (each turn
    unique), a token for its host, a polled listener; `start(role)` runs daphne/worker/beat."""
    redis_server = RedisServer(tmp_path).start()
    proxy = TcpProxy(("127.0.0.1", int(settings.DATABASES["default"]["PORT"] or 5432))).start()
    host = django_user_model.objects.create_user("faulthost", password="pw-faulthost-1")
    _, key = ApiToken.issue(host, "fault test")
    song = Song.objects.create(id=1, title="Long", filename="l.cho", source_sha="x",
                               page_count=1000)
    room = services.create_room(host, "Fault room")
    services.select_song(room.pk, services.active_participant(room, user=host), song.pk)
    spotify.add_track("t" * 22, "Song", [("a" * 22, "Artist")])
    listener = Listener(spotify_id="poll1", app_client_id=spotify.client_id)
    listener.set_tokens("x", spotify.add_user("poll1"), timezone.now() - timedelta(minutes=1))
    listener.save()

    env = subprocess_env(settings.SONG_DATA_DIR, REDIS_URL=redis_server.url,
                   WORKER_HEARTBEAT_SECONDS=1, WORKER_STALE_SECONDS=STALE,
                   RUN_HEARTBEAT_SECONDS=0.5, RUN_STALE_SECONDS=STALE, HISTORY_POLL_SECONDS=1,
                   DB_POOL_TIMEOUT_SECONDS=3, SPOTIFY_API_URL=spotify.url,
                   SPOTIFY_ACCOUNTS_URL=spotify.url, SPOTIFY_CLIENT_ID=spotify.client_id,
                   SPOTIFY_CLIENT_SECRET=spotify.client_secret, SONG_SYNC_INTERVAL_SECONDS=2,
                   SONG_SYNC_SOURCE="local", LISTENING_BEAT_JOBS=0, DEBUG=0)
    db = settings.DATABASES["default"]
    env["DATABASE_URL"] = (f"postgres://{db['USER']}:{db['PASSWORD']}@127.0.0.1:{proxy.port}/"
                           f"{db['NAME']}?connect_timeout=3")
    processes = []  # (process, in a session of its own)

    class Stack:
        pass

    stack = Stack()
    stack.env, stack.room, stack.host, stack.key = env, room, host, key
    stack.redis, stack.proxy, stack.spotify = redis_server, proxy, spotify

    def start(role, **extra):
        log = tmp_path / f"{role}.log"
        if role == "web":
            process = Daphne({**env, **{k: str(v) for k, v in extra.items()}}, log)
            processes.append((process.process, False))
            return process.wait_ready()
        args = (["-Q", "celery", "--pool", "solo", "-n", f"fault{len(processes)}@%h"]
                if role == "worker" else ["-s", str(tmp_path / "beat-schedule"),
                                          "--pidfile", str(tmp_path / "beat.pid")])
        process = celery(role, {**env, **{k: str(v) for k, v in extra.items()}}, log, *args)
        processes.append((process, True))
        return process

    def send(task, *args):
        """Enqueue on the private broker the processes listen to."""
        from songhub.celery import app

        with app.connection_for_write(redis_server.url) as connection:
            task.apply_async(args, connection=connection)

    stack.start, stack.send = start, send
    try:
        yield stack
    finally:
        for process, grouped in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL) if grouped else process.kill()
                process.wait(10)
        proxy.stop()
        redis_server.stop()


def turn(server, stack, page):
    return http(f"{server.url}/rooms/{stack.room.pk}/page", "POST", {"page": page},
                {"Authorization": f"Token {stack.key}", "Content-Type": "application/json"})[0]


def committed_page(stack) -> int:
    return Room.objects.get(pk=stack.room.pk).current_page


def started_with_follower(stack):
    """daphne, a worker that polls, and a follower in the room."""
    server = stack.start("web")
    worker = stack.start("worker")
    assert wait_for(lambda: Worker.objects.live().filter(healthy=True).exists(), 60), \
        "the worker never registered"
    assert wait_for(lambda: stack.spotify.requests_by_user["poll1"] > 1, 30), \
        "the worker is not polling"
    return server, worker, Follower(server, stack.room.pk)


class Turns:
    """Unique page turns over REST; each checks "reported success <=> committed"."""

    def __init__(self, server, stack):
        self.server, self.stack, self.page = server, stack, 1
        self.statuses, self.mismatches = [], []

    def __call__(self) -> int:
        self.page += 1
        status = turn(self.server, self.stack, self.page)
        now = committed_page(self.stack)  # read directly, not through the outage
        self.statuses.append(status)
        if (status == 200) != (now == self.page):
            self.mismatches.append((self.page, status, now))
        return status


def test_redis_outage_keeps_health_truthful_and_recovers(stack):
    server, worker, follower = started_with_follower(stack)
    turns = Turns(server, stack)
    stack.redis.stop()
    ends = time.monotonic() + OUTAGE
    while time.monotonic() < ends:
        status, health = http(server.url + "/health")
        assert status == 200 and health["database"] == "ok", health  # still ready: DB is up
        assert health["redis"].startswith("error") and health["status"] == "degraded", health
        turns()
        time.sleep(0.5)
    stack.redis.start()
    assert wait_for(lambda: http(server.url + "/health")[1]["redis"] == "ok", 20)
    assert wait_for(lambda: http(server.url + "/health")[1]["channel_layer"] == "ok", 20)

    # a follower that reconnects resynchronises from the snapshot, then hears new turns
    follower.close()
    follower = Follower(server, stack.room.pk)
    assert follower.state["song"]["current_page"] == committed_page(stack)
    outage_mismatches = list(turns.mismatches)
    assert turns() == 200
    assert follower.expect("page_updated")["current_page"] == turns.page
    follower.close()
    assert worker.poll() is None, "the worker died with Redis"
    assert wait_for(lambda: Worker.objects.live().filter(healthy=True).exists(), 15)
    assert not outage_mismatches, ("committed page turns reported as failures while Redis "
                                   f"was down: {outage_mismatches[:3]}")


def host_cookie(stack) -> str:
    from django.test import Client

    client = Client()
    client.force_login(stack.host)
    return f"sessionid={client.cookies['sessionid'].value}"


def test_postgresql_outage_keeps_health_truthful_and_loses_no_committed_turn(stack):
    server, worker, follower = started_with_follower(stack)
    controller = Follower(server, stack.room.pk, host_cookie(stack), "controller")
    turns = Turns(server, stack)
    assert controller.turn(900) and committed_page(stack) == 900  # on the event loop (rooms.aio)
    stack.proxy.stop()
    ends = time.monotonic() + OUTAGE
    socket_turns = []  # (page, acknowledged as done, seconds to the answer)
    while time.monotonic() < ends:
        started = time.monotonic()
        status, health = http(server.url + "/health")
        assert status == 503 and health["database"].startswith("error"), (status, health)
        assert time.monotonic() - started < 10, "/health must answer while the DB is away"
        turns()
        if len(socket_turns) < 3:
            started = time.monotonic()
            page = 901 + len(socket_turns)
            socket_turns.append((page, controller.turn(page), time.monotonic() - started))
        time.sleep(0.5)
    stack.proxy.start()
    # a socket page turn fails with an answer, in bounded time, and commits nothing
    assert [done for _, done, _ in socket_turns] == [False] * 3, socket_turns
    assert max(seconds for _, _, seconds in socket_turns) < 10, socket_turns
    assert wait_for(lambda: http(server.url + "/health")[0] == 200, 30)
    assert turns() == 200
    assert follower.expect("page_updated", lambda p: p["current_page"] == turns.page)
    assert wait_for(lambda: controller.turn(950), 15), "socket page turns never came back"
    assert committed_page(stack) == 950
    assert follower.expect("page_updated", lambda p: p["current_page"] == 950)
    controller.close()
    follower.close()
    assert worker.poll() is None, "the worker died with the database"
    assert wait_for(lambda: Worker.objects.live().filter(healthy=True).exists(), 15)
    polled = stack.spotify.requests_by_user["poll1"]
    assert wait_for(lambda: stack.spotify.requests_by_user["poll1"] > polled, 15), \
        "the worker stopped polling after the outage"
    assert turns.mismatches == [], turns.mismatches  # success <=> committed, every turn
    assert 0 not in turns.statuses, "a request hung up instead of answering"
    assert 500 not in turns.statuses, f"an outage is a 503, not a crash: {turns.statuses}"


def test_kill_9_of_web_worker_and_beat_leaves_nothing_running_after_the_stale_timeout(
        stack, tmp_path):
    hang = tmp_path / "chordpro"  # renders hang: the worker is killed mid-render
    hang.write_text("#!/bin/sh\nsleep 120\n")
    hang.chmod(0o755)

    # web: killed, restarted, serves
    server = stack.start("web")
    os.kill(server.process.pid, signal.SIGKILL)
    server.process.wait(10)
    server = stack.start("web")
    assert http(server.url + "/health")[0] == 200

    # worker, mid-render of a sync run
    worker = stack.start("worker", CHORDPRO_PATH=hang, CHORDPRO_TIMEOUT_SECONDS=120)
    run = SyncRun.objects.create(trigger=SyncRun.Trigger.ADMIN,
                                 options={"source": "dir", "source_dir": str(DEMO_SONGS)})
    stack.send(sync_songs, run.pk)
    assert wait_for(lambda: SyncRun.objects.filter(pk=run.pk, status="running").exclude(
        owner="").exists(), 60), "the worker never started the run"
    time.sleep(1.0)
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(10)
    assert SyncRun.objects.get(pk=run.pk).status == "running"

    # beat: started (it schedules a local sync every 2 s), killed, restarted
    survivor = stack.start("worker")
    beat = stack.start("beat")
    assert wait_for(lambda: SyncRun.objects.filter(trigger="beat").exists(), 60), \
        "beat never scheduled a run"
    os.killpg(beat.pid, signal.SIGKILL)
    beat.wait(10)
    seen = SyncRun.objects.filter(trigger="beat").count()
    stack.start("beat")
    assert wait_for(lambda: SyncRun.objects.filter(trigger="beat").count() > seen, 60), \
        "beat did not come back"

    # the dead worker's run ended, and nothing else is left running
    assert wait_for(lambda: SyncRun.objects.get(pk=run.pk).status == "failed", STALE + 10)
    assert "owner stopped" in SyncRun.objects.get(pk=run.pk).message
    time.sleep(STALE + 1)
    stuck = SyncRun.objects.filter(status="running",
                                   heartbeat_at__lt=timezone.now() - timedelta(seconds=STALE))
    assert not stuck.exists(), list(stuck.values("pk", "trigger", "owner"))
    assert survivor.poll() is None


def test_a_request_that_needs_the_unreachable_database_gets_503_not_500(tmp_path):
    """DEBUG off, the database refusing connections: the API answers 503 with Retry-After in
    the one error shape (songhub.views.server_error), pages a plain 503."""
    import subprocess
    import sys

    env = subprocess_env(tmp_path, DATABASE_URL="postgres://nobody@127.0.0.1:9/none",
                         REDIS_URL="", DEBUG="0", DB_POOL_TIMEOUT_SECONDS=1)
    # Answers go to a file: the pool's threads log to stdout while the main thread prints,
    # and a log line can land between print()'s separate writes.
    answers = tmp_path / "answers.json"
    code = ("import django, json, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'songhub.settings';"
            " django.setup(); from django.test import Client; c = Client(raise_request_exception"
            "=False, HTTP_HOST='localhost')\n"
            "lines = []\n"
            "for accept in ('application/json', 'text/html'):\n"
            "    r = c.get('/api/songs/search?q=x', HTTP_ACCEPT=accept)\n"
            "    lines.append([r.status_code, r.get('Retry-After'), r.content.decode()])\n"
            f"open({str(answers)!r}, 'w').write(json.dumps(lines))\n")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, timeout=60)
    assert answers.exists(), result.stdout[-2000:] + result.stderr[-2000:]
    lines = json.loads(answers.read_text())
    assert len(lines) == 2, lines
    (api_status, api_retry, api_body), (page_status, _, page_body) = lines
    assert (api_status, api_retry) == (503, "5")
    assert json.loads(api_body)["error"]["code"] == "database_unavailable"
    assert page_status == 503 and "database is unreachable" in page_body
