"""Enrichment: the delegation contract against loopback Spotify and MusicBrainz, the cache and
its hit rate, per-source breakers, dead letters with retry, proposals that wait for a curator,
and the staff-only endpoint."""

import pytest

from graph import curation, enrich, etl
from graph.models import CurationRule, EnrichmentFailure, Entry, Track
from graph.parsers import parse

pytestmark = [pytest.mark.postgres, pytest.mark.django_db, pytest.mark.usefixtures("graph_fast")]


@pytest.fixture
def strobe(spotify, musicbrainz):
    spotify.add_track("0" * 21 + "1", "Strobe", [("a1", "Deadmau5")], isrc="USUS10900001")
    spotify.features["0" * 21 + "1"] = {"tempo": 128.0, "key": 9, "mode": 0}
    musicbrainz.add_recording("Deadmau5", "Strobe", isrcs=["USUS10900001"])
    text = "Deadmau5 - Strobe\nDeadmau5 - Ghosts\n"
    etl.import_setlist(parse(text, "text"), source="file", payload=text, fmt="text")
    return Track.objects.get(title="Strobe")


def test_it_answers_the_contract_and_fills_the_track(strobe):
    result = enrich.enrich(strobe.pk, "Deadmau5", "Strobe")
    assert set(result) == {"track_id", "status", "sources_used", "metadata_acquired", "cached",
                           "timestamp"}
    assert result["status"] == "completed" and result["sources_used"] == ["spotify", "musicbrainz"]
    assert result["metadata_acquired"] == {"spotify_id": "0" * 21 + "1", "isrc": "USUS10900001",
                                           "bpm": 128.0, "key": "A Minor"}
    strobe.refresh_from_db()
    assert (strobe.spotify_id, strobe.bpm, strobe.camelot) == ("0" * 21 + "1", 128.0, "8A")


def test_the_second_call_is_a_cache_hit_without_requests(strobe, spotify, musicbrainz):
    enrich.enrich(strobe.pk, "Deadmau5", "Strobe")
    sent = (sum(spotify.counts.values()), len(musicbrainz.requests))
    again = enrich.enrich(strobe.pk, "deadmau5", "STROBE")
    assert again["cached"] is True and again["status"] == "completed"
    assert (sum(spotify.counts.values()), len(musicbrainz.requests)) == sent
    assert enrich.statistics()["cache_hit_rate"] == 0.5


def test_a_failing_source_gives_partial_and_a_dead_letter_that_retries(strobe, musicbrainz):
    musicbrainz.inject(503, times=10)
    result = enrich.enrich(strobe.pk, "Deadmau5", "Strobe")
    assert result["status"] == "completed" and result["sources_used"] == ["spotify"]
    failure = EnrichmentFailure.objects.get()
    assert "musicbrainz" in failure.error and failure.resolved_at is None
    musicbrainz.injected.clear()
    assert enrich.retry_dead_letters() == {"retried": 1, "resolved": 1}
    failure.refresh_from_db()
    assert failure.resolved_at is not None and failure.attempts == 2


def test_nothing_found_is_failed_and_cached(musicbrainz):
    result = enrich.enrich(1, "Nobody", "Nothing")
    assert result["status"] == "failed" and result["sources_used"] == []
    assert enrich.enrich(1, "Nobody", "Nothing")["cached"] is True


def test_the_musicbrainz_breaker_opens_and_stops_calls(musicbrainz):
    musicbrainz.inject(500, times=100)
    for n in range(4):
        enrich.enrich(n, f"A{n}", f"T{n}")
    assert enrich.statistics()["breakers"]["musicbrainz"]["open"] is True
    sent = len(musicbrainz.requests)
    enrich.enrich(99, "B", "C")
    assert len(musicbrainz.requests) == sent


def test_a_unique_strong_match_is_only_proposed_until_a_curator_accepts(musicbrainz, curator):
    musicbrainz.add_recording("Burial", "Archangel", score=100)
    text = "? - Archangel\nKnown - Song\n"
    etl.import_setlist(parse(text, "text"), source="file", payload=text, fmt="text")
    rule = enrich.propose_for_entry("? - Archangel", "Archangel")
    assert rule.status == "proposed" and rule.artist == "Burial"
    assert not Entry.objects.get(position=1).identified  # never applied silently
    curation.accept(curator, rule.pk)
    entry = Entry.objects.get(position=1)
    assert entry.identified and entry.track.title == "Archangel"


def test_an_ambiguous_match_proposes_nothing(musicbrainz):
    musicbrainz.add_recording("One", "Intro")
    musicbrainz.add_recording("Two", "Intro")
    assert enrich.propose_for_entry("? - Intro", "Intro") is None
    assert not CurationRule.objects.exists()


def test_the_endpoint_is_staff_only(client, django_user_model, curator, musicbrainz):
    body = {"track_id": 1, "artist_name": "A", "track_title": "T"}
    assert client.post("/api/graph/enrich", body, content_type="application/json").status_code == 401
    django_user_model.objects.create_user("fan", password="pw-fan-12345")
    client.login(username="fan", password="pw-fan-12345")
    assert client.post("/api/graph/enrich", body, content_type="application/json").status_code == 403
    client.force_login(curator)
    response = client.post("/api/graph/enrich", body, content_type="application/json")
    assert response.status_code == 200 and response.json()["status"] == "failed"
    bad = client.post("/api/graph/enrich", {"track_id": "x"}, content_type="application/json")
    assert bad.json()["error"]["code"] == "bad_parameter"
