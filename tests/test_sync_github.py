"""The GitHub sync against a real loopback server: downloads, changes, deletions, limits."""

import json
import time

import pymupdf
import pytest
from PIL import Image

from ingestion.models import Song, SyncRun
from ingestion.store import SongStore
from tests.helpers import sync

pytestmark = pytest.mark.django_db(transaction=True)
DEMO_COUNT = 5


def store(settings) -> SongStore:
    return SongStore(settings.SONG_DATA_DIR).load()


def test_first_sync_downloads_renders_and_indexes_everything(github, settings):
    report = sync()
    assert report.exit_code == 0, report.errors
    assert (report.added, report.downloads, report.rendered) == (DEMO_COUNT,) * 3
    assert github.counts == {"tree": 1, "blob": DEMO_COUNT}
    s = store(settings)
    assert sorted(e.id for e in s.entries.values()) == [1, 2, 3, 4, 5]
    song = Song.objects.get(title="Amazing Grace")
    assert song.filename == "hymns/amazing_grace.cho" and song.key == "G"
    assert song.page_count >= 1 and song.pdf_etag and song.image_etag
    with pymupdf.open(s.pdf_path(song.id)) as doc:
        assert doc.page_count == song.page_count
        text = doc[0].get_text()
    assert "Amazing Grace" in text and "Em" in text
    for n in range(1, song.page_count + 1):
        assert Image.open(s.image_path(song.id, n)).format == "WEBP"
    run = SyncRun.objects.get()
    assert run.status == "succeeded" and run.added == DEMO_COUNT and run.finished_at


def test_a_second_sync_with_no_change_downloads_and_renders_nothing(github, settings):
    sync()
    github.reset_counts()
    mtime = store(settings).pdf_path(1).stat().st_mtime_ns
    report = sync()
    assert github.counts == {"tree": 1}
    assert (report.unchanged, report.downloads, report.rendered) == (DEMO_COUNT, 0, 0)
    assert store(settings).pdf_path(1).stat().st_mtime_ns == mtime


def test_editing_one_file_redownloads_and_rerenders_only_it(github, settings):
    sync()
    before = Song.objects.get(filename="doxology.cho")
    github.reset_counts()
    github.write("doxology.cho", github.files()["doxology.cho"].decode().replace(
        "{title: Doxology}", "{title: Doxology (Old 100th)}"))
    report = sync()
    assert github.counts == {"tree": 1, "blob": 1}
    assert (report.updated, report.rendered, report.unchanged) == (1, 1, DEMO_COUNT - 1)
    after = Song.objects.get(filename="doxology.cho")
    assert after.id == before.id and after.title == "Doxology (Old 100th)"
    assert after.pdf_etag != before.pdf_etag


def test_deleting_a_file_removes_it_everywhere(github, settings):
    sync()
    s = store(settings)
    doomed = s.entries["hymns/it_is_well.cho"].id
    github.delete("hymns/it_is_well.cho")
    report = sync()
    assert report.removed == 1
    s = store(settings)
    assert "hymns/it_is_well.cho" not in s.entries
    assert not s.source_path("hymns/it_is_well.cho").exists()
    assert not s.pdf_path(doomed).exists() and not s.image_dir(doomed).exists()
    assert not Song.objects.filter(pk=doomed).exists()
    index = json.loads(__import__("gzip").decompress(s.index_path.read_bytes()))
    assert doomed not in [item["id"] for item in index]


def test_ids_are_stable_and_never_reused(github, settings):
    sync()
    first = {path: entry.id for path, entry in store(settings).entries.items()}
    assert first["doxology.cho"] == 1  # new files are numbered in path order
    github.delete("doxology.cho")
    sync()
    github.write("new/song.chopro", "{title: A New Song}\n[C]la\n")
    sync()
    s = store(settings)
    assert s.entries["new/song.chopro"].id == DEMO_COUNT + 1  # 1 is not reused
    assert {p: e.id for p, e in s.entries.items() if p in first} == {
        p: i for p, i in first.items() if p != "doxology.cho"}


def test_the_token_is_sent_as_a_bearer_header(github, settings):
    settings.GITHUB_TOKEN = "ghp_secret"
    sync()
    assert set(github.authorizations) == {"Bearer ghp_secret"}


def test_without_a_token_no_authorization_is_sent(github):
    sync()
    assert set(github.authorizations) == {None}


def test_a_short_rate_limit_is_waited_out(github):
    github.inject(429, {"Retry-After": "1"}, kind="tree")
    started = time.monotonic()
    report = sync()
    assert report.exit_code == 0 and report.added == DEMO_COUNT
    assert time.monotonic() - started >= 1
    assert github.counts["tree"] == 2


def test_a_long_rate_limit_stops_the_run_with_a_clear_message(github, settings):
    sync()
    github.write("doxology.cho", "{title: Changed}\n")
    reset = str(int(time.time()) + 3600)
    github.inject(403, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}, kind="blob")
    started = time.monotonic()
    report = sync()
    assert time.monotonic() - started < 2  # no hot loop, no long sleep
    assert report.exit_code == 2 and "rate limit" in report.fatal and "GITHUB_TOKEN" in report.fatal
    assert SyncRun.objects.latest("pk").status == "failed"
    assert Song.objects.get(filename="doxology.cho").title == "Doxology"  # nothing lost


def test_server_errors_are_retried_with_backoff(github):
    github.inject(502, kind="tree", times=2)
    github.inject(500, kind="blob", times=1)
    report = sync()
    assert report.exit_code == 0 and report.added == DEMO_COUNT
    assert github.counts["tree"] == 3


def test_a_missing_repository_is_a_fatal_error(github, settings):
    settings.SONGS_REPO = "nobody/nothing"
    report = sync()
    assert report.exit_code == 2 and "not found" in report.fatal


def test_junk_binary_oversized_and_non_chordpro_files_are_skipped(github, settings):
    settings.SONG_MAX_BYTES = 5000
    github.write("__MACOSX/hymns/._amazing_grace.cho", b"\x00\x05\x16\x07")
    github.write("hymns/._doxology.cho", b"\x00\x05")
    github.write("binary.cho", b"{title: x}\x00\x01\x02")
    github.write("huge.pro", "{title: Huge}\n" + "la " * 3000)
    github.write("README.md", "# songs")
    report = sync()
    reasons = {item["path"]: item["reason"] for item in report.skipped}
    assert reasons["__MACOSX/hymns/._amazing_grace.cho"] == "macOS junk"
    assert reasons["hymns/._doxology.cho"] == "macOS junk"
    assert reasons["binary.cho"] == "binary or oversized content"
    assert reasons["huge.pro"].startswith("too large")
    assert "README.md" not in reasons
    assert report.added == DEMO_COUNT and report.exit_code == 0
    assert SyncRun.objects.get().report["skipped"]


def test_a_file_that_fails_is_reported_and_the_rest_go_on(github, settings, monkeypatch):
    from ingestion import processing

    real = processing.render_assets

    def broken_for_one(song, source, options):
        if song.title == "Doxology":
            raise RuntimeError("renderer exploded")
        return real(song, source, options)

    monkeypatch.setattr(processing, "render_assets", broken_for_one)
    report = sync()
    assert report.exit_code == 1 and report.failed == 1 and report.added == DEMO_COUNT - 1
    assert report.errors == [{"file": "doxology.cho", "message": "RuntimeError: renderer exploded"}]
    run = SyncRun.objects.get()
    assert run.status == "partial" and run.report["failed"][0]["file"] == "doxology.cho"
    monkeypatch.setattr(processing, "render_assets", real)
    assert sync().added == 1  # retried next run


def test_a_crash_mid_run_keeps_the_previous_assets(github, settings, monkeypatch):
    from ingestion import pipeline

    sync()
    s = store(settings)
    song_id = s.entries["doxology.cho"].id
    old_pdf = s.pdf_path(song_id).read_bytes()
    old_metadata = s.metadata_path.read_bytes()
    github.write("doxology.cho", "{title: Half written}\n")

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pipeline.Renderer, "results", crash)
    report = sync()
    assert report.exit_code == 2 and "disk full" in report.fatal
    assert s.pdf_path(song_id).read_bytes() == old_pdf
    assert s.metadata_path.read_bytes() == old_metadata
    assert Song.objects.get(pk=song_id).title == "Doxology"


def test_rendering_uses_a_real_process_pool(github, settings):
    report = sync(concurrency=2)
    assert report.exit_code == 0 and report.rendered == DEMO_COUNT


def test_songs_render_while_the_other_files_are_still_downloading(github, settings):
    """The render pool starts before the downloads and takes each file as it arrives."""
    from concurrent.futures import ThreadPoolExecutor

    last = sorted(github.files())[-1]
    held = github.hold(last)
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(sync, concurrency=2)
        deadline = time.monotonic() + 60
        try:
            while not any(settings.SONG_DATA_DIR.rglob("*.pdf")):
                assert time.monotonic() < deadline, "nothing rendered while a download waited"
                assert not running.done(), running.result()
                time.sleep(0.05)
        finally:
            held.set()
        report = running.result(timeout=120)
    assert report.exit_code == 0 and report.rendered == DEMO_COUNT == report.downloads


def test_sync_only_updates_metadata_without_rendering(github, settings):
    report = sync(sync_only=True)
    assert report.added == DEMO_COUNT and report.rendered == 0
    assert not store(settings).pdf_dir.exists()
    assert sync().rendered == DEMO_COUNT  # a normal run renders what is missing


def test_regen_assets_rerenders_everything(github):
    sync()
    assert sync(regen_assets=True).rendered == DEMO_COUNT


def test_only_one_sync_runs_at_a_time(github, settings):
    """The lock is held by another session (PostgreSQL) or another process (file lock)."""
    import subprocess
    import sys

    from django.db import connection

    from ingestion import pipeline
    from songhub import locks

    if connection.vendor == "postgresql":
        import psycopg

        params = connection.get_connection_params()
        params.pop("cursor_factory", None)
        params.pop("context", None)
        holder = psycopg.connect(**params, autocommit=True)
        holder.execute("SELECT pg_advisory_lock(%s)", [locks.advisory_key(pipeline.LOCK_NAME)])
        try:
            report = sync()
        finally:
            holder.close()
    else:
        code = ("import fcntl, sys, time; f = open(sys.argv[1], 'w'); "
                "fcntl.flock(f, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(30)")
        holder = subprocess.Popen([sys.executable, "-c", code,
                                   str(settings.SONG_DATA_DIR / f".{pipeline.LOCK_NAME}.lock")],
                                  stdout=subprocess.PIPE, text=True)
        try:
            assert holder.stdout.readline().strip() == "locked"
            report = sync()
        finally:
            holder.kill()
            holder.wait()
    assert report.exit_code == 2 and "another song-sync run" in report.fatal
    assert sync().exit_code == 0  # released: the next run goes ahead
