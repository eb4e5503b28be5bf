"""Demo analytics for a fresh machine: a generated sample Spotify export and a listener loaded
from it, so the dashboard shows something before anyone links Spotify or imports real data.

The export is invented (made-up artists, tracks and ids), deterministic for a given seed and
shaped like Spotify's Extended Streaming History (`Streaming_History_Audio_*.json` records,
including a few skips and podcast episodes the import filters). Loading it goes through the
normal import (`history_import`), so it exercises the same code a user's export does, and is
idempotent: loading twice adds nothing.
"""

from __future__ import annotations

import json
import random
import string
import zipfile
from datetime import datetime, timedelta, timezone as dt_timezone
from pathlib import Path

from django.contrib.auth import get_user_model

from . import history_import, service
from .models import Listener

DEMO_USERNAME = "demo-listener"
ARTISTS = ["The Paper Lanterns", "Mara Quell", "Northbound Choir", "Juniper & Ash", "Oskar Vale",
           "The Slow Tides", "Lumen Park", "Ada Rook", "Copper Hymnal", "Wren Atlas"]
WORDS = ["Morning", "River", "Glass", "Harbor", "Ember", "Quiet", "Lantern", "Meadow", "Echo",
         "Silver", "Northern", "Hollow", "Amber", "Paper", "Hymn", "Light"]


def write_sample_export(path, plays: int = 3000, seed: int = 1, days: int = 120,
                        now: datetime | None = None) -> Path:
    """Write an invented export with about `plays` music plays over the last `days` days."""
    rng = random.Random(seed)
    now = now or datetime.now(dt_timezone.utc)
    tracks = []
    for artist in ARTISTS:
        for _ in range(rng.randint(4, 8)):
            track_id = "".join(rng.choices(string.ascii_letters + string.digits, k=22))
            tracks.append((track_id, f"{rng.choice(WORDS)} {rng.choice(WORDS)}", artist))
    weights = [1 / (rank + 1) for rank in range(len(tracks))]  # a few favourites
    hours = [1, 0, 0, 0, 0, 0, 1, 3, 4, 3, 2, 2, 3, 2, 2, 3, 4, 5, 6, 7, 8, 7, 5, 3]
    records = []
    for _ in range(plays):
        track_id, name, artist = rng.choices(tracks, weights)[0]
        day = now - timedelta(days=rng.random() * days)
        moment = day.replace(hour=rng.choices(range(24), hours)[0], minute=rng.randrange(60),
                             second=rng.randrange(60), microsecond=0)
        if moment > now:
            moment -= timedelta(days=1)
        records.append(_record(moment, track_id, name, artist, rng.randint(45_000, 260_000)))
    for _ in range(plays // 20):  # skips and podcasts, which the import filters
        moment = now - timedelta(days=rng.random() * days)
        track_id, name, artist = rng.choice(tracks)
        records.append(_record(moment, track_id, name, artist, rng.randint(1_000, 20_000)))
    records.sort(key=lambda r: r["ts"])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("Spotify Extended Streaming History/Streaming_History_Audio_demo.json",
                         json.dumps(records))
    return path


def _record(moment: datetime, track_id: str, name: str, artist: str, ms: int) -> dict:
    return {"ts": moment.strftime("%Y-%m-%dT%H:%M:%SZ"), "platform": "demo", "ms_played": ms,
            "conn_country": "ZZ", "master_metadata_track_name": name,
            "master_metadata_album_artist_name": artist,
            "master_metadata_album_album_name": f"{artist} (demo)",
            "spotify_track_uri": f"spotify:track:{track_id}", "episode_name": None,
            "reason_start": "trackdone", "reason_end": "trackdone", "shuffle": False,
            "skipped": ms < 30_000, "offline": False, "incognito_mode": False}


def load_demo_listener(path, user=None) -> Listener:
    """Import the export at `path` into `user`'s listener (a listener made for imports if it
    has none); without `user`, into the listener of a demo user that cannot log in."""
    if user is None:
        user, created = get_user_model().objects.get_or_create(username=DEMO_USERNAME)
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
    listener = service.listener_for(user)
    analysis = history_import.analyze(path, listener)
    history_import.execute(listener, analysis)
    return listener


def bootstrap(data_dir: Path, username: str) -> str:
    """For `bootstrap_demo --demo-analytics`: generate the sample export under `data_dir` once
    and load it into `username`'s listener. Returns a line for the command's output."""
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        return f"Demo analytics: no user {username!r}; skipped."
    existing = Listener.objects.filter(user=user).first()
    if existing is not None and existing.events.exists():
        return f"Demo analytics: {username!r} already has plays; left alone."
    path = Path(data_dir) / "demo" / "my_spotify_data_sample.zip"
    if not path.exists():
        write_sample_export(path)
    listener = load_demo_listener(path, user)
    return (f"Demo analytics: {listener.events.count()} sample plays loaded for {username!r} "
            "(see /analytics/).")
