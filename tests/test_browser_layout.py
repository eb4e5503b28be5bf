"""Mobile layout (#12.17) at 390 px (an iPhone 12-15 viewport): no sideways scroll on the main
pages, "Log in" on one line, the dashboard's cards hold their text; and the project's 404 page
answers missing app pages even with DEBUG on (what `make run` uses)."""

import pytest
from django.test import Client

from ingestion import pipeline
from ingestion.models import SyncRun
from rooms import services
from tests.conftest import DEMO_SONGS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(chromium):
    context = chromium.new_context(viewport=PHONE)
    yield context
    context.close()


@pytest.fixture
def library():
    run = SyncRun.objects.create(status=SyncRun.Status.RUNNING, trigger=SyncRun.Trigger.DEMO)
    report = pipeline.run_sync(pipeline.SyncOptions(source="dir", source_dir=str(DEMO_SONGS),
                                                    concurrency=1), run)
    assert report.exit_code == 0
    return report


def overflow(page) -> dict:
    """Elements wider than the viewport, for a readable failure."""
    return page.evaluate("""() => ({
        scrollWidth: document.documentElement.scrollWidth,
        culprits: [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
            .slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + e.getBoundingClientRect().right),
    })""")


def test_main_pages_do_not_scroll_sideways_at_390px(live_server, phone, library, host):
    from ingestion.models import Song

    song = Song.objects.order_by("id").first()
    room = services.create_room(host, "Practice with a fairly long room name")
    client = Client()
    client.force_login(host)
    page = phone.new_page()
    anonymous = ["/", "/songs/", f"/songs/{song.id}/", "/rooms/", "/accounts/login/",
                 "/songs/999999/"]
    for path in anonymous:
        page.goto(live_server.url + path)
        measured = overflow(page)
        assert measured["scrollWidth"] <= PHONE["width"], (path, measured)
    phone.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                        "url": live_server.url}])
    for path in ["/", "/rooms/", f"/rooms/{room.id}", "/analytics/"]:
        page.goto(live_server.url + path)
        measured = overflow(page)
        assert measured["scrollWidth"] <= PHONE["width"], (path, measured)


def test_log_in_stays_on_one_line_and_cards_hold_their_text(live_server, phone, library):
    page = phone.new_page()
    page.goto(live_server.url + "/")
    login = page.locator(".account a", has_text="Log in")
    assert login.evaluate("e => e.getClientRects().length") == 1
    line = login.evaluate("e => parseFloat(getComputedStyle(e).lineHeight) || 24")
    assert login.bounding_box()["height"] <= line * 1.3
    cards = page.evaluate("""() => [...document.querySelectorAll('.card')].map(card => ({
        text: card.innerText,
        overflows: [...card.querySelectorAll('*')].some(e =>
            e.getBoundingClientRect().right > card.getBoundingClientRect().right + 0.5),
    }))""")
    assert any("Succeeded" in card["text"] for card in cards)
    assert [card for card in cards if card["overflows"]] == []


def test_a_missing_song_shows_the_project_404_page_with_debug_on(client, settings, library):
    settings.DEBUG = True
    for path in ("/songs/999999/", "/songs/999999/pages/1", "/no-such-page/"):
        response = client.get(path)
        body = response.content.decode()
        assert response.status_code == 404, path
        assert "Page not found" in body and 'class="topbar"' in body, path
        assert "URLconf" not in body and "technical_404" not in body, path
    api = client.get("/api/songs/999999")
    assert api.status_code == 404 and api["Content-Type"].startswith("application/json")
