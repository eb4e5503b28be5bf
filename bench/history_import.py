#!/usr/bin/env python
"""Historical import benchmark: a synthetic export of 150,000 plays over 5 years, plus 20% of
plays overlapping what is already stored. Reports analyze time, import time and plays/s.
Targets (PostgreSQL): analyze <= 10 s and import <= 30 s for 150,000 plays.
Also checks the artist linker's request count: <= ceil(n / 50) track requests for n tracks.
"""

import argparse
import json
import os
import math
import random
import sys
import time
import zipfile
from datetime import datetime, timedelta, timezone as dt_timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _django  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--plays", type=int, default=150_000)
    parser.add_argument("--tracks", type=int, default=8_000)
    parser.add_argument("--overlap", type=float, default=0.2)
    args = parser.parse_args()

    _django.setup("history")
    from django.conf import settings

    from listening import history_import, linker
    from listening.models import ListeningEvent, Listener, Track
    from tests.fakes.spotify import FakeSpotify

    rng = random.Random(3)
    start = datetime(2021, 1, 1, tzinfo=dt_timezone.utc)
    span = 5 * 365 * 86400
    moments = sorted(rng.sample(range(span), args.plays))
    records = []
    for second in moments:
        track = rng.randrange(args.tracks)
        records.append({
            "ts": (start + timedelta(seconds=second)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "ms_played": rng.choice([15_000, 200_000, 240_000, 180_000]),
            "master_metadata_track_name": f"Track {track}",
            "master_metadata_album_artist_name": f"Artist {track % 900}",
            "master_metadata_album_album_name": f"Album {track % 2000}",
            "spotify_track_uri": f"spotify:track:{track:022d}", "episode_name": None,
            "incognito_mode": False, "skipped": False, "platform": "android",
            "conn_country": "US", "reason_end": "trackdone"})
    folder = _django.scratch("history-export")
    path = folder / "my_spotify_data.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        per_year: dict[str, list] = {}
        for record in records:
            per_year.setdefault(record["ts"][:4], []).append(record)
        for year, items in per_year.items():
            archive.writestr(f"Spotify Extended Streaming History/Streaming_History_Audio_{year}.json",
                             json.dumps(items))

    listener = Listener.objects.create(spotify_id="bench")
    overlap = rng.sample([r for r in records if r["ms_played"] >= 30_000],
                         int(args.plays * args.overlap))
    Track.objects.bulk_create([Track(id=f"{t:022d}", name=f"Track {t}")
                               for t in range(args.tracks)], ignore_conflicts=True)
    drift = [0, 0, 0, 120, -200]  # some stored plays differ from the export by seconds
    ListeningEvent.objects.bulk_create([
        ListeningEvent(listener=listener, track_id=r["spotify_track_uri"][14:],
                       played_at=datetime.fromisoformat(r["ts"].replace("Z", "+00:00"))
                       + timedelta(seconds=rng.choice(drift))) for r in overlap],
        batch_size=5000, ignore_conflicts=True)
    print(f"load: {os.getloadavg()[0]:.2f} (1 min)")
    print(f"export: {args.plays} plays, {args.tracks} tracks, {path.stat().st_size // 1024} KiB "
          f"zipped; {len(overlap)} plays already stored; db="
          f"{settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}")

    started = time.perf_counter()
    analysis = history_import.analyze(path, listener)
    analyze_s = time.perf_counter() - started
    print(f"analyze: {analyze_s:.1f} s -> {json.dumps(analysis.as_dict()['duplicates'])}, "
          f"filtered {sum(analysis.filtered.values())}, to import {analysis.to_import}")
    started = time.perf_counter()
    stored = history_import.execute(listener, analysis)
    import_s = time.perf_counter() - started
    print(f"import: {import_s:.1f} s, {stored / import_s:.0f} plays/s "
          f"({ListeningEvent.objects.count()} events now)")

    spotify = FakeSpotify()
    settings.SPOTIFY_API_URL = settings.SPOTIFY_ACCOUNTS_URL = spotify.url
    settings.SPOTIFY_CLIENT_ID, settings.SPOTIFY_CLIENT_SECRET = (spotify.client_id,
                                                                 spotify.client_secret)
    settings.SPOTIFY_CLIENT_MODE = "extended"  # batches; bench/link_artists.py: development
    refresh = spotify.add_user("bench")
    listener.set_tokens("x", refresh, None)
    listener.app_client_id = spotify.client_id
    listener.save()
    for t in range(args.tracks):
        spotify.add_track(f"{t:022d}", f"Track {t}", [(f"{t % 900:022d}", f"Artist {t % 900}")])
    started = time.perf_counter()
    report = linker.link_artists(pace_seconds=0)
    n = report.total_processed
    print(f"artist linker: {n} tracks in {time.perf_counter() - started:.1f} s with "
          f"{spotify.counts['/v1/tracks']} track requests (ceil(n/50) = {math.ceil(n / 50)})")
    spotify.stop()


if __name__ == "__main__":
    main()
