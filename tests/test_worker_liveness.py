"""The worker pod's liveness probe reads the heartbeat file the heartbeat thread touches."""

import os
import subprocess
import sys
import time


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
