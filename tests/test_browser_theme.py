"""The theme toggle in a real browser: Light -> Dark -> Auto, persisted across reloads."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def theme_state(page):
    return page.evaluate("""() => ({
        mode: document.documentElement.dataset.themeMode,
        theme: document.documentElement.dataset.theme,
        title: document.getElementById('theme-toggle').title,
        stored: localStorage.getItem('songhub-theme'),
        bg: getComputedStyle(document.body).backgroundColor,
    })""")


def test_theme_cycles_persists_and_logs_no_errors(live_server, page):
    page.emulate_media(color_scheme="dark")
    page.goto(live_server.url + "/")
    start = theme_state(page)
    assert start["mode"] == "auto" and start["title"] == "Auto (dark)" and start["stored"] is None

    toggle = page.locator("#theme-toggle")
    toggle.click()
    light = theme_state(page)
    assert (light["mode"], light["theme"], light["title"], light["stored"]) == \
        ("light", "light", "Light", "light")
    page.wait_for_timeout(400)  # let the 0.3 s colour transition finish
    assert theme_state(page)["bg"] == "rgb(247, 247, 249)"

    toggle.click()
    dark = theme_state(page)
    assert (dark["mode"], dark["theme"], dark["stored"]) == ("dark", "dark", "dark")
    page.wait_for_timeout(400)
    assert theme_state(page)["bg"] == "rgb(18, 20, 23)"

    page.reload()
    assert theme_state(page)["mode"] == "dark"  # persisted

    toggle.click()
    auto = theme_state(page)
    assert (auto["mode"], auto["title"], auto["stored"]) == ("auto", "Auto (dark)", "auto")
    page.emulate_media(color_scheme="light")  # Auto follows prefers-color-scheme live
    page.wait_for_function("document.getElementById('theme-toggle').title === 'Auto (light)'",
                           timeout=2000)
    assert theme_state(page)["theme"] == "light"
    page.reload()
    assert theme_state(page)["mode"] == "auto"
    assert page.errors == []


def test_song_page_flips_pages_with_the_keyboard(live_server, page, settings):
    from ingestion import pipeline
    from tests.conftest import DEMO_SONGS

    pipeline.run_sync(pipeline.SyncOptions(source="dir", source_dir=str(DEMO_SONGS), concurrency=1))
    from ingestion.models import Song

    song = Song.objects.get(title="It Is Well with My Soul")
    page.goto(f"{live_server.url}/songs/{song.id}/")
    assert page.locator("#page").get_attribute("src").endswith("/pages/1")
    loaded = page.evaluate("() => document.getElementById('page').naturalWidth")
    assert loaded > 500
    if song.page_count > 1:
        page.keyboard.press("ArrowRight")
        assert page.locator("#page").get_attribute("src").endswith("/pages/2")
        assert page.locator("#pageno").inner_text() == f"2 / {song.page_count}"
    assert page.errors == []
