"""Fixtures for the transition graph: loopback MixesDB, setlist.fm and MusicBrainz, and `graph_fast`:
a clean cache (breakers, pacing slots, enrichment answers) and fast backoff."""

import pytest


@pytest.fixture
def graph_fast(settings):
    from django.core.cache import cache

    cache.clear()
    settings.GRAPH_REQUEST_INTERVAL_SECONDS = 0
    settings.GRAPH_BACKOFF_SECONDS = 0.01
    settings.GRAPH_BREAKER_THRESHOLD = 3
    settings.GRAPH_BREAKER_COOLDOWN_SECONDS = 60
    yield
    cache.clear()


@pytest.fixture
def mixesdb(settings):
    from tests.fakes.setlists import FakeMixesDB

    server = FakeMixesDB()
    settings.MIXESDB_API_URL = server.api_url
    yield server
    server.stop()


@pytest.fixture
def setlistfm(settings):
    from tests.fakes.setlists import FakeSetlistFm

    server = FakeSetlistFm()
    settings.SETLISTFM_API_URL = server.api_url
    settings.SETLISTFM_API_KEY = server.api_key
    yield server
    server.stop()


@pytest.fixture
def musicbrainz(settings):
    from tests.fakes.setlists import FakeMusicBrainz

    server = FakeMusicBrainz()
    settings.MUSICBRAINZ_API_URL = server.api_url
    yield server
    server.stop()
