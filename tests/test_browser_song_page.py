"""The song page in a real browser (#12.16): fit to width, zoom, arrow keys, Previous/Next at the
ends, and parse warnings shown to curators only."""

import io

import pytest
from django.conf import settings
from django.test import Client
from PIL import Image

from ingestion.models import Song
from ingestion.store import SongStore

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def webp(color) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (827, 1169), color).save(buffer, "WEBP")  # A4 at 100 dpi
    return buffer.getvalue()


@pytest.fixture
def song():
    song = Song.objects.create(id=7, title="Three Pages", artist="Tester", filename="three.cho",
                               source_sha="x", page_count=3, image_etag="e7", pdf_etag="p7",
                               warnings=["line 4: unknown directive {sof}",
                                         "line 9: <b>unclosed</b> chorus"], warning_count=2)
    images = [webp(c) for c in ("white", "lightyellow", "lightblue")]
    SongStore(settings.SONG_DATA_DIR).write_assets(
        song.id, b"%PDF-1.4\n", images, {"sha": "x", "pages": 3, "pdf_etag": "p7",
                                         "image_etag": "e7"})
    return song


def open_song(page, url, song):
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{url}/songs/{song.id}/")
    page.wait_for_function("document.getElementById('page').complete "
                           "&& document.getElementById('page').naturalWidth > 0")


def image_box(page):
    return page.locator("#page").bounding_box()


def test_the_page_fits_the_width_and_zooms(live_server, page, song):
    open_song(page, live_server.url, song)
    scroller = page.locator("#pagescroll").bounding_box()
    fit = image_box(page)
    assert fit["width"] == pytest.approx(scroller["width"], abs=2)  # fit to width
    assert fit["height"] > 0.8 * 800  # no longer capped at 80 % of the window height
    page.click("#zoom-in")
    assert image_box(page)["width"] == pytest.approx(fit["width"] * 1.25, rel=0.02)
    assert page.evaluate("document.getElementById('pagescroll').scrollWidth") > scroller["width"]
    page.click("#zoom-out")
    page.click("#zoom-out")
    assert image_box(page)["width"] == pytest.approx(fit["width"] / 1.25, rel=0.02)
    page.keyboard.press("+")
    page.keyboard.press("+")
    assert image_box(page)["width"] == pytest.approx(fit["width"] * 1.25, rel=0.02)
    page.click("#zoom-fit")
    assert image_box(page)["width"] == pytest.approx(fit["width"], abs=2)
    assert page.errors == []


def test_arrow_keys_page_and_the_buttons_are_disabled_at_the_ends(live_server, page, song):
    open_song(page, live_server.url, song)
    prev, nxt, label = page.locator("#prev"), page.locator("#next"), page.locator("#pageno")
    assert prev.is_disabled() and nxt.is_enabled() and label.inner_text() == "1 / 3"
    page.keyboard.press("ArrowRight")
    assert label.inner_text() == "2 / 3" and prev.is_enabled() and nxt.is_enabled()
    assert page.locator("#page").get_attribute("src").endswith("/pages/2")
    page.keyboard.press("ArrowRight")
    assert label.inner_text() == "3 / 3" and nxt.is_disabled()
    page.keyboard.press("ArrowRight")  # nothing beyond the last page
    assert label.inner_text() == "3 / 3"
    page.keyboard.press("ArrowLeft")
    assert label.inner_text() == "2 / 3"
    prev.click()
    assert label.inner_text() == "1 / 3" and prev.is_disabled()
    assert page.errors == []


def test_parse_warnings_are_shown_to_curators_only(live_server, page, chromium, song, curator):
    open_song(page, live_server.url, song)
    assert page.locator("#parse-warnings").count() == 0  # readers see the song, not the lint

    client = Client()
    client.force_login(curator)
    context = chromium.new_context()
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                          "url": live_server.url}])
    staff_page = context.new_page()
    try:
        open_song(staff_page, live_server.url, song)
        warnings = staff_page.locator("#parse-warnings li").all_inner_texts()
        assert warnings == ["line 4: unknown directive {sof}", "line 9: <b>unclosed</b> chorus"]
        assert "2 parse warnings" in staff_page.locator("#parse-warnings summary").inner_text()
    finally:
        context.close()
