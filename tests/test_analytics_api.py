"""The analytics JSON endpoints: correct aggregates, login required, bounded queries."""

from datetime import timedelta

import pytest
from django.utils import timezone

from listening.models import Artist, ListeningEvent, Listener, Track

pytestmark = pytest.mark.django_db


@pytest.fixture
def dashboard(client, django_user_model):
    user = django_user_model.objects.create_user("erin", password="pw-erin-12345")
    listener = Listener.objects.create(spotify_id="erin", user=user)
    band = Artist.objects.create(id="b" * 22, name="Band")
    hymn = Track.objects.create(id="h" * 22, name="Hymn", duration_ms=240_000)
    song = Track.objects.create(id="s" * 22, name="Song", duration_ms=120_000)
    hymn.artists.add(band)
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    for n in range(30):
        ListeningEvent.objects.create(listener=listener, track=hymn if n % 3 else song,
                                      played_at=now - timedelta(hours=n * 5))
    client.force_login(user)
    return listener


def test_plays_per_day_cover_the_range(client, dashboard):
    days = client.get("/analytics/playsPerDay/?days=30").json()["days"]
    assert sum(d["plays"] for d in days) == 30
    assert days == sorted(days, key=lambda d: d["date"])


def test_heatmap_is_seven_by_twenty_four(client, dashboard):
    grid = client.get("/analytics/heatmap/").json()["grid"]
    assert len(grid) == 7 and all(len(row) == 24 for row in grid)
    assert sum(map(sum, grid)) == 30


def test_top_tracks_and_artists_with_listening_time(client, dashboard):
    body = client.get("/analytics/top/?limit=5").json()
    assert body["tracks"][0] == {"id": "h" * 22, "name": "Hymn", "plays": 20, "minutes": 80}
    assert body["artists"] == [{"id": "b" * 22, "name": "Band", "plays": 20, "minutes": 80}]


def test_recent_plays_are_paginated(client, dashboard):
    first = client.get("/analytics/listeningHistory/").json()
    assert len(first["items"]) == 25 and first["has_next"]
    second = client.get("/analytics/listeningHistory/?page=2").json()
    assert len(second["items"]) == 5 and not second["has_next"]
    assert first["items"][0]["played_at"] > first["items"][1]["played_at"]


def test_status_colors(client, dashboard):
    assert client.get("/analytics/status/").json()["color"] == "#1db954"
    Listener.objects.filter(pk=dashboard.pk).update(enabled=False, status_song=2)
    assert client.get("/analytics/status/").json()["color"] == "#FFD700"
    Listener.objects.filter(pk=dashboard.pk).update(status_song=0)
    assert client.get("/analytics/status/").json()["color"] == "#E10000"


def test_endpoints_need_a_login_and_a_listener(client, django_user_model):
    assert client.get("/analytics/top/").status_code == 401
    client.force_login(django_user_model.objects.create_user("nolistener", password="x-123456"))
    assert client.get("/analytics/top/").json()["error"]["code"] == "no_listener"


@pytest.mark.parametrize("url", ["/analytics/playsPerDay/", "/analytics/heatmap/",
                                 "/analytics/top/", "/analytics/listeningHistory/",
                                 "/analytics/status/"])
def test_each_endpoint_runs_a_bounded_number_of_queries(client, dashboard, url,
                                                        django_assert_max_num_queries):
    with django_assert_max_num_queries(6):  # session, user, listener, then the aggregates
        assert client.get(url).status_code == 200
