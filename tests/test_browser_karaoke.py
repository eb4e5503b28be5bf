"""The karaoke queue and room lifecycle in two real browsers over a real daphne (#12.11, #12.12):
guests add their own songs when the host allows it, duplicates are refused with a message, the
host drags to reorder, removes, pins "play next" and skips; a guest leaves, the host closes."""

import pytest
from django.test import Client

from ingestion.models import Song
from rooms import services
from tests.helpers import Daphne, subprocess_env

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def server(tmp_path, settings):
    for n, title in enumerate(("Alpha Tune", "Beta Tune", "Gamma Tune"), start=1):
        Song.objects.create(id=n, title=title, artist="Band", filename=f"{n}.cho",
                            source_sha=str(n), page_count=1, image_etag=f"e{n}")
    daphne = Daphne(subprocess_env(settings.SONG_DATA_DIR), tmp_path / "daphne.log").wait_ready()
    yield daphne
    daphne.stop()


def queue_titles(page):
    return page.eval_on_selector_all("#queue li .title", "els => els.map(e => e.textContent)")


def add(page, title):
    page.fill("#song-picker", title)
    page.locator("#picker-results li", has_text=title).locator("button.queue").click()


def test_queue_reorder_remove_play_next_skip_leave_and_close(server, chromium, django_user_model):
    host = django_user_model.objects.create_user("leader", password="pw-leader-123")
    room = services.create_room(host, "Karaoke night")
    client = Client()
    client.force_login(host)
    host_context = chromium.new_context()
    host_context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                               "url": server.url}])
    host_page = host_context.new_page()
    guest_context, other_context = chromium.new_context(), chromium.new_context()
    guest, other = guest_context.new_page(), other_context.new_page()
    errors = []
    for page in (host_page, guest, other):
        page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        host_page.goto(f"{server.url}/rooms/{room.id}", wait_until="networkidle")
        for page, name in ((guest, "Ann"), (other, "Bo")):
            page.goto(f"{server.url}/rooms/{room.id}")
            # the join form is styled like the rest (not the browser's default inputs)
            assert page.eval_on_selector("#guest-name", "e => getComputedStyle(e).borderRadius") \
                == "6px"
            page.fill("#guest-name", name)
            page.click("#join-button")
            page.wait_for_function("document.getElementById('conn').textContent === '●'")
        assert guest.locator("#song-controls").is_hidden()  # not allowed yet

        host_page.check("#guests-can-queue")
        guest.wait_for_selector("#song-controls", state="visible")
        add(guest, "Alpha Tune")
        host_page.wait_for_function("document.querySelector('#queue').textContent.includes("
                                    "'Alpha Tune · Ann')")
        add(guest, "Alpha Tune")  # again: refused, with a message
        guest.wait_for_function("document.getElementById('room-status').textContent"
                                ".includes('already in the queue')")
        add(host_page, "Beta Tune")
        add(host_page, "Gamma Tune")
        guest.wait_for_function("document.querySelectorAll('#queue li').length === 3")
        assert queue_titles(guest) == ["Alpha Tune · Ann", "Beta Tune · leader",
                                       "Gamma Tune · leader"]

        host_page.drag_and_drop("#queue li:nth-child(3)", "#queue li:nth-child(1)")
        guest.wait_for_function("document.querySelector('#queue li .title').textContent"
                                ".startsWith('Gamma')")
        assert [t.split(" ·")[0] for t in queue_titles(guest)] == ["Gamma Tune", "Alpha Tune",
                                                                   "Beta Tune"]
        host_page.locator("#queue li", has_text="Alpha Tune").get_by_title(
            "Remove from the queue").click()
        guest.wait_for_function("document.querySelectorAll('#queue li').length === 2")
        host_page.locator("#queue li", has_text="Beta Tune").get_by_title(
            "Play this one next").click()
        guest.wait_for_function("document.querySelector('#queue li .title').textContent"
                                ".startsWith('Beta')")
        host_page.click("#skip")
        guest.wait_for_function("document.querySelectorAll('#queue li').length === 1")
        assert [t.split(" ·")[0] for t in queue_titles(guest)] == ["Gamma Tune"]

        guest.click("#leave-room")
        guest.wait_for_url(f"{server.url}/rooms/")
        host_page.wait_for_function("!document.getElementById('participants').textContent"
                                    ".includes('Ann')")

        host_page.on("dialog", lambda dialog: dialog.accept())
        host_page.click("#close-room")
        other.wait_for_function("document.getElementById('room-status').textContent"
                                ".includes('closed')")
        assert services.Room.objects.get(pk=room.id).closed_at is not None
        assert errors == []
    finally:
        for context in (host_context, guest_context, other_context):
            context.close()
