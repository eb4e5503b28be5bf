"""`make run`'s steps on the embedded default: no DATABASE_URL, no REDIS_URL, no network.

The steps are the Makefile's: write `.env` once, migrate, `bootstrap_demo --defer-password`,
`runall`. Each test gets its own env file through SONGHUB_ENV_FILE and its own data folder."""

import re
import shutil
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.conftest import DEMO_SONGS
from tests.helpers import MANAGE, RunAll, embedded_env, make_run_setup

pytestmark = pytest.mark.slow


def get(url):
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read()


def test_embedded_songhub_serves_songs_and_prints_the_password_last_then_stops_cleanly(tmp_path):
    """One `runall` (each start costs the suite ~40 s): pages and static files are served, the
    admin password is printed once, in a box, after the worker's banner, and Ctrl-C stops
    web, worker and beat, the worker unregistering its heartbeat."""
    env = embedded_env(tmp_path)
    demo = make_run_setup(env)
    assert "5 added" in demo and "Password:" not in demo
    pending = tmp_path / "data" / ".admin-password"
    assert pending.exists() and pending.stat().st_mode & 0o077 == 0
    runall = RunAll(env, tmp_path / "runall.log").wait_ready()
    try:
        status, body = get(f"{runall.url}/")
        assert status == 200 and b'id="song-count">5<' in body
        status, body = get(f"{runall.url}/static/css/songhub.css")
        assert status == 200 and b"--bg" in body
        runall.wait_for("changepassword admin")
        time.sleep(2)  # anything printed after the box would show up now
    finally:
        output = runall.stop()
    assert "Stopped web, worker and beat." in output
    assert "unregistered" in output  # the worker removed its heartbeat row on the way out
    box = re.search(r"^\+-+\+\n(?:\|.*\|\n)+\+-+\+$", output, re.M)
    assert box, output[-3000:]
    assert output.count("Password:") == 1
    password = re.search(r"Password: +(\S+)", box.group()).group(1)
    assert f"Songhub is up: {runall.url}/" in box.group()
    assert "manage.py changepassword admin" in box.group()
    assert output.index(box.group()) > output.index("[tasks]")  # after the worker's banner
    assert not pending.exists()
    check = subprocess.run(MANAGE + ["shell", "-c", (
        "from django.contrib.auth import authenticate; "
        f"print(authenticate(username='admin', password={password!r}) is not None)")],
        env=env, capture_output=True, text=True, timeout=60)
    assert check.stdout.strip().endswith("True"), check.stderr

    again = subprocess.run(MANAGE + ["bootstrap_demo", "--defer-password"], env=env,
                           capture_output=True, text=True, timeout=120, check=True)
    assert "password is unchanged" in again.stdout and not pending.exists()


def test_bootstrap_demo_by_hand_prints_the_password_in_a_box(tmp_path):
    out = make_run_setup(embedded_env(tmp_path), defer=False)
    lines = out.rstrip().splitlines()
    assert lines[-1].startswith("+--") and lines[-1] == lines[-6]
    assert any(line.startswith("| Password: ") for line in lines[-6:])


def test_the_readme_commands_work_after_make_run(tmp_path):
    from tests.fakes.github import FakeGitHub

    repo = tmp_path / "repo"
    shutil.copytree(DEMO_SONGS, repo)
    (repo / "extra.cho").write_text("{title: Extra}\n[C]la\n")
    github = FakeGitHub(repo).start()
    env = embedded_env(tmp_path, GITHUB_API_URL=github.url, SONGS_REPO=github.repo)
    try:
        make_run_setup(env)
        folder = tmp_path / "mine"
        folder.mkdir()
        (folder / "mine.cho").write_text("{title: Mine}\n[G]hey\n")
        commands = [
            ["retrieve_songs"],
            ["retrieve_songs", "--source-dir", str(folder)],
            ["retrieve_songs", "--no-sync"],
            ["link_artists"],
        ]
        for args in commands:
            result = subprocess.run(MANAGE + args, env=env, capture_output=True, text=True,
                                    timeout=180)
            assert result.returncode == 0, (args, result.stdout[-2000:], result.stderr[-2000:])
    finally:
        github.stop()
    # the control: the same command without the .env is refused by Django's checks
    bare = subprocess.run(MANAGE + ["retrieve_songs", "--no-sync"], env={**env, "SONGHUB_ENV_FILE": ""},
                          capture_output=True, text=True, timeout=120)
    assert bare.returncode != 0 and "songhub.E001" in bare.stderr
    # the environment wins over .env
    shown = subprocess.run(MANAGE + ["shell", "-c", "from django.conf import settings; "
                                     "print(settings.DEBUG, settings.SONG_SYNC_SOURCE)"],
                           env={**env, "DEBUG": "0", "SECRET_KEY": "x" * 60},
                           capture_output=True, text=True, timeout=60)
    assert shown.stdout.split()[-2:] == ["False", "local"], shown.stderr


def test_the_env_file_is_written_once_and_kept(tmp_path):
    env = embedded_env(tmp_path)
    write = [sys.executable, "-m", "songhub.envfile", "write"]
    subprocess.run(write, env=env, check=True, timeout=60, capture_output=True)
    first = (tmp_path / ".env").read_text()
    assert re.search(r"^SECRET_KEY=\S{40,}$", first, re.M) and "DEBUG=1" in first
    assert (tmp_path / ".env").stat().st_mode & 0o077 == 0
    again = subprocess.run(write, env=env, check=True, timeout=60, capture_output=True, text=True)
    assert "existing" in again.stdout and (tmp_path / ".env").read_text() == first
