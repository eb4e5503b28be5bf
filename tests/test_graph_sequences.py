"""Songhub's own sequences: songs a room plays in order (source `rooms`) and listening sessions
of listeners who opted in (source `listening`), split where plays are 30 min apart."""

from datetime import datetime, timedelta, timezone as tz

import pytest
from django.core.management import call_command

from graph.models import ListeningOptIn, RoomPlay, Setlist, Transition
from graph.sources.local import sessions
from ingestion.models import Song
from listening.models import Artist as SpotifyArtist, ListeningEvent, Listener, Track as SpotifyTrack
from rooms import services

pytestmark = [pytest.mark.postgres, pytest.mark.django_db, pytest.mark.usefixtures("graph_fast")]


def pairs():
    return {(t.from_track.title, t.to_track.title) for t in
            Transition.objects.select_related("from_track", "to_track")}


def test_sessions_split_at_the_gap():
    t0 = datetime(2026, 1, 1, tzinfo=tz.utc)
    plays = [(t0, "A", "1"), (t0 + timedelta(minutes=29), "B", "2"),
             (t0 + timedelta(minutes=60), "C", "3")]
    assert [len(run) for run in sessions(plays, timedelta(minutes=30))] == [2, 1]


def test_a_rooms_played_songs_become_a_setlist(host, room, song):
    other = Song.objects.create(id=2, title="Be Thou My Vision", artist="Traditional",
                                filename="b.cho", source_sha="y", page_count=1, image_etag="e2")
    leader = services.join(room.pk, user=host)
    services.select_song(room.pk, leader, song.pk)
    services.select_song(room.pk, leader, other.pk)
    assert list(RoomPlay.objects.values_list("title", flat=True)) == ["Amazing Grace",
                                                                      "Be Thou My Vision"]
    call_command("import_sequences")
    assert Setlist.objects.get().source == "rooms"
    assert pairs() == {("Amazing Grace", "Be Thou My Vision")}
    call_command("import_sequences")  # the same session again: nothing new
    assert Setlist.objects.count() == 1


def test_only_opted_in_listeners_sessions_count():
    artist = SpotifyArtist.objects.create(id="a" * 22, name="Röyksopp")
    tracks = []
    for n, name in enumerate(["Eple", "Remind Me", "So Easy"]):
        track = SpotifyTrack.objects.create(id=str(n) * 22, name=name)
        track.artists.add(artist)
        tracks.append(track)
    now = datetime.now(tz.utc) - timedelta(hours=3)
    listeners = [Listener.objects.create(spotify_id=f"user{n}", display_name=f"U{n}") for n in (1, 2)]
    for listener in listeners:
        for minutes, track in ((0, tracks[0]), (4, tracks[1]), (90, tracks[2])):
            ListeningEvent.objects.create(listener=listener, track=track,
                                          played_at=now + timedelta(minutes=minutes))
    call_command("import_sequences")
    assert not Setlist.objects.exists()  # nobody opted in
    ListeningOptIn.objects.create(listener=listeners[0])
    call_command("import_sequences")
    assert list(Setlist.objects.values_list("source", "dj")) == [("listening", "U1")]
    assert pairs() == {("Eple", "Remind Me")}  # "So Easy" came 86 minutes later
