"""Two real browsers in one room over a real daphne: the host turns pages, the follower's
page image changes within a second; the follower can pick a personal key."""

import time

import pytest
from django.test import Client

from ingestion import pipeline
from ingestion.models import Song
from rooms import services
from tests.helpers import CeleryWorker, Daphne, subprocess_env

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

LONG_SONG = "{title: Long Hymn}\n{key: C}\n" + "\n".join(
    f"{{start_of_verse: Verse {v}}}\n" + "\n".join(f"[C]Line {v}.{n} of [G]praise and [F]song"
                                                   for n in range(12)) + "\n{end_of_verse}"
    for v in range(1, 9))


@pytest.fixture
def library(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    (source / "long.cho").write_text(LONG_SONG)
    report = pipeline.run_sync(pipeline.SyncOptions(source="dir", source_dir=str(source),
                                                    concurrency=1))
    assert report.exit_code == 0
    song = Song.objects.get(title="Long Hymn")
    assert song.page_count >= 3
    return song


@pytest.fixture
def server(tmp_path, settings, library):
    env = subprocess_env(settings.SONG_DATA_DIR)
    worker = CeleryWorker(env, tmp_path / "worker.log", name="browser")  # renders other keys
    daphne = Daphne(env, tmp_path / "daphne.log").wait_ready()
    yield daphne
    daphne.stop()
    worker.stop()


def test_follower_sees_the_hosts_page_turns_within_a_second(server, chromium, library,
                                                           django_user_model):
    host = django_user_model.objects.create_user("leader", password="pw-leader-123")
    room = services.create_room(host, "Practice")
    client = Client()
    client.force_login(host)
    session = client.cookies["sessionid"].value

    host_context = chromium.new_context()
    host_context.add_cookies([{"name": "sessionid", "value": session, "url": server.url}])
    host_page = host_context.new_page()
    follower_context = chromium.new_context()
    follower = follower_context.new_page()
    errors = []
    for page in (host_page, follower):
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    try:
        host_page.goto(f"{server.url}/rooms/{room.id}", wait_until="networkidle")
        follower.goto(f"{server.url}/rooms/{room.id}")
        follower.fill("#guest-name", "Alto")
        follower.click("#join-button")
        follower.wait_for_function("document.getElementById('conn').textContent === '●'")

        host_page.fill("#song-picker", "Long Hymn")
        host_page.click("#picker-results button.pick")
        for page in (follower, host_page):  # the host's own view may show the song later
            page.wait_for_function("document.getElementById('page-image').dataset.page === '1'")

        for target in (2, 3, 2):
            key = "ArrowRight" if target > int(host_page.locator("#page-image")
                                               .get_attribute("data-page")) else "ArrowLeft"
            started = time.monotonic()
            host_page.keyboard.press(key)
            follower.wait_for_function(
                f"document.getElementById('page-image').dataset.page === '{target}' && "
                "document.getElementById('page-image').complete", timeout=1000)
            assert time.monotonic() - started < 1.0
        assert follower.locator("#page-label").inner_text() == f"2 / {library.page_count}"
        natural = follower.evaluate("document.getElementById('page-image').naturalWidth")
        assert natural > 500  # the image really loaded

        follower.select_option("#transpose", "2")
        follower.wait_for_function(
            "document.getElementById('page-image').src.includes('transpose=2') && "
            "document.getElementById('page-image').complete && "
            "document.getElementById('page-image').naturalWidth > 500", timeout=20000)
        assert follower.locator("#page-label").inner_text() == f"2 / {library.page_count}"

        host_page.fill("#song-picker", "Long")
        host_page.click("#picker-results button.queue")
        follower.wait_for_function(
            "document.getElementById('queue').textContent.includes('Long Hymn')")
        assert errors == []
    finally:
        host_context.close()
        follower_context.close()
