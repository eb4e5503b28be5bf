"""A real Celery worker process: it registers, heartbeats, runs a sync task, unregisters."""

import signal
import subprocess
import sys
import time
import uuid

import pytest

from ingestion.models import Song, SyncRun
from tests.conftest import DEMO_SONGS
from tests.helpers import subprocess_env
from workers.models import Worker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def wait_for(predicate, timeout=30.0, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


@pytest.fixture
def worker(tmp_path):
    """`celery -A songhub worker` on its own queue (embedded broker, or Redis when set)."""
    queue = f"test-{uuid.uuid4().hex[:8]}"
    env = subprocess_env(tmp_path / "worker_data", WORKER_HEARTBEAT_SECONDS=1)
    log = open(tmp_path / "worker.log", "w+")
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "songhub", "worker", "-Q", queue,
         "--concurrency", "1", "-l", "INFO", "-n", f"{queue}@%h"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    yield {"process": process, "queue": queue, "log": log, "env": env}
    if process.poll() is None:
        process.kill()
        process.wait()
    log.close()


def test_a_worker_registers_runs_a_sync_and_unregisters(worker, tmp_path):
    from ingestion.tasks import sync_songs

    assert wait_for(lambda: Worker.objects.exists()), open(tmp_path / "worker.log").read()
    first_beat = Worker.objects.get().last_heartbeat
    assert wait_for(lambda: Worker.objects.get().last_heartbeat > first_beat, timeout=10)

    run = SyncRun.objects.create(trigger="admin", options={"source": "dir",
                                                            "source_dir": str(DEMO_SONGS)})
    with broker_connection(worker["env"]) as conn:
        sync_songs.apply_async(args=[run.pk], queue=worker["queue"], connection=conn)
    assert wait_for(lambda: SyncRun.objects.get(pk=run.pk).status == "succeeded", timeout=45), \
        open(tmp_path / "worker.log").read()
    assert Song.objects.count() == 5

    worker["process"].send_signal(signal.SIGTERM)
    worker["process"].wait(timeout=30)
    assert not Worker.objects.exists()
    log = open(tmp_path / "worker.log").read()
    assert f"task={task_id_in(log)}]" in log  # task ids on the worker's log lines


def broker_connection(env):
    """The broker the worker reads: Redis, or the filesystem broker in its SONG_DATA_DIR."""
    from kombu import Connection

    if env["REDIS_URL"]:
        return Connection(env["REDIS_URL"])
    folder = f"{env['SONG_DATA_DIR']}/celery-broker"
    return Connection("filesystem://", transport_options={
        "data_folder_in": f"{folder}/queue", "data_folder_out": f"{folder}/queue",
        "control_folder": f"{folder}/control", "processed_folder": f"{folder}/processed",
    })


def task_id_in(log: str) -> str:
    import re

    match = re.search(r"task=([0-9a-f-]{36})\]", log)
    assert match, log[-2000:]
    return match.group(1)
