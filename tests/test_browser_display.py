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


def test_display_plays_chart_audio_and_advances_at_its_end(tmp_path, settings, webdav, chromium,
                                                          library, django_user_model):
    """A chart with audio, streamed from the chart storage (WebDAV) with Range, plays in the
    display's <audio>; its `ended` advances the queue."""
    import numpy as np

    from charts.models import Chart
    from rooms import karaoke
    from tests import synth_audio

    folder = webdav.files / "Songs" / "Beep"
    folder.mkdir(parents=True)
    synth_audio.write(folder / "song.wav", np.zeros(44100 * 2, dtype=np.float32), 44100)
    chart = Chart.objects.create(remote_path="Songs/Beep", title="Beep", artist="Synth",
                                 search_text="beep synth", has_audio=True,
                                 audio_files=["song.wav"], files=["song.wav"])
    host = django_user_model.objects.create_user("kj2", password="pw-kj-12345")
    tv_user = django_user_model.objects.create_user("tv", password="pw-tv-12345")
    room = services.create_room(host, "Chart night")
    host_p = services.active_participant(room, user=host)
    karaoke.queue_song(room.pk, host_p, {"id": f"chart:{chart.pk}", "source": "library",
                                         "title": "Beep", "duration": 2})
    karaoke.queue_song(room.pk, host_p, {"id": f"song:{library['Evening Carol'].pk}",
                                         "source": "library",
                                         "song_id": library["Evening Carol"].pk})
    token = services.display_token(room.pk, host_p)
    env = subprocess_env(settings.SONG_DATA_DIR, YOUTUBE_IFRAME_API_URL="",
                         NEXTCLOUD_URL=settings.NEXTCLOUD_URL,
                         NEXTCLOUD_USERNAME=settings.NEXTCLOUD_USERNAME,
                         NEXTCLOUD_PASSWORD=settings.NEXTCLOUD_PASSWORD,
                         NEXTCLOUD_REMOTE_PATH=settings.NEXTCLOUD_REMOTE_PATH)
    server = Daphne(env, tmp_path / "daphne.log").wait_ready()
    client = Client()
    client.force_login(tv_user)  # chart files need a logged-in display
    context = chromium.new_context()
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                          "url": server.url}])
    tv = context.new_page()
    errors = []
    tv.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        tv.goto(f"{server.url}/rooms/{room.pk}/display?token={token}")
        display = tv.locator("#display")
        deadline = time.monotonic() + 10
        while display.get_attribute("data-kind") != "audio":
            assert time.monotonic() < deadline, errors
            time.sleep(0.05)
        tv.click("body")  # a user gesture, as a real TV remote gives: autoplay policy
        deadline, states = time.monotonic() + 15, set()
        while display.get_attribute("data-entry") != f"song:{library['Evening Carol'].pk}":
            assert time.monotonic() < deadline, (display.get_attribute("data-state"), errors)
            if display.get_attribute("data-entry") == f"chart:{chart.pk}":
                states.add(display.get_attribute("data-state"))
            time.sleep(0.05)
        assert "playing" in states  # the <audio> really played (an error skips, never plays)
        assert "skipping" not in tv.locator("#display-status").inner_text()
        assert tv.locator("#display-audio").get_attribute("src") is None  # unloaded
        log = (tmp_path / "daphne.log").read_text()
        assert f'"GET /api/charts/{chart.pk}/files/song.wav" 20' in log  # 200 or 206 (Range)
        assert errors == []
    finally:
        context.close()
        server.stop()
