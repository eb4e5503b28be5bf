"""The worker pod's liveness probe reads the heartbeat file the heartbeat thread touches."""

import os
import statistics
import subprocess
import sys
import threading
import time

import pytest


def probe(path, interval="1"):
    env = {**os.environ, "WORKER_HEARTBEAT_FILE": str(path), "WORKER_HEARTBEAT_SECONDS": interval}
    return subprocess.run([sys.executable, "-m", "workers.alive"], env=env, capture_output=True,
                          text=True, timeout=30)


def test_alive_while_the_heartbeat_is_fresh_dead_when_stale_or_missing(tmp_path):
    beat = tmp_path / "beat"
    assert probe(beat).returncode == 1  # no heartbeat yet
    beat.touch()
    assert probe(beat).returncode == 0
    old = time.time() - 10
    os.utime(beat, (old, old))
    result = probe(beat)
    assert result.returncode == 1 and "old" in result.stderr


def test_the_heartbeat_thread_touches_the_file(tmp_path, settings, monkeypatch):
    from workers import signals

    monkeypatch.setenv("WORKER_HEARTBEAT_FILE", str(tmp_path / "beat"))
    signals._touch_liveness_file()
    assert probe(tmp_path / "beat").returncode == 0


@pytest.mark.django_db(transaction=True)
def test_heartbeats_keep_a_fixed_rate_when_a_beat_is_slow(settings, monkeypatch, tmp_path):
    """The failover bound counts one heartbeat interval: a slow beat must not stretch it."""
    from django.db import connection

    from workers import registry, signals

    settings.WORKER_HEARTBEAT_SECONDS = 0.5
    monkeypatch.setenv("WORKER_HEARTBEAT_FILE", str(tmp_path / "beat"))
    beats = []
    real_heartbeat = registry.heartbeat

    def slow_heartbeat(worker_id):
        beats.append(time.monotonic())
        healthy = real_heartbeat(worker_id)
        time.sleep(0.15)  # a slow database round trip
        return healthy

    monkeypatch.setattr(registry, "heartbeat", slow_heartbeat)
    registry.register("w-fixed-rate")
    stop = threading.Event()

    def beat():
        try:
            signals._beat_forever("w-fixed-rate", stop)
        finally:
            connection.close()

    thread = threading.Thread(target=beat)
    thread.start()
    time.sleep(3.0)
    stop.set()
    thread.join(5)
    gaps = [b - a for a, b in zip(beats, beats[1:])]
    assert len(gaps) >= 3
    # the median, not the mean: on a loaded machine one beat may overrun and skip a slot
    assert statistics.median(gaps) == pytest.approx(0.5, abs=0.08)  # not 0.5 + 0.15
