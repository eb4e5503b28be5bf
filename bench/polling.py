#!/usr/bin/env python
"""Polling benchmark: one worker's PollScheduler against the loopback Spotify with 50 ms added
latency per call. Reports polls/s, schedule lag (due -> call start) p50/p95 and CPU per poll.
Target: >= 1,000 history listeners and >= 200 realtime listeners on schedule, p95 lag <= 1 s.

History listeners poll every HISTORY_POLL_SECONDS (1,200 s in production); the bench keeps the
production ratio but shortens both intervals (--history-interval, default 60 s) so a run of
--seconds covers several rounds.
"""

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _django  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--history", type=int, default=1000)
    parser.add_argument("--realtime", type=int, default=200)
    parser.add_argument("--history-interval", type=float, default=60.0)
    parser.add_argument("--realtime-interval", type=float, default=5.0)
    parser.add_argument("--seconds", type=float, default=45.0)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--threads", type=int, default=16)
    args = parser.parse_args()

    _django.setup("polling")
    from django.conf import settings
    from django.utils import timezone

    from listening.models import Listener
    from tests.fakes.spotify import FakeSpotify
    from workers.scheduler import PollScheduler

    spotify = FakeSpotify(latency=args.latency)
    settings.SPOTIFY_API_URL = settings.SPOTIFY_ACCOUNTS_URL = spotify.url
    settings.SPOTIFY_CLIENT_ID, settings.SPOTIFY_CLIENT_SECRET = (spotify.client_id,
                                                                 spotify.client_secret)
    settings.HISTORY_POLL_SECONDS = args.history_interval
    settings.REALTIME_POLL_SECONDS = args.realtime_interval
    spotify.add_track("t" * 22, "Song", [("a" * 22, "Artist")])
    modes = {}
    expires = timezone.now() + timedelta(hours=2)
    for n in range(args.history + args.realtime):
        mode = "history" if n < args.history else "realtime"
        refresh = spotify.add_user(f"user{n}")
        access = f"access-{n}"
        spotify.access[access] = refresh
        listener = Listener(spotify_id=f"user{n}", mode=mode, app_client_id=spotify.client_id)
        listener.set_tokens(access, refresh, expires)
        listener.save()
        modes[listener.pk] = mode
        spotify.now_playing(f"user{n}", None)

    scheduler = PollScheduler(threads=args.threads).start()
    wall0 = time.perf_counter()
    scheduler.set_owned(modes)
    warmup = 5.0
    time.sleep(warmup)
    lag_mark, polls0, cpu1 = len(scheduler.lags), scheduler.polls, time.process_time()
    time.sleep(args.seconds - warmup)
    wall = time.perf_counter() - wall0 - warmup
    polls = scheduler.polls - polls0
    cpu = time.process_time() - cpu1
    lags = sorted(list(scheduler.lags)[lag_mark:])
    scheduler.stop()
    spotify.stop()
    expected = args.history / args.history_interval + args.realtime / args.realtime_interval
    p95 = lags[int(0.95 * (len(lags) - 1))] if lags else float("nan")
    print(f"listeners: {args.history} history (every {args.history_interval:.0f} s) + "
          f"{args.realtime} realtime (every {args.realtime_interval:.0f} s), "
          f"{args.latency * 1000:.0f} ms per Spotify call, {args.threads} threads, "
          f"db={settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}")
    print(f"polls/s {polls / wall:.1f} (schedule needs {expected:.1f}); lag p50 "
          f"{statistics.median(lags) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms; "
          f"CPU per poll {cpu / max(polls, 1) * 1000:.2f} ms")
    scale = 1200 / args.history_interval
    print(f"at production intervals (history 1,200 s) this process would carry about "
          f"{int(args.history * scale)} history listeners alongside {args.realtime} realtime ones")
    print(f"({os.cpu_count()} CPUs; total polls measured {polls})")


if __name__ == "__main__":
    main()
