"""History, realtime and hybrid polling against a loopback Spotify: what counts as a play."""

from datetime import timedelta

import pytest
from django.utils import timezone

from listening.models import ListeningEvent, Listener, PlayCount, Track
from listening.polling import poll_history, poll_realtime
from listening.spotify import SpotifyClient

pytestmark = pytest.mark.django_db

TRACK = "4uLU6hMCjMI75M1A2tKUQC"


@pytest.fixture
def alice(spotify):
    refresh = spotify.add_user("alice")
    listener = Listener(spotify_id="alice", app_client_id=spotify.client_id)
    listener.set_tokens("x", refresh, timezone.now() - timedelta(minutes=1))
    listener.save()
    spotify.add_track(TRACK, "Amazing Grace", [("artist000000000000001", "Choir")])
    spotify.add_track("1" * 22, "Other", [("artist000000000000002", "Band")])
    return listener


def client(listener):
    return SpotifyClient(Listener.objects.get(pk=listener.pk))


def test_history_counts_each_new_play_once_using_the_after_cursor(spotify, alice):
    spotify.play("alice", TRACK, "2026-11-20T10:00:00.000Z")
    spotify.play("alice", "1" * 22, "2026-11-20T10:05:00.000Z")
    assert poll_history(client(alice), alice) == 2
    assert poll_history(client(alice), alice) == 0  # nothing newer than what is stored
    spotify.play("alice", TRACK, "2026-11-20T10:10:00.000Z")
    assert poll_history(client(alice), alice) == 1
    assert PlayCount.objects.get(listener=alice, track_id=TRACK).count == 2
    assert Track.objects.get(pk=TRACK).artists.get().name == "Choir"


def playing(track, progress=45_000, is_playing=True, kind="track"):
    return {"is_playing": is_playing, "progress_ms": progress, "currently_playing_type": kind,
            "timestamp": 1795300000000, "item": track}


def test_realtime_counts_a_track_past_30_seconds_once(spotify, alice):
    alice.mode = Listener.Mode.REALTIME
    alice.save()
    spotify.now_playing("alice", None)  # 204
    assert poll_realtime(client(alice), alice) == 0
    spotify.now_playing("alice", playing(spotify.tracks[TRACK], progress=10_000))
    assert poll_realtime(client(alice), alice) == 0  # not 30 s in yet
    spotify.now_playing("alice", playing(spotify.tracks[TRACK], is_playing=False))
    assert poll_realtime(client(alice), alice) == 0  # paused
    spotify.now_playing("alice", playing({"id": "ep1", "name": "Podcast"}, kind="episode"))
    assert poll_realtime(client(alice), alice) == 0  # episodes are not tracks
    spotify.now_playing("alice", playing(spotify.tracks[TRACK]))
    assert poll_realtime(client(alice), alice) == 1
    assert poll_realtime(client(Listener.objects.get(pk=alice.pk)), alice) == 0  # same track
    assert ListeningEvent.objects.filter(listener=alice).count() == 1


def test_local_files_get_deterministic_ids(spotify, alice):
    alice.mode = Listener.Mode.REALTIME
    alice.save()
    local = {"id": None, "is_local": True, "name": "Home Recording", "duration_ms": 180000,
             "uri": "spotify:local:Me:Demos:Home+Recording:180",
             "artists": [{"name": "Me", "id": None}], "album": {"name": "Demos"}}
    spotify.now_playing("alice", playing(local))
    assert poll_realtime(client(alice), alice) == 1
    track = Track.objects.get(name="Home Recording")
    assert track.id.startswith(":") and len(track.id) <= 22
    assert track.artists.get().id == ":Me".zfill(22)


def test_hybrid_counts_local_files_in_realtime_and_the_rest_from_history(spotify, alice):
    alice.mode = Listener.Mode.HYBRID
    alice.save()
    spotify.now_playing("alice", playing(spotify.tracks[TRACK]))
    assert poll_realtime(client(alice), alice) == 0  # history will see this one
    local = {"id": None, "is_local": True, "name": "Live", "uri": "spotify:local:A:B:Live:200",
             "artists": [{"name": "A"}]}
    spotify.now_playing("alice", playing(local))
    assert poll_realtime(client(alice), alice) == 1
    spotify.play("alice", TRACK, "2026-11-20T11:00:00.000Z")
    assert poll_history(client(alice), alice) == 1


def test_playlist_scan_pages_through_everything_and_skips_unchanged(spotify, alice):
    from listening.models import Playlist, PlaylistTrack
    from listening.playlists import scan_playlists

    ids = [f"{n:022d}" for n in range(230)]
    for track_id in ids:
        spotify.add_track(track_id, f"Song {track_id[-3:]}", [("artist000000000000009", "Band")])
    for n in range(25):  # two pages of playlists
        spotify.add_playlist("alice", f"pl{n}", f"List {n}", ids if n == 0 else ids[:3])
    assert scan_playlists(client(alice), alice) == 25
    assert Playlist.objects.count() == 25
    big = PlaylistTrack.objects.filter(playlist_id="pl0")
    assert big.count() == 230 and big.order_by("position").first().track_id == ids[0]
    assert spotify.counts["/v1/playlists/pl0/tracks"] == 3  # 100 per page
    assert Listener.objects.get(pk=alice.pk).status_playlist == Listener.Status.STOPPED
    assert scan_playlists(client(alice), alice) == 0  # same snapshots: nothing re-read
