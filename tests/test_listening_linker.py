"""Spotify client behaviour, token encryption, local ids, the artist linker and song-id
consolidation, against a real loopback Spotify."""

import io
import json
import math
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from listening import linker
from listening.consolidation import consolidate
from listening.local_ids import local_artist_id, local_track_id
from listening.models import (Artist, ListeningEvent, Listener, PlayCount, Playlist,
                              PlaylistTrack, Track)
from listening.spotify import CALLS, RateLimited, SpotifyClient, SpotifyError

pytestmark = pytest.mark.django_db


def make_listener(spotify, spotify_id="alice", expired=True):
    refresh = spotify.add_user(spotify_id)
    listener = Listener(spotify_id=spotify_id, app_client_id=spotify.client_id)
    listener.set_tokens("stale-token", refresh,
                        timezone.now() - timedelta(minutes=1) if expired else None)
    listener.save()
    return listener


def test_tokens_are_encrypted_at_rest(spotify):
    listener = make_listener(spotify)
    raw = Listener.objects.filter(pk=listener.pk).values_list("refresh_token_encrypted",
                                                              flat=True)[0]
    assert raw and listener.refresh_token not in raw
    assert Listener.objects.get(pk=listener.pk).refresh_token == listener.refresh_token


def test_local_ids_are_deterministic_and_fit_22_characters():
    uri = "spotify:local:Some+Artist:Some+Album:A+Local+Song%2C+Live:245"
    assert local_track_id(uri) == local_track_id(uri)
    assert local_track_id(uri).startswith(":") and len(local_track_id(uri)) <= 22
    assert local_artist_id("Some Artist") == "0000000000:Some Artist"
    assert len(local_artist_id("A very long artist name indeed")) == 22


def test_an_expired_token_is_refreshed_before_the_call(spotify):
    client = SpotifyClient(make_listener(spotify))
    assert client.get("/v1/me")["id"] == "alice"
    assert spotify.counts["/api/token"] == 1
    stored = Listener.objects.get(spotify_id="alice")
    assert stored.expires_at > timezone.now() + timedelta(minutes=50)


def test_a_401_refreshes_once_and_retries(spotify):
    client = SpotifyClient(make_listener(spotify))
    client.get("/v1/me")
    spotify.expire_all_tokens()
    assert client.get("/v1/me")["id"] == "alice"
    assert spotify.counts["/api/token"] == 2 and spotify.counts["/v1/me"] == 3


def test_a_429_backs_off_that_listener_only(spotify):
    alice, bob = make_listener(spotify), make_listener(spotify, "bob")
    spotify.inject(429, {"Retry-After": "30"}, "/v1/me")
    with pytest.raises(RateLimited) as caught:
        SpotifyClient(alice).get("/v1/me")
    assert caught.value.retry_after == 30
    assert Listener.objects.get(pk=alice.pk).backoff_until > timezone.now() + timedelta(seconds=25)
    with pytest.raises(RateLimited):  # still backing off: no request is made
        SpotifyClient(Listener.objects.get(pk=alice.pk)).get("/v1/me")
    assert SpotifyClient(bob).get("/v1/me")["id"] == "bob"
    assert spotify.counts["/v1/me"] == 2


def test_server_errors_are_retried_then_reported(spotify):
    client = SpotifyClient(make_listener(spotify))
    spotify.inject(503, path_prefix="/v1/me", times=2)
    assert client.get("/v1/me")["id"] == "alice"
    spotify.inject(500, path_prefix="/v1/me", times=10)
    with pytest.raises(SpotifyError):
        client.get("/v1/me")


def test_a_revoked_refresh_token_is_an_auth_error(spotify):
    from listening.spotify import AuthError

    listener = make_listener(spotify)
    spotify.users.clear()
    with pytest.raises(AuthError):
        SpotifyClient(listener).get("/v1/me")


def test_calls_are_counted_per_endpoint_without_ids(spotify):
    spotify.add_track("4uLU6hMCjMI75M1A2tKUQC", "Song", [("a1", "Artist")])
    before = CALLS["/v1/tracks/{id}"]
    SpotifyClient(make_listener(spotify)).get("/v1/tracks/4uLU6hMCjMI75M1A2tKUQC")
    assert CALLS["/v1/tracks/{id}"] == before + 1


def seed_tracks(spotify, count):
    for n in range(count):
        track_id = f"{n:022d}"
        Track.objects.create(id=track_id, name=f"Song {n}")
        spotify.add_track(track_id, f"Song {n}", [(f"artist{n % 7:015d}", f"Artist {n % 7}")])


def test_the_linker_batches_50_ids_per_request_and_skips_local_files(spotify):
    make_listener(spotify)
    seed_tracks(spotify, 123)
    Track.objects.create(id=":localfile0000000000x", name="Local")
    sleeps = []
    report = linker.link_artists(pace_seconds=1.0, sleep=sleeps.append)
    assert report.success and report.successful_links == 123 and report.total_processed == 123
    assert spotify.counts["/v1/tracks"] == math.ceil(123 / 50)
    assert sleeps == [1.0, 1.0]  # paced between calls, not before the first
    assert Track.objects.get(id=f"{5:022d}").artists.get().name == "Artist 5"
    assert Artist.objects.count() == 7
    assert not Track.objects.get(id=":localfile0000000000x").artists.exists()


def test_unknown_tracks_fail_alone(spotify):
    make_listener(spotify)
    seed_tracks(spotify, 3)
    Track.objects.create(id="x" * 22, name="Gone")
    report = linker.link_artists(pace_seconds=0)
    assert (report.successful_links, report.failed_links, report.total_processed) == (3, 1, 4)
    assert report.success


def test_the_token_is_refreshed_every_45_minutes(spotify):
    make_listener(spotify)
    seed_tracks(spotify, 200)
    now = [0.0]

    def clock():
        now[0] += 20 * 60  # every call looks 20 minutes later
        return now[0]

    linker.link_artists(pace_seconds=0, clock=clock)
    assert spotify.counts["/api/token"] >= 2  # the first refresh plus at least one on the way


def test_a_429_stops_the_run_and_the_command_exits_1(spotify):
    make_listener(spotify)
    seed_tracks(spotify, 120)
    spotify.inject(429, {"Retry-After": "77"}, "/v1/tracks")
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("link_artists", "--pace", "0", stdout=out)
    assert exit_info.value.code == 1
    summary = json.loads(out.getvalue())
    assert summary["success"] is False and "77" in summary["error"]
    assert spotify.counts["/v1/tracks"] == 1  # stopped at once


def test_the_command_prints_the_summary_and_exits_0(spotify):
    make_listener(spotify)
    seed_tracks(spotify, 2)
    out = io.StringIO()
    call_command("link_artists", "--pace", "0", stdout=out)
    assert json.loads(out.getvalue()) == {
        "success": True, "successful_links": 2, "failed_links": 0, "total_processed": 2,
        "apps": {spotify.client_id: {"mode": "extended", "method": "batch", "requests": 1}}}


def test_without_a_listener_the_linker_fails_clearly(spotify):
    seed_tracks(spotify, 1)
    report = linker.link_artists(pace_seconds=0)
    assert not report.success and "No enabled listener" in report.error


def test_consolidation_merges_duplicates_into_the_most_recent_id(spotify):
    listener = make_listener(spotify)
    artist = Artist.objects.create(id="a" * 22, name="Band")
    old, new, other = (Track.objects.create(id=c * 22, name="Hit") for c in "onx")
    for track in (old, new):
        track.artists.add(artist)
    other.artists.add(Artist.objects.create(id="b" * 22, name="Other band"))
    now = timezone.now()
    ListeningEvent.objects.create(listener=listener, track=old, played_at=now - timedelta(days=9))
    ListeningEvent.objects.create(listener=listener, track=new, played_at=now - timedelta(days=1))
    PlayCount.objects.create(listener=listener, track=old, count=4)
    PlayCount.objects.create(listener=listener, track=new, count=2)
    playlist = Playlist.objects.create(id="p1", listener=listener, name="Mix")
    PlaylistTrack.objects.create(playlist=playlist, track=old, position=0)
    report = consolidate()
    assert (report.groups, report.merged_tracks) == (1, 1)
    assert not Track.objects.filter(pk=old.pk).exists() and Track.objects.filter(pk=other.pk).exists()
    assert PlayCount.objects.get(listener=listener, track=new).count == 6
    assert ListeningEvent.objects.filter(track=new).count() == 2
    assert PlaylistTrack.objects.get(playlist=playlist).track_id == new.pk
    assert consolidate().groups == 0  # nothing left to merge
    out = io.StringIO()
    call_command("update_song_ids", stdout=out)
    assert json.loads(out.getvalue()) == {"groups": 0, "merged_tracks": 0}
