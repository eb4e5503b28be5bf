"""Real browsers over a real daphne: a host builds a setlist on the setlist pages, runs a room
from it, and a follower sees the next song of the set in their own key."""

import pytest
from django.test import Client

from ingestion import pipeline
from ingestion.models import Song
from rooms import services
from setlists.models import Setlist
from tests.helpers import CeleryWorker, Daphne, subprocess_env

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def library(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    for name, key in (("First Hymn", "C"), ("Second Hymn", "G")):
        (source / f"{name.split()[0].lower()}.cho").write_text(
            f"{{title: {name}}}\n{{key: {key}}}\n[{key}]Praise the [F]Lord\n")
    report = pipeline.run_sync(pipeline.SyncOptions(source="dir", source_dir=str(source),
                                                    concurrency=1))
    assert report.exit_code == 0
    return Song.objects.get(title="First Hymn"), Song.objects.get(title="Second Hymn")


@pytest.fixture
def server(tmp_path, settings, library):
    env = subprocess_env(settings.SONG_DATA_DIR)
    worker = CeleryWorker(env, tmp_path / "worker.log", name="setlists")  # renders other keys
    daphne = Daphne(env, tmp_path / "daphne.log").wait_ready()
    yield daphne
    daphne.stop()
    worker.stop()


def test_build_a_setlist_run_a_room_follower_sees_next_song_in_their_key(
        server, chromium, library, django_user_model):
    first, second = library
    host = django_user_model.objects.create_user("leader", password="pw-leader-123")
    room = services.create_room(host, "Sunday")
    client = Client()
    client.force_login(host)
    host_context = chromium.new_context()
    host_context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                               "url": server.url}])
    host_page = host_context.new_page()
    follower_context = chromium.new_context()
    follower = follower_context.new_page()
    errors = []
    for page in (host_page, follower):
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    try:
        host_page.goto(f"{server.url}/setlists/")
        host_page.fill("#new-setlist [name=name]", "Sunday service")
        host_page.click("#new-setlist button")
        host_page.wait_for_url("**/setlists/*")
        host_page.fill("#add-song [name=song_id]", str(first.id))
        host_page.click("#add-song button")
        host_page.wait_for_function("() => document.querySelectorAll('#setlist-items li')"
                                    ".length === 1")
        host_page.fill("#song-search", "Second")  # the song picker
        host_page.click("#song-results button.add")
        host_page.wait_for_function("() => document.querySelectorAll('#setlist-items li')"
                                    ".length === 2")
        setlist = Setlist.objects.get(name="Sunday service")
        assert [i.song_id for i in setlist.items.all()] == [first.id, second.id]

        host_page.goto(f"{server.url}/rooms/{room.id}", wait_until="networkidle")
        follower.goto(f"{server.url}/rooms/{room.id}")
        follower.fill("#guest-name", "Alto")
        follower.click("#join-button")
        follower.wait_for_function("() => document.getElementById('conn').textContent === '●'")
        follower.select_option("#transpose", "2")

        host_page.wait_for_function("() => document.querySelectorAll('#setlist-choice option')"
                                    ".length === 1")
        host_page.click("#setlist-start")
        host_page.wait_for_function("() => document.getElementById('setlist-next-songs')"
                                    ".textContent.includes('Second Hymn')")
        follower.wait_for_function(
            f"() => document.getElementById('page-image').src.includes('/songs/{first.id}/')")
        host_page.click("#setlist-next")
        follower.wait_for_function(
            f"() => document.getElementById('page-image').src.includes('/songs/{second.id}/') && "
            "document.getElementById('page-image').src.includes('transpose=2') && "
            "document.getElementById('page-image').complete && "
            "document.getElementById('page-image').naturalWidth > 500", timeout=5000)
        assert "Second Hymn" in follower.locator("#song-title").inner_text()
        assert errors == []
    finally:
        host_context.close()
        follower_context.close()
