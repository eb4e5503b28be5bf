"""Listener polling in a worker (listening.poller on workers.scheduler) against the loopback
Spotify: schedules per mode, lag counted from due time to the HTTP call, batched bookkeeping."""

import threading
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from listening import service
from listening.models import ListeningEvent, Listener
from listening.poller import ListenerPoller, jobs_for
from workers.scheduler import Job, Run, Scheduler

Status = Listener.Status


def linked(spotify, name, mode="history"):
    refresh = spotify.add_user(name)
    listener = Listener(spotify_id=name, mode=mode, app_client_id=spotify.client_id,
                        status_song=Status.RUNNING)
    listener.set_tokens("expired", refresh, timezone.now() - timedelta(minutes=1))
    listener.save()
    return listener


@pytest.mark.django_db
def test_jobs_follow_the_mode_and_playlist_scans_spread_over_their_interval(spotify, settings):
    settings.PLAYLIST_SCAN_SECONDS = 86400.0
    people = {mode: linked(spotify, mode, mode) for mode in ("history", "realtime", "hybrid")}
    jobs = jobs_for([p.pk for p in people.values()])
    kinds = {mode: sorted(kind for pk, kind in jobs if pk == p.pk) for mode, p in people.items()}
    assert kinds == {"history": ["history", "playlists"], "realtime": ["playlists", "realtime"],
                     "hybrid": ["history", "playlists", "realtime"]}
    assert jobs[(people["realtime"].pk, "realtime")] == Job(settings.REALTIME_POLL_SECONDS)
    assert jobs[(people["history"].pk, "history")] == Job(settings.HISTORY_POLL_SECONDS)
    assert jobs[(people["history"].pk, "playlists")] == Job(86400.0, start_within=86400.0)


@pytest.mark.django_db(transaction=True)
def test_lag_is_measured_when_the_http_call_starts(spotify, settings):
    spotify.latency = 0.4
    for n in range(2):
        linked(spotify, f"user{n}")
    poller = ListenerPoller(threads=1)
    scheduler = Scheduler(poller, threads=1, start_rate=1000.0).start()
    try:
        # two first polls due 1 ms apart and one thread: the second waits for the first call
        # (token refresh + recently-played, 0.8 s), and that wait is its lag
        scheduler.set_jobs({(pk, "history"): Job(600) for pk in
                            Listener.objects.values_list("pk", flat=True)})
        deadline = time.monotonic() + 15
        while len(scheduler.lags) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        lags = sorted(lag for _, lag, _ in scheduler.lags)
        assert len(lags) == 2 and lags[0] < 0.3 and lags[1] >= 0.7
    finally:
        scheduler.stop()
    assert spotify.counts["/v1/me/player/recently-played"] == 2


def run(key):
    return Run(Scheduler(lambda r: None, threads=1, start_rate=1.0), key, time.monotonic(), True)


# the poller manages its thread's connection (close_old_connections), as in a worker: these
# tests run outside the test transaction
@pytest.mark.django_db(transaction=True)
def test_poll_times_and_status_are_written_in_a_few_statements_per_flush(
        spotify, django_assert_max_num_queries):
    people = [linked(spotify, f"user{n}", "hybrid") for n in range(20)]
    Listener.objects.update(status_song=Status.STOPPED)  # e.g. just started: flips to running
    poller = ListenerPoller(threads=1)
    for person in people:
        poller(run((person.pk, "history")))
        poller(run((person.pk, "realtime")))
    assert not Listener.objects.filter(last_history_poll__isnull=False).exists()  # buffered
    with django_assert_max_num_queries(5):
        poller.flush()
    assert Listener.objects.filter(last_history_poll__isnull=False,
                                   last_realtime_poll__isnull=False,
                                   status_song=Status.RUNNING).count() == 20
    with django_assert_max_num_queries(0):
        poller.flush()  # nothing new: nothing written


@pytest.mark.django_db(transaction=True)
def test_a_failed_poll_records_no_poll_time(spotify):
    person = linked(spotify, "user0")
    spotify.inject(503, times=10)
    poller = ListenerPoller(threads=1)
    poller(run((person.pk, "history")))
    poller.flush()
    assert Listener.objects.get(pk=person.pk).last_history_poll is None
    assert not ListeningEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_stop_during_a_long_call_shows_stopping_until_the_call_ends(spotify):
    person = linked(spotify, "user0")
    spotify.latency = 1.0
    poller = ListenerPoller(threads=1)
    call = threading.Thread(target=poller, args=(run((person.pk, "history")),))
    call.start()
    time.sleep(0.3)
    poller.flush()  # in flight: noted
    poller.flush()  # still in flight one flush later: processing
    assert Listener.objects.get(pk=person.pk).status_song == Status.PROCESSING
    service.stop(Listener.objects.get(pk=person.pk))
    assert Listener.objects.get(pk=person.pk).status_song == Status.PROCESSING  # "stopping"
    call.join(10)
    poller.flush()
    assert Listener.objects.get(pk=person.pk).status_song == Status.STOPPED


@pytest.mark.django_db
@pytest.mark.parametrize("variables, message", [
    ({"POLL_START_RATE": "0"}, "POLL_START_RATE must be a positive"),
    ({"WORKER_HEARTBEAT_SECONDS": "0"}, "WORKER_HEARTBEAT_SECONDS must be > 0"),
    ({"WORKER_HEARTBEAT_SECONDS": "90"}, "below WORKER_STALE_SECONDS"),
])
def test_pool_timings_that_cannot_work_stop_start_up(tmp_path, variables, message):
    import subprocess
    import sys

    from tests.helpers import subprocess_env

    result = subprocess.run(
        [sys.executable, "-c", "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = "
                               "'songhub.settings'; django.setup()"],
        env=subprocess_env(tmp_path, **variables), capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and message in result.stderr


@pytest.mark.django_db(transaction=True)
def test_history_polls_through_the_poller_count_each_play_once(spotify):
    person = linked(spotify, "user0")
    spotify.add_track("t" * 22, "Song", [("a" * 22, "Artist")])
    spotify.play("user0", "t" * 22, "2026-11-20T10:00:00.000Z")
    spotify.play("user0", "t" * 22, "2026-11-20T10:05:00.000Z")
    poller = ListenerPoller(threads=1)
    poller(run((person.pk, "history")))
    poller(run((person.pk, "history")))  # the cursor read with the listener: nothing new
    spotify.play("user0", "t" * 22, "2026-11-20T10:10:00.000Z")
    poller(run((person.pk, "history")))
    assert ListeningEvent.objects.filter(listener=person).count() == 3
    assert spotify.counts["/v1/me/player/recently-played"] == 3
