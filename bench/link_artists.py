#!/usr/bin/env python
"""Artist-linker benchmark in Development Mode (Spotify 2026: no batch endpoints).

8,000 tracks, of which --covered (90 %) got their artists at poll time (`catalog`), the rest
only from a data export (provisional artists) or nothing. The linker runs against the loopback
Spotify in the development dialect with --latency (50 ms) added to every answer.
Reports: requests made (target: <= the tracks still lacking artists), wall time, and the
physical floor: ceil(left / 4 concurrent) waves x (latency + pace).
"""

import argparse
import math
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _django  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tracks", type=int, default=8000)
    parser.add_argument("--covered", type=float, default=0.9)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--pace", type=float, default=0.0,
                        help="pause between waves (LINK_ARTISTS_PACE_SECONDS; production 1 s)")
    args = parser.parse_args()

    _django.setup("link-artists")
    from django.conf import settings
    from django.utils import timezone

    from listening import catalog, linker
    from listening.local_ids import export_artist_id
    from listening.models import Artist, Listener, Track
    from listening.polling import Play
    from tests.fakes.spotify import FakeSpotify

    spotify = FakeSpotify(latency=args.latency, mode="development")
    settings.SPOTIFY_API_URL = settings.SPOTIFY_ACCOUNTS_URL = spotify.url
    settings.SPOTIFY_CLIENT_ID, settings.SPOTIFY_CLIENT_SECRET = (spotify.client_id,
                                                                 spotify.client_secret)
    settings.SPOTIFY_CLIENT_MODE = "development"
    refresh = spotify.add_user("bench")
    listener = Listener(spotify_id="bench", app_client_id=spotify.client_id)
    listener.set_tokens("x", refresh, timezone.now() + timedelta(hours=1))
    listener.save()

    covered = int(args.tracks * args.covered)
    plays = []
    for n in range(args.tracks):
        track_id, artist = f"{n:022d}", (f"artist{n % 500:015d}", f"Artist {n % 500}")
        spotify.add_track(track_id, f"Song {n}", [artist])
        if n < covered:  # what polling stored from the track objects it received
            plays.append(Play(track_id, f"Song {n}", 200_000, "LP", (artist,), timezone.now()))
    catalog.store_tracks(plays)
    left = list(range(covered, args.tracks))
    Track.objects.bulk_create([Track(id=f"{n:022d}", name=f"Song {n}") for n in left])
    names = {n: f"Artist {n % 500}" for n in left[::2]}  # half came from an export
    Artist.objects.bulk_create([Artist(id=export_artist_id(a), name=a)
                                for a in set(names.values())], ignore_conflicts=True)
    Track.artists.through.objects.bulk_create(
        [Track.artists.through(track_id=f"{n:022d}", artist_id=export_artist_id(a))
         for n, a in names.items()])

    lacking = len(linker.tracks_without_artists())
    started = time.monotonic()
    report = linker.link_artists(pace_seconds=args.pace)
    wall = time.monotonic() - started
    floor = math.ceil(lacking / linker.CONCURRENCY) * (args.latency + args.pace)
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} (1, 5 min)")
    print(f"tracks {args.tracks}, with artists from polling {covered}, lacking {lacking}")
    print(f"requests made: {report.requests} (target <= {lacking}); summary: {report.summary()}")
    print(f"wall time: {wall:.2f} s (floor {floor:.2f} s = {math.ceil(lacking / 4)} waves x "
          f"({args.latency * 1000:.0f} ms latency + {args.pace:.2f} s pace))")
    print(f"max concurrent requests seen by Spotify: {spotify.max_in_flight}")
    spotify.stop()


if __name__ == "__main__":
    main()
