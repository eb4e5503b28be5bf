"""Karaoke sources: the library and a loopback YouTube searched together, partial results when a
provider is slow or out of quota, cached video URLs, and the seed's HTTP endpoints."""

import json
import time

import pytest
from django.core.cache import cache

from rooms import sources
from rooms.sources.base import KaraokeEntry, KaraokeSourceProvider
from rooms.sources.youtube import parse_duration, split_title

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clean_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def youtube(settings):
    from tests.fakes.youtube import FakeYouTube

    server = FakeYouTube()
    server.add_video("dQw4w9WgXcQ", "Rick Astley - Never Gonna Give You Up (Karaoke Version)",
                     duration="PT3M33S")
    server.add_video("aaaaaaaaaaa", "Amazing Grace (Karaoke)", channel="Hymns", duration="PT4M")
    settings.YOUTUBE_API_URL = server.url
    settings.YOUTUBE_API_KEY = server.key
    settings.KARAOKE_PROVIDER_TIMEOUT_SECONDS = 2.0
    yield server
    server.stop()


class SlowProvider(KaraokeSourceProvider):
    provider_id = "slow"

    def search(self, query):
        time.sleep(5)
        return [KaraokeEntry(id="x", title="late", artist="", source="slow")]


class BrokenProvider(KaraokeSourceProvider):
    provider_id = "broken"

    def search(self, query):
        raise RuntimeError("bug")


def test_helpers_parse_youtube_shapes():
    assert parse_duration("PT3M33S") == 213 and parse_duration("PT1H2S") == 3602
    assert parse_duration("P1DT1S") == 86401 and parse_duration("nonsense") is None
    assert split_title("Artist - Song (Karaoke)") == ("Artist", "Song (Karaoke)")
    assert split_title("Just A Title") == ("", "Just A Title")


def test_search_fans_out_to_library_and_youtube(youtube, song):
    result = sources.search("amazing grace")
    by_source = {}
    for entry in result.entries:
        by_source.setdefault(entry.source, []).append(entry)
    assert result.errors == []
    assert by_source["library"][0].id == f"song:{song.id}"
    (video,) = by_source["youtube"]
    assert (video.id, video.duration, video.uploader) == ("aaaaaaaaaaa", 240.0, "Hymns")
    assert youtube.counts == {"search": 1, "videos": 1}
    sources.search("amazing grace")  # cached for the provider's TTL
    assert youtube.counts == {"search": 1, "videos": 1}


def test_a_slow_or_broken_provider_costs_only_its_own_results(youtube, settings, song):
    settings.KARAOKE_PROVIDERS = ["rooms.sources.library.LibraryProvider",
                                  "tests.test_karaoke_sources.SlowProvider",
                                  "tests.test_karaoke_sources.BrokenProvider"]
    settings.KARAOKE_PROVIDER_TIMEOUT_SECONDS = 0.5
    started = time.monotonic()
    result = sources.search("amazing")
    assert time.monotonic() - started < 2
    assert [e.source for e in result.entries] == ["library"]
    assert {e["source"] for e in result.errors} == {"slow", "broken"}
    assert "did not answer within 0.5 s" in next(e["message"] for e in result.errors
                                                 if e["source"] == "slow")


def test_a_spent_quota_switches_youtube_off_until_the_reset(youtube, song):
    youtube.quota_spent = True
    result = sources.search("never gonna")
    assert result.errors and "quota is used up" in result.errors[0]["message"]
    assert "back after" in result.errors[0]["message"]
    youtube.quota_spent = False
    calls = sum(youtube.counts.values())
    again = sources.search("rick astley")  # still off: no request until the reset
    assert sum(youtube.counts.values()) == calls and again.errors
    assert [e.source for e in sources.search("amazing").entries] == ["library"]


def test_an_unconfigured_provider_is_left_out(settings, song):
    settings.YOUTUBE_API_KEY = ""
    result = sources.search("amazing")
    assert [e.source for e in result.entries] == ["library"] and result.errors == []


def test_video_urls_are_lazy_and_cached_for_their_ttl(youtube, song):
    url = sources.get_video_url("youtube", "dQw4w9WgXcQ")
    assert url.endswith("/embed/dQw4w9WgXcQ")
    assert sources.get_video_url("youtube", "dQw4w9WgXcQ") == url
    assert sources.url_cache_stats() == {"hits": 1, "misses": 1, "hit_rate": 0.5}
    assert sources.get_video_url("library", f"song:{song.id}") == f"/songs/{song.id}/pages/1"
    assert sources.get_video_url("library", "song:999999") is None
    with pytest.raises(sources.ProviderError):
        sources.get_video_url("nope", "1")


def test_the_seed_endpoints_answer_json_for_members_only(client, youtube, host, song):
    assert client.get("/search", {"query": "amazing"}).status_code == 401
    client.force_login(host)
    for path in ("/search", "/api/karaoke/search"):
        body = client.get(path, {"query": "amazing"}).json()
        assert {e["source"] for e in body["entries"]} == {"library", "youtube"}
    assert client.get("/search", {"query": ""}).status_code == 400
    assert client.get("/search", {"query": "a\x00b"}).status_code == 400
    for path in ("/get_video_url", "/api/karaoke/get_video_url"):
        response = client.post(path, json.dumps({"source": "youtube", "id": "dQw4w9WgXcQ"}),
                               content_type="application/json")
        assert response.json()["video_url"].endswith("dQw4w9WgXcQ")
    bad = [("not json", 400), (json.dumps([1]), 400), (json.dumps({"source": "x", "id": "1"}), 400),
           (json.dumps({"source": "youtube", "id": "../../etc"}), 404)]
    for body, status in bad:
        response = client.post("/get_video_url", body, content_type="application/json")
        assert response.status_code == status, body
        assert response.json()["error"]["message"]
    youtube.quota_spent = True
    cache.clear()
    response = client.get("/api/karaoke/search", {"query": "never"})
    assert response.status_code == 200 and response.json()["errors"]
