"""`manage.py retrieve_songs` flags and exit codes."""

import shutil
import subprocess
import sys

import pytest
from django.core.management import call_command

from ingestion.models import Song, SyncRun
from ingestion.store import SongStore
from tests.conftest import DEMO_SONGS

pytestmark = pytest.mark.django_db(transaction=True)


def run(*args):
    """Call the command; return its exit code (0 unless it called sys.exit)."""
    try:
        call_command("retrieve_songs", "--concurrency=1", *args)
    except SystemExit as exc:
        return exc.code
    return 0


def test_it_syncs_from_github_and_prints_a_summary(github, capsys):
    assert run() == 0
    out = capsys.readouterr().out
    assert "5 added" in out and "Downloading: 5 of 5 files" in out
    assert SyncRun.objects.get().trigger == "cli"


def test_source_dir_mirrors_a_folder(tmp_path, settings):
    assert run("--source-dir", str(DEMO_SONGS)) == 0
    assert Song.objects.count() == 5
    assert (settings.SONG_DATA_DIR / "songs" / "hymns" / "amazing_grace.cho").exists()


def test_no_sync_processes_the_local_songs_folder(settings):
    shutil.copytree(DEMO_SONGS, settings.SONG_DATA_DIR / "songs")
    assert run("--no-sync") == 0
    assert Song.objects.count() == 5
    (settings.SONG_DATA_DIR / "songs" / "doxology.cho").unlink()
    assert run("--no-sync") == 0
    assert Song.objects.count() == 4


def test_reset_and_only_reset(github):
    assert run() == 0
    assert run("--only-reset") == 0
    assert Song.objects.count() == 0
    assert run("--reset-songs") == 0
    assert Song.objects.count() == 5


def test_exit_code_is_1_when_a_song_fails(settings, tmp_path, monkeypatch):
    from ingestion import processing

    source = tmp_path / "src"
    shutil.copytree(DEMO_SONGS, source)
    monkeypatch.setattr(processing, "render_assets", lambda *a: (_ for _ in ()).throw(
        ValueError("bad")))
    assert run("--source-dir", str(source)) == 1


def test_exit_code_is_2_on_a_fatal_error(settings, capsys):
    settings.GITHUB_API_URL = "http://127.0.0.1:9"  # nothing listens on the discard port
    settings.GITHUB_TIMEOUT_SECONDS = 1
    assert run("--repo", "a/b") == 2
    assert "GitHub unreachable" in capsys.readouterr().out


def test_conflicting_flags_are_rejected(settings):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("retrieve_songs", "--no-sync", "--source-dir", "/tmp")


def test_a_path_escaping_the_songs_folder_is_rejected(github, settings):
    github.write("ok.cho", "{title: ok}\n")
    from ingestion.sources import _classify

    assert _classify("../etc/passwd.cho", 10, 1000) == "unsafe path"
    assert _classify("/abs/song.cho", 10, 1000) == "unsafe path"
    assert _classify("a/../../b.cho", 10, 1000) == "unsafe path"
    assert run() == 0
    store = SongStore(settings.SONG_DATA_DIR).load()
    assert all(not p.startswith(("/", "..")) for p in store.entries)


def test_the_command_runs_as_a_real_process_with_plain_progress_lines(settings, tmp_path):
    from tests.helpers import subprocess_env

    result = subprocess.run(
        [sys.executable, "manage.py", "retrieve_songs", "--source-dir", str(DEMO_SONGS)],
        env=subprocess_env(tmp_path / "cli_data"), capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Processing: 5 of 5 songs" in result.stdout and "5 songs: 5 added" in result.stdout
    assert Song.objects.count() == 5  # written to the same database the test reads


BAD_SONG = (b"{titel: Caf\xe9 Blues}\n"      # 1: misspelled directive, cp1252 byte
            b"[C]Hello\n"                    # 2
            b"{start_of_chorus}\n"           # 3: never closed
            b"[G]la la\n")                   # 4


def test_cli_prints_each_files_warnings_with_real_lines_and_one_summary(settings, tmp_path):
    from tests.helpers import subprocess_env

    source = tmp_path / "src"
    shutil.copytree(DEMO_SONGS, source)
    (source / "bad.cho").write_bytes(BAD_SONG)
    command = [sys.executable, "manage.py", "retrieve_songs", "--source-dir", str(source)]
    env = subprocess_env(tmp_path / "cli_data")
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)

    assert first.returncode == 0, first.stderr
    out = first.stdout
    assert "bad.cho: 4 warnings\n" in out
    assert "  line 1: not UTF-8; decoded as cp1252\n" in out
    assert "  line 1: unknown directive {titel} (did you mean {title}?)\n" in out
    assert "  line 3: {start_of_chorus} is never closed\n" in out
    assert "  no {title}; using 'bad' from the file name\n" in out
    assert "line 0" not in out
    assert out.index("bad.cho: 4 warnings") < out.index("Sync #")
    assert out.count("6 songs: 6 added") == 1  # the summary, once
    assert "4 warnings in 1 files" in out.splitlines()[-1]
    for cryptic in ("list: 0/1", "render: 0/0", "download: 0/0"):
        assert cryptic not in out + second.stdout
    assert second.stdout.count("6 unchanged") == 1 and "Processing" not in second.stdout
