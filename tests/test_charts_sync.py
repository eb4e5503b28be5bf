"""Library sync against a real WebDAV server: incremental, purging, the command's contract."""

import json
import subprocess
import sys

import pytest

from charts import sync
from charts.models import Chart, ChartSyncRun
from tests.charts_support import make_song_folder, song_ini
from tests.helpers import subprocess_env

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def library(webdav):
    songs = webdav.files / "Songs"
    make_song_folder(songs / "Band" / "One_aaaa", "One", "Band", notes=32)
    make_song_folder(songs / "Band" / "Two_bbbb", "Two", "Band", notes=48)
    make_song_folder(songs / "Other" / "Three_cccc", "Three", "Other", notes=16, audio=None)
    (songs / "Other" / "not-a-song").mkdir()
    (songs / "Other" / "not-a-song" / "readme.txt").write_text("hi")
    return songs


def test_it_adds_every_song_folder(library):
    _run, report = sync.run()
    assert report.summary() == {"synced": 3, "added": 3, "updated": 0, "unchanged": 0,
                                "purged": 0, "failed": 0}
    one = Chart.objects.get(remote_path="Songs/Band/One_aaaa")
    assert (one.title, one.artist, one.charter, one.chart_format) == ("One", "Band", "Someone",
                                                                       "chart")
    assert one.note_counts == {"guitar": {"expert": 32}} and one.has_audio
    assert Chart.objects.get(title="Three").issues == ["noAudio"]
    assert ChartSyncRun.objects.get().status == "succeeded"


def test_big_syncs_parse_in_worker_processes(library, monkeypatch):
    monkeypatch.setattr(sync, "PARSE_PROCESSES_FROM", 1)
    monkeypatch.setattr(sync, "WINDOW", 1)  # one window downloads while the last is parsed
    _run, report = sync.run()
    assert report.added == 3 and report.downloads == 6  # song.ini + notes.chart each
    assert Chart.objects.get(title="Two").note_counts == {"guitar": {"expert": 48}}


def test_it_downloads_nothing_when_unchanged(library, webdav):
    sync.run()
    webdav.reset_counts()
    _run, report = sync.run()
    assert report.unchanged == 3 and report.downloads == 0
    assert set(webdav.counts) == {"PROPFIND"}


def test_it_rereads_only_the_changed_folder(library, webdav):
    sync.run()
    (library / "Band" / "Two_bbbb" / "song.ini").write_text(song_ini("Two (Live)", "Band"))
    webdav.reset_counts()
    _run, report = sync.run()
    assert (report.updated, report.unchanged, report.downloads) == (1, 2, 2)
    assert Chart.objects.filter(title="Two (Live)").count() == 1


def test_a_resync_with_nothing_changed_reads_only_the_songs_folders_etag(library, webdav):
    """Nextcloud changes a folder's ETag when anything below it changes (the fake does too)."""
    sync.run()
    webdav.reset_counts()
    _run, report = sync.run()
    assert report.summary() == {"synced": 3, "added": 0, "updated": 0, "unchanged": 3,
                                "purged": 0, "failed": 0}
    assert dict(webdav.counts) == {"PROPFIND": 1} and report.downloads == 0


def test_a_resync_walks_only_the_top_folders_whose_etag_moved(library, webdav):
    import shutil

    for i in range(10):  # untouched artists: their folders are skipped, their rows kept
        make_song_folder(library / f"Artist {i}" / f"Song_{i:04x}", f"Song {i}", f"Artist {i}")
    sync.run()
    (library / "Band" / "Two_bbbb" / "song.ini").write_text(song_ini("Two (Live)", "Band"))
    shutil.rmtree(library / "Other")
    make_song_folder(library / "New" / "Four_eeee", "Four", "New")
    webdav.reset_counts()
    _run, report = sync.run()
    assert report.summary() == {"synced": 13, "added": 1, "updated": 1, "unchanged": 11,
                                "purged": 1, "failed": 0}
    # Songs (depth 0 and 1), then Band and New only; song.ini + notes.chart of two folders
    assert webdav.counts["PROPFIND"] == 4 and report.downloads == 4
    assert set(Chart.objects.values_list("title", flat=True)) == {
        "One", "Two (Live)", "Four", *(f"Song {i}" for i in range(10))}


def test_a_top_folder_that_vanishes_mid_sync_does_not_empty_the_library(library, webdav,
                                                                         monkeypatch):
    """Renamed or deleted between the listing of Songs and its walk: its rows are kept this
    time and the next sync reads it again (the walk's 404 once read as "no Songs folder" and
    purged every row)."""
    from charts.storage import NotFound
    from charts.storage.webdav import WebDAVStorage

    sync.run()
    (library / "Band" / "Two_bbbb" / "song.ini").write_text(song_ini("Two (Live)", "Band"))
    walk = WebDAVStorage.walk

    def vanishing(self, path, *args, **kwargs):
        if path.endswith("/Band"):
            raise NotFound(f"{path}: 404")
        return walk(self, path, *args, **kwargs)

    monkeypatch.setattr(WebDAVStorage, "walk", vanishing)
    _run, report = sync.run()
    assert not report.fatal and report.purged == 0 and Chart.objects.count() == 3
    monkeypatch.setattr(WebDAVStorage, "walk", walk)  # it was only busy: read again next time
    _run, report = sync.run()
    assert report.updated == 1 and Chart.objects.filter(title="Two (Live)").exists()
    import shutil

    shutil.rmtree(library / "Band")  # really gone: purged by the sync that sees it gone
    _run, report = sync.run()
    assert report.purged == 2 and Chart.objects.count() == 1


def test_a_folder_that_failed_is_read_again_by_the_next_sync(library, webdav):
    sync.run()
    (library / "Band" / "Two_bbbb" / "song.ini").write_text(song_ini("Two (Live)", "Band"))
    webdav.fail_next("GET", 404, times=1)  # the folder changed again while we read it
    _run, report = sync.run()
    assert report.failed == 1
    _run, report = sync.run()
    assert (report.failed, report.updated) == (0, 1)
    assert Chart.objects.filter(title="Two (Live)").exists()


def test_full_walks_everything_and_servers_without_folder_etags_still_sync(library, webdav,
                                                                           settings):
    sync.run()
    webdav.reset_counts()
    _run, report = sync.run(full=True)
    # Songs (depth 0 and 1), then both of its folders
    assert report.unchanged == 3 and webdav.counts["PROPFIND"] == 4
    settings.NEXTCLOUD_ETAG_PROPAGATION = False  # a plain WebDAV server: one walk, every time
    (library / "Band" / "Two_bbbb" / "song.ini").write_text(song_ini("Two (Live)", "Band"))
    webdav.reset_counts()
    _run, report = sync.run()
    assert (report.updated, report.unchanged) == (1, 2) and webdav.counts["PROPFIND"] == 1


def test_it_purges_vanished_folders_unless_told_not_to(library):
    import shutil

    sync.run()
    shutil.rmtree(library / "Other")
    _run, report = sync.run(purge=False)
    assert report.purged == 0 and Chart.objects.count() == 3
    _run, report = sync.run()
    assert report.purged == 1 and Chart.objects.count() == 2


def test_files_loose_in_the_songs_folder_are_not_a_song(library):
    (library / "song.ini").write_text(song_ini("Loose", "Files"))
    (library / "notes.chart").write_text("[Song]\n{\n}\n")
    _run, report = sync.run()
    assert report.synced == 3 and not Chart.objects.filter(remote_path="Songs").exists()


def test_dry_run_writes_nothing(library):
    _run, report = sync.run(dry_run=True)
    assert report.added == 3 and Chart.objects.count() == 0


def test_it_flags_duplicate_charts(library):
    import shutil

    shutil.copytree(library / "Band" / "One_aaaa", library / "Copy" / "One_dddd")
    sync.run()
    flagged = Chart.objects.filter(remote_path__in=["Songs/Band/One_aaaa", "Songs/Copy/One_dddd"])
    assert all("duplicateChart" in c.issues for c in flagged)
    shutil.rmtree(library / "Copy")
    sync.run()
    assert "duplicateChart" not in Chart.objects.get(remote_path="Songs/Band/One_aaaa").issues


def test_a_failed_walk_purges_nothing(library, webdav):
    sync.run()
    webdav.fail_next("PROPFIND", 503, times=20)
    _run, report = sync.run()
    assert report.exit_code == 2 and Chart.objects.count() == 3
    assert ChartSyncRun.objects.first().status == "failed"


@pytest.mark.postgres
def test_only_one_sync_runs_at_a_time(library):
    """Another session (another pod) holds the advisory lock: this run stops at once."""
    import psycopg
    from django.db import connection

    from songhub import locks

    db = connection.settings_dict
    with psycopg.connect(host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432,
                         user=db["USER"], password=db["PASSWORD"] or None,
                         dbname=db["NAME"], autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", [locks.advisory_key(sync.LOCK)])
        _run, report = sync.run()
    assert report.exit_code == 2 and "in progress" in report.fatal
    assert Chart.objects.count() == 0
    _run, report = sync.run()  # released: the next run works
    assert report.added == 3


def test_the_command_prints_a_json_summary_and_exits_by_outcome(library, webdav, settings):
    env = subprocess_env(settings.SONG_DATA_DIR, NEXTCLOUD_URL=webdav.url,
                         NEXTCLOUD_USERNAME=settings.NEXTCLOUD_USERNAME,
                         NEXTCLOUD_PASSWORD=settings.NEXTCLOUD_PASSWORD)
    done = subprocess.run([sys.executable, "manage.py", "sync_charts"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1])["added"] == 3
    env["NEXTCLOUD_PASSWORD"] = "wrong"
    done = subprocess.run([sys.executable, "manage.py", "sync_charts", "--no-purge"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "credentials" in done.stderr


def test_a_queued_run_is_claimed_once_by_the_task(library):
    from charts.tasks import sync_charts_task

    run = ChartSyncRun.objects.create(trigger="api")
    sync_charts_task(run.pk)
    run.refresh_from_db()
    assert run.status == "succeeded" and run.summary["added"] == 3
    sync_charts_task(run.pk)  # delivered twice (acks_late): the second does nothing
    assert ChartSyncRun.objects.count() == 1
    sync_charts_task()  # beat: records and runs its own
    assert ChartSyncRun.objects.first().summary["unchanged"] == 3


@pytest.mark.django_db
def test_beat_runs_the_sync_on_a_schedule_that_expires_before_the_next_run():
    from django.conf import settings

    entry = settings.CELERY_BEAT_SCHEDULE["sync-charts"]
    assert entry["task"] == "charts.tasks.sync_charts_task"
    assert entry["options"]["expires"] < entry["schedule"]
