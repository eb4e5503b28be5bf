"""The karaoke display in a real browser over a real daphne: the host queues a library song
from the room page, the display (opened with the host's display link) starts it, the host's
pause and volume reach the display, and the end of the song advances the queue."""

import time

import pytest
from django.test import Client

from ingestion import pipeline
from ingestion.models import Song
from rooms import services
from rooms.models import PlayerState
from tests.helpers import Daphne, subprocess_env

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SONG = "{{title: {title}}}\n{{key: G}}\n{{start_of_verse}}\n[G]Short [C]song [D]line\n{{end_of_verse}}\n"


@pytest.fixture
def library(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    for name in ("Morning Carol", "Evening Carol"):
        (source / f"{name.split()[0].lower()}.cho").write_text(SONG.format(title=name))
    report = pipeline.run_sync(pipeline.SyncOptions(source="dir", source_dir=str(source),
                                                    concurrency=1))
    assert report.exit_code == 0
    return {s.title: s for s in Song.objects.all()}


@pytest.fixture
def server(tmp_path, settings, library):
    env = subprocess_env(settings.SONG_DATA_DIR, ROOMS_DISPLAY_SECONDS_PER_PAGE=4,
                         YOUTUBE_IFRAME_API_URL="")
    daphne = Daphne(env, tmp_path / "daphne.log").wait_ready()
    yield daphne
    daphne.stop()


def test_display_plays_follows_the_host_and_advances_the_queue(server, chromium, library,
                                                              django_user_model):
    morning, evening = library["Morning Carol"], library["Evening Carol"]
    host = django_user_model.objects.create_user("kj", password="pw-kj-12345")
    room = services.create_room(host, "Karaoke night")
    client = Client()
    client.force_login(host)
    host_context = chromium.new_context()
    host_context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                               "url": server.url}])
    host_page = host_context.new_page()
    tv_context = chromium.new_context()  # a guest browser: admitted by the token alone
    tv = tv_context.new_page()
    errors = []
    for page in (host_page, tv):
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))

    def shown(name):  # locators, not wait_for_function: the page's CSP forbids string eval
        return tv.locator("#display").get_attribute(f"data-{name}", timeout=1000)

    def wait_until(condition, seconds):
        deadline = time.monotonic() + seconds
        while not condition():
            assert time.monotonic() < deadline, errors
            time.sleep(0.05)
    try:
        host_page.goto(f"{server.url}/rooms/{room.id}", wait_until="networkidle")
        for title in ("Morning", "Evening"):  # the host queues two library songs
            host_page.fill("#song-picker", title)
            host_page.locator("#picker-results li", has_text=title).locator(
                "button.queue").click()
            wait_until(lambda: f"{title} Carol" in host_page.locator("#queue").inner_text(), 5)
            host_page.fill("#song-picker", "")
        host_page.click("#display-link-button")
        link = host_page.locator("#display-link")
        link.wait_for(state="visible")

        tv.goto(server.url + link.get_attribute("href"))
        wait_until(lambda: shown("entry") == f"song:{morning.pk}" and shown("state") == "playing",
                   10)
        image = tv.locator("#display-page")
        wait_until(lambda: image.evaluate("i => i.complete && i.naturalWidth > 300"), 5)

        host_page.click("#pause-button")
        wait_until(lambda: shown("state") == "paused", 3)
        host_page.locator("#volume").fill("0.3")  # range input: fires change
        wait_until(lambda: shown("volume") == "0.3", 3)
        tv.wait_for_timeout(4500)  # paused: the song must not end meanwhile
        assert shown("entry") == f"song:{morning.pk}" and shown("state") == "paused"

        host_page.click("#play-button")
        wait_until(lambda: shown("entry") == f"song:{evening.pk}", 15)
        player = PlayerState.objects.get(room=room)
        assert player.entry["id"] == f"song:{evening.pk}"
        assert player.entry["video_url"] == f"/songs/{evening.pk}/pages/1"  # resolved lazily
        assert room.queue.count() == 0
        wait_until(lambda: "Carol" not in host_page.locator("#queue").inner_text(), 5)
        assert errors == []
    finally:
        host_context.close()
        tv_context.close()
