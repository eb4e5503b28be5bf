"""Runs whose owner died end as FAILED (issue #11.7): the heartbeat lease in songhub.runs, on
SyncRun; kill -9 of `retrieve_songs` mid-render; a redelivered task; the next run proceeds."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from ingestion import tasks
from ingestion.models import SyncRun
from songhub import runs
from tests.conftest import DEMO_SONGS
from tests.helpers import subprocess_env, sync

pytestmark = pytest.mark.django_db(transaction=True)


def running_run(age_seconds: float, **fields) -> SyncRun:
    return SyncRun.objects.create(status=SyncRun.Status.RUNNING, owner="gone:1",
                                  heartbeat_at=timezone.now() - timedelta(seconds=age_seconds),
                                  **fields)


def test_it_fails_a_running_run_whose_heartbeat_is_stale_and_keeps_a_fresh_one(settings):
    settings.RUN_STALE_SECONDS = 10
    stale, fresh = running_run(30), running_run(2)
    done = SyncRun.objects.create(status=SyncRun.Status.SUCCEEDED,
                                  heartbeat_at=timezone.now() - timedelta(hours=1))
    assert runs.reap_all() == {"SyncRun": [stale.pk]}
    stale.refresh_from_db(), fresh.refresh_from_db(), done.refresh_from_db()
    assert stale.status == "failed" and "owner stopped" in stale.message and stale.finished_at
    assert fresh.status == "running" and done.status == "succeeded"


def test_a_live_run_keeps_its_heartbeat_fresh_while_it_works(settings):
    settings.RUN_HEARTBEAT_SECONDS, settings.RUN_STALE_SECONDS = 0.2, 0.5
    run = running_run(100)
    with runs.heartbeat(run):
        for _ in range(5):
            time.sleep(0.3)
            assert runs.reap_stale(SyncRun) == []
    run.refresh_from_db()
    assert run.status == "running" and run.owner == runs.owner_name()


def test_a_redelivered_task_ends_the_run_its_dead_owner_left_running(settings, caplog):
    settings.RUN_STALE_SECONDS = 10
    run = running_run(60)
    tasks.sync_songs(run.pk, {"source": "dir", "source_dir": str(DEMO_SONGS)})
    run.refresh_from_db()
    assert run.status == "failed"
    assert "its owner died: marked failed" in caplog.text


def test_the_next_sync_ends_a_dead_run_and_proceeds(settings):
    settings.RUN_STALE_SECONDS = 10
    dead = running_run(60)
    report = sync(source="dir", source_dir=str(DEMO_SONGS))
    dead.refresh_from_db()
    assert dead.status == "failed" and not report.fatal
    assert SyncRun.objects.exclude(pk=dead.pk).get().status == "succeeded"


@pytest.mark.slow
def test_kill_9_of_retrieve_songs_mid_render_ends_its_run_and_the_next_run_proceeds(
        settings, tmp_path):
    hang = tmp_path / "chordpro"  # a "ChordPro CLI" that hangs: the render is in progress
    hang.write_text("#!/bin/sh\nsleep 120\n")
    hang.chmod(0o755)
    env = subprocess_env(settings.SONG_DATA_DIR, CHORDPRO_PATH=hang, CHORDPRO_TIMEOUT_SECONDS=120,
                         RUN_HEARTBEAT_SECONDS=0.5, RUN_STALE_SECONDS=2)
    manage = [sys.executable, str(Path(__file__).resolve().parent.parent / "manage.py")]
    process = subprocess.Popen(manage + ["retrieve_songs", "--source-dir", str(DEMO_SONGS),
                                         "--concurrency", "1"], env=env, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not SyncRun.objects.filter(status="running", owner__endswith=f":{process.pid}",
                                          heartbeat_at__gt=timezone.now() - timedelta(seconds=1.5)
                                          ).exists():
            assert time.monotonic() < deadline and process.poll() is None, "no live run seen"
            time.sleep(0.2)
        time.sleep(1.0)  # well into the render
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
        run = SyncRun.objects.get()
        assert run.status == "running"  # nobody could say otherwise yet

        settings.RUN_STALE_SECONDS = 2
        time.sleep(2.5)
        report = sync(source="dir", source_dir=str(DEMO_SONGS))
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    run.refresh_from_db()
    assert run.status == "failed" and "owner stopped" in run.message
    assert not report.fatal  # the song-sync lock died with its owner
    assert SyncRun.objects.exclude(pk=run.pk).get().status == "succeeded"


@pytest.mark.django_db
def test_imports_chart_syncs_and_chart_jobs_whose_worker_died_end_too(settings):
    """The same lease covers every long job row: history imports, chart syncs, chart imports
    and generate jobs."""
    from charts.models import ChartImportJob, ChartSyncRun
    from listening.models import ImportJob, Listener

    old = timezone.now() - timedelta(seconds=settings.RUN_STALE_SECONDS + 5)
    listener = Listener.objects.create(spotify_id="someone")
    dead = [ImportJob.objects.create(listener=listener, upload_path="/nope", status="running",
                                     heartbeat_at=old),
            ChartSyncRun.objects.create(status="running", heartbeat_at=old),
            ChartImportJob.objects.create(status="running", heartbeat_at=old)]
    alive = ChartImportJob.objects.create(status="running", heartbeat_at=timezone.now())
    reaped = runs.reap_all()
    assert reaped == {"ImportJob": [dead[0].pk], "ChartSyncRun": [dead[1].pk],
                      "ChartImportJob": [dead[2].pk]}
    for row in dead:
        row.refresh_from_db()
        assert row.status == "failed" and row.finished_at
    assert "owner stopped" in dead[0].error and "owner stopped" in dead[2].error
    assert "owner stopped" in dead[1].message
    alive.refresh_from_db()
    assert alive.status == "running"
    # a redelivered task for a job taken by a dead worker ends it instead of leaving it
    from listening import history_import

    stuck = ImportJob.objects.create(listener=listener, upload_path="/nope", status="running",
                                     heartbeat_at=old)
    history_import.run_job(stuck.pk)
    stuck.refresh_from_db()
    assert stuck.status == "failed"
