"""The first hour of a new user (#12), in a real browser against the real `make run` processes:
fresh data folder -> the make-run steps -> log in with the boxed password -> import a folder with
`retrieve_songs` -> open a room on one of the imported songs -> restart (`make run` again) ->
the imported songs are still there with the same IDs, the demo too, and the room keeps its song;
then analytics from a Spotify data export with no Spotify app configured (#12.7): upload,
analyze, import, and the dashboard shows the top artists."""

import re
import subprocess

import pytest

from tests.helpers import MANAGE, RunAll, embedded_env, make_run_setup

pytestmark = [pytest.mark.slow, pytest.mark.browser]

MY_SONGS = {
    "Blue Moon.cho": "{title: Blue Moon}\n{artist: Rodgers & Hart}\n[C]Blue moon, you saw me\n",
    "folk/Scarborough Fair.cho": "{title: Scarborough Fair}\n[Am]Are you going\n",
    "folk/The Water Is Wide.cho": "{title: The Water Is Wide}\n[G]The water is wide\n",
}


def song_ids(page, url) -> dict[str, int]:
    """Title -> ID as the song list API shows them."""
    body = page.evaluate("url => fetch(url).then(r => r.json())", f"{url}/songs/list")
    items = body if isinstance(body, list) else body.get("songs") or body.get("results") or []
    return {item["title"]: item["id"] for item in items}


def test_a_new_users_first_hour_loses_nothing(tmp_path, chromium):
    folder = tmp_path / "my_songs"
    for path, text in MY_SONGS.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text(text)
    env = embedded_env(tmp_path)
    make_run_setup(env)
    runall = RunAll(env, tmp_path / "runall-1.log").wait_ready()
    context = chromium.new_context()
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        runall.wait_for("changepassword admin")
        password = re.search(r"Password: +(\S+)", runall.output()).group(1)
        page.goto(f"{runall.url}/accounts/login/?next=/rooms/")
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", password)
        page.click("form button[type=submit], form input[type=submit]")
        page.wait_for_url(f"{runall.url}/rooms/")

        imported = subprocess.run(MANAGE + ["retrieve_songs", "--source-dir", str(folder)],
                                  env=env, capture_output=True, text=True, timeout=180)
        assert imported.returncode == 0, imported.stdout[-2000:] + imported.stderr[-2000:]
        assert "3 added" in imported.stdout
        before = song_ids(page, runall.url)
        assert len(before) == 8 and "Blue Moon" in before

        page.fill("#create-room input[name=name]", "Tuesday practice")
        page.click("#create-room button[type=submit]")
        page.wait_for_url(re.compile(r".*/rooms/\d+$"))
        room_path = page.url[len(runall.url):]  # the restart listens on another port
        page.fill("#song-picker", "Blue Moon")
        page.locator("#picker-results button.pick", has_text="Blue Moon").first.click()
        page.wait_for_function(
            "document.getElementById('song-title').textContent.includes('Blue Moon')",
            timeout=10_000)
    finally:
        runall.stop()

    make_run_setup(env)  # the restart: `make run` again
    runall = RunAll(env, tmp_path / "runall-2.log").wait_ready()
    try:
        page.goto(f"{runall.url}/")
        assert song_ids(page, runall.url) == before
        page.goto(f"{runall.url}/songs/{before['Blue Moon']}/")
        assert "Blue Moon" in page.title()
        page.goto(runall.url + room_path)
        page.wait_for_function(
            "document.getElementById('song-title').textContent.includes('Blue Moon')",
            timeout=10_000)
        runall.wait_for("Songhub is up")
        assert "Password:" not in runall.output()  # shown once, on the first start only

        from listening.demo import write_sample_export

        export = write_sample_export(tmp_path / "my_spotify_data.zip", plays=300)
        page.goto(f"{runall.url}/analytics/")
        page.click("#start-from-export")  # no Spotify app is configured on this machine
        page.wait_for_selector("#import-only")
        page.set_input_files("#import-file", str(export))
        page.click("#import-analyze")
        page.wait_for_function("!document.getElementById('import-run').disabled", timeout=60_000)
        page.click("#import-run")
        page.wait_for_function(
            "document.getElementById('import-message').textContent.startsWith('Imported')",
            timeout=90_000)
        top = page.evaluate("fetch('/analytics/top/?days=365').then(r => r.json())")
        assert len(top["artists"]) >= 3 and top["artists"][0]["plays"] > 0
        page.goto(f"{runall.url}/analytics/")
        page.wait_for_selector("#chart-artists")
        assert page.locator("p.empty[data-for=chart-artists]").is_hidden()
        page.goto("about:blank")  # leave before the server stops under the page's polling
    finally:
        runall.stop()
        context.close()
    assert errors == []
