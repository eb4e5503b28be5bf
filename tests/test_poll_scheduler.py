"""The worker's generic job scheduler: lag counted up to the moment work really starts, paced
first runs, jobs spread over their interval, no drift, no overlapping runs."""

import threading
import time

import pytest

from workers.scheduler import Job, Scheduler


class Recorder:
    """Work that notes when each run began, optionally holding its thread for a while."""

    def __init__(self, hold=0.0):
        self.hold, self.lock, self.starts = hold, threading.Lock(), {}

    def __call__(self, run):
        run.started()
        with self.lock:
            self.starts.setdefault(run.key, []).append(time.monotonic())
        time.sleep(self.hold)


@pytest.fixture
def make():
    made = []

    def factory(work, **options):
        options.setdefault("threads", 4)
        options.setdefault("start_rate", 1000.0)
        scheduler = Scheduler(work, **options).start()
        made.append(scheduler)
        return scheduler

    yield factory
    for scheduler in made:
        scheduler.stop()


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_lag_includes_the_wait_for_a_free_thread(make):
    work = Recorder(hold=0.4)
    scheduler = make(work, threads=1, start_rate=1000.0)
    scheduler.set_jobs({"a": Job(60), "b": Job(60)})  # both due within 2 ms, one thread
    assert wait_for(lambda: len(scheduler.lags) == 2)
    lags = sorted(lag for _, lag, _ in scheduler.lags)
    assert lags[0] < 0.3 and lags[1] >= 0.35  # the second waited for the first to finish
    assert all(first for _, _, first in scheduler.lags)


def test_new_jobs_start_paced_in_proportion_to_their_number(make):
    work = Recorder()
    scheduler = make(work, start_rate=100.0)
    began = time.monotonic()
    scheduler.set_jobs({n: Job(600) for n in range(50)})
    assert wait_for(lambda: len(work.starts) == 50)
    firsts = sorted(times[0] - began for times in work.starts.values())
    assert firsts[-1] >= 0.45  # 50 jobs at 100/s: not all at once ...
    assert firsts[-1] <= 0.5 + 1.0  # ... and all started within 50 / 100 s (+ a loaded margin)
    assert firsts[24] >= 0.2  # evenly: half of them take about half the window
    # jobs handed over while others still wait to start queue behind them
    scheduler.set_jobs({n: Job(600) for n in range(50, 250)})
    scheduler.set_jobs({n: Job(600) for n in range(50, 260)})
    assert scheduler.pending_starts(range(250, 260)) == 10
    assert wait_for(lambda: len(work.starts) == 260)
    assert max(work.starts[n][0] for n in range(250, 260)) - began >= 1.9


def test_jobs_with_start_within_are_spread_over_that_window(make):
    work = Recorder()
    scheduler = make(work)
    scheduler.set_jobs({("scan", n): Job(86400, start_within=86400) for n in range(100)})
    time.sleep(0.5)
    assert len(work.starts) <= 2  # ~0.06 expected in half a second of a day
    assert scheduler.pending_starts() >= 98


def test_known_jobs_keep_their_phase_and_never_overlap(make):
    work = Recorder(hold=0.35)
    scheduler = make(work)
    scheduler.set_jobs({"slow": Job(0.2), "steady": Job(0.25, start_within=0.01)})
    time.sleep(0.3)
    due = dict(scheduler.due)
    scheduler.set_jobs({"slow": Job(0.2), "steady": Job(0.25, start_within=0.01)})
    assert scheduler.due == due  # handing the same jobs again keeps their phase
    time.sleep(1.0)
    steady = work.starts["steady"]
    gaps = [b - a for a, b in zip(steady, steady[1:])]
    assert len(steady) >= 3
    # due every 0.25 s but each run holds 0.35 s: a busy job skips a round, never overlaps
    assert all(gap >= 0.45 for gap in gaps)
    slow = work.starts["slow"]
    assert all(b - a >= 0.35 for a, b in zip(slow, slow[1:]))


def test_removed_jobs_stop_and_work_errors_do_not_kill_the_pool(make):
    calls = []

    def work(run):
        calls.append(run.key)
        if run.key == "bad":
            raise RuntimeError("boom")

    scheduler = make(work)
    scheduler.set_jobs({"bad": Job(0.1, start_within=0.01), "gone": Job(0.1, start_within=0.01)})
    assert wait_for(lambda: calls.count("bad") >= 3)
    scheduler.set_jobs({"bad": Job(0.1)})
    time.sleep(0.2)
    gone = calls.count("gone")
    time.sleep(0.4)
    assert calls.count("gone") == gone and calls.count("bad") >= 5


def test_flush_runs_periodically_and_once_more_on_stop(make):
    flushes = []
    scheduler = make(Recorder(), flush=lambda: flushes.append(time.monotonic()),
                     flush_seconds=0.1)
    time.sleep(0.55)
    assert 3 <= len(flushes) <= 7
    before = len(flushes)
    scheduler.stop()
    assert len(flushes) >= before + 1
