"""The song browser's search in a real browser: as-you-type, highlight, keys, empty, errors."""

import pytest

from ingestion.models import Song

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def songs():
    for i, (title, artist) in enumerate([("Amazing Grace", "John Newton"),
                                         ("Grace Alone", "Scott Dyer"),
                                         ("Doxology", "Thomas Ken")], start=1):
        Song.objects.create(id=i, title=title, artist=artist, filename=f"{i}.cho",
                            source_sha="x", lyrics="praise god from whom all blessings flow"
                            if title == "Doxology" else "")


def test_results_appear_as_you_type_and_keys_open_one(live_server, page, songs):
    page.goto(live_server.url + "/songs/")
    requests = []
    page.on("request", lambda r: "/api/songs/search" in r.url and requests.append(r.url))
    page.locator("#song-search").press_sequentially("grace", delay=20)
    # a loaded machine may let the debounce fire on "grac" first: wait for the whole word
    page.wait_for_function("(document.querySelector('#results mark') || {}).textContent"
                           "?.toLowerCase() === 'grace'")
    titles = page.locator("#results a.title").all_inner_texts()
    assert set(titles) == {"Amazing Grace", "Grace Alone"}
    assert len(requests) < 5, requests  # debounced, not one request per key
    assert page.url.endswith("/songs/")  # no full reload

    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    assert page.locator("#results li.active").count() == 1
    page.keyboard.press("Enter")
    page.wait_for_url("**/songs/*/")
    assert page.errors == []


def test_lyrics_empty_state_and_error_message(live_server, page, songs):
    page.goto(live_server.url + "/songs/")
    box = page.locator("#song-search")
    box.fill("whom all blessings")
    page.wait_for_selector("#results a.title")
    assert page.locator("#results a.title").all_inner_texts() == ["Doxology"]
    snippet = page.locator("#results .snippet")  # why a lyric-only match is there
    assert snippet.locator("mark").all_inner_texts() == ["whom", "all", "blessings"]
    assert "from whom all blessings flow" in snippet.inner_text()
    box.fill("zzzzqqq")
    page.wait_for_function("document.getElementById('search-status').textContent.includes('No songs')")
    assert page.locator("#results li").count() == 0
    box.fill("x" * 201)
    page.wait_for_function("document.getElementById('search-status').textContent.includes('limit')")
    box.fill("")
    page.wait_for_function("document.querySelectorAll('#results li').length === 3")
    assert [e for e in page.errors if "400" not in e] == []  # the 400 is the expected answer
