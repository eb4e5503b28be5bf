"""`make run`'s steps on the embedded default: no DATABASE_URL, no REDIS_URL, no network."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.helpers import free_port

pytestmark = pytest.mark.slow


def get(url):
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read()


def test_embedded_songhub_serves_songs_health_and_a_worker_then_stops_cleanly(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL") and not k.startswith("DJANGO_")}
    env.update({"SONG_DATA_DIR": str(tmp_path / "data"), "DEBUG": "1",
                "SONG_SYNC_SOURCE": "local", "WORKER_HEARTBEAT_SECONDS": "1"})
    manage = [sys.executable, "manage.py"]
    subprocess.run(manage + ["migrate", "--noinput", "-v0"], env=env, check=True, timeout=120)
    demo = subprocess.run(manage + ["bootstrap_demo"], env=env, capture_output=True, text=True,
                          timeout=120, check=True)
    assert "5 added" in demo.stdout and "with password: " in demo.stdout
    again = subprocess.run(manage + ["bootstrap_demo"], env=env, capture_output=True, text=True,
                           timeout=120, check=True)
    assert "password: " not in again.stdout  # printed once only

    port = free_port()
    log = open(tmp_path / "runall.log", "w+")
    process = subprocess.Popen(manage + ["runall", "--port", str(port)], env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    try:
        health = None
        for _ in range(120):
            try:
                status, body = get(f"http://127.0.0.1:{port}/health")
                health = json.loads(body)
                if health["workers"] == 1:
                    break
            except OSError:
                pass
            time.sleep(0.25)
        assert health and health["database"] == "ok" and health["workers"] == 1, \
            open(tmp_path / "runall.log").read()[-3000:]
        status, body = get(f"http://127.0.0.1:{port}/")
        assert status == 200 and b'id="song-count">5<' in body
        status, body = get(f"http://127.0.0.1:{port}/static/css/songhub.css")
        assert status == 200 and b"--bg" in body
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=60)
    output = open(tmp_path / "runall.log").read()
    assert code == 0, output[-3000:]
    assert "Stopped web, worker and beat." in output
    assert "unregistered" in output  # the worker removed its heartbeat row on the way out
