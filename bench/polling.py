#!/usr/bin/env python
"""Polling benchmark: one worker's poll scheduler (workers.scheduler + listening.poller, as a
Celery worker runs them) against the loopback Spotify with --latency added to every call.

The fake Spotify runs in its own process, as the real one would, so this process's CPU is the
worker's alone. Lag is measured from a poll's due time to the start of its HTTP call. Reported
for the first round (from the start until every listener has been polled once) and after
warm-up (from then on): lag p50/p95/p99, polls/s against what the schedule needs, and worker
CPU per poll. Target: 5,000 history + 500 realtime listeners, lag p95 <= 1 s after warm-up and
<= 5 s in the first round.

History listeners poll every HISTORY_POLL_SECONDS (1,200 s in production); the bench shortens it
(--history-interval, default 60 s, 20x the production load) so a run covers several rounds.
"""

import argparse
import multiprocessing
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _django  # noqa: E402

TRACK = "t" * 22


def serve_spotify(conn, latency: float, users: int) -> None:
    """Child process: the loopback Spotify with `users` linked users, until told to stop."""
    from tests.fakes.spotify import FakeSpotify

    fake = FakeSpotify(latency=latency)
    fake.add_track(TRACK, "Song", [("a" * 22, "Artist")])
    for n in range(users):
        fake.users[f"refresh-{n}"] = {"id": f"user{n}", "display_name": f"user{n}"}
        fake.access[f"access-{n}"] = f"refresh-{n}"
    conn.send((fake.url, fake.client_id, fake.client_secret))
    conn.recv()
    conn.send(sum(fake.counts.values()))
    fake.stop()


def percentiles(values: list[float]) -> str:
    if not values:
        return "no samples"
    values = sorted(values)

    def pick(q):
        return values[min(len(values) - 1, int(q * len(values)))] * 1000

    return f"p50 {pick(0.5):.0f} ms, p95 {pick(0.95):.0f} ms, p99 {pick(0.99):.0f} ms"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--history", type=int, default=5000)
    parser.add_argument("--realtime", type=int, default=500)
    parser.add_argument("--history-interval", type=float, default=60.0)
    parser.add_argument("--realtime-interval", type=float, default=5.0)
    parser.add_argument("--seconds", type=float, default=75.0,
                        help="how long to measure after the first round")
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--start-rate", type=float, default=None,
                        help="first polls per second (default: POLL_START_RATE)")
    args = parser.parse_args()
    total = args.history + args.realtime

    parent, child = multiprocessing.get_context("spawn").Pipe()
    server = multiprocessing.get_context("spawn").Process(
        target=serve_spotify, args=(child, args.latency, total), daemon=True)
    server.start()
    url, client_id, client_secret = parent.recv()

    _django.setup("polling")
    from songhub.celery import use_direct_connections

    use_direct_connections()  # the database setup of a real worker process
    from datetime import timedelta

    from django.conf import settings
    from django.utils import timezone

    from listening.crypto import encrypt
    from listening.models import Listener
    from listening.poller import ListenerPoller, jobs_for
    from workers.scheduler import Scheduler

    settings.SPOTIFY_API_URL = settings.SPOTIFY_ACCOUNTS_URL = url
    settings.SPOTIFY_CLIENT_ID, settings.SPOTIFY_CLIENT_SECRET = client_id, client_secret
    settings.HISTORY_POLL_SECONDS = args.history_interval
    settings.REALTIME_POLL_SECONDS = args.realtime_interval
    start_rate = args.start_rate or settings.POLL_START_RATE
    expires = timezone.now() + timedelta(hours=2)
    refresh = encrypt("unused")  # the fake accepts every access token it issued below
    Listener.objects.bulk_create(
        [Listener(spotify_id=f"user{n}", mode="history" if n < args.history else "realtime",
                  app_client_id=client_id, access_token_encrypted=encrypt(f"access-{n}"),
                  refresh_token_encrypted=refresh, expires_at=expires, status_song=1)
         for n in range(total)], batch_size=1000)
    jobs = jobs_for(Listener.objects.values_list("pk", flat=True))

    poller = ListenerPoller(threads=args.threads)
    scheduler = Scheduler(poller, flush=poller.flush, threads=args.threads,
                          start_rate=start_rate).start()
    t0 = time.monotonic()
    scheduler.set_jobs(jobs)
    pollable = {key for key, job in jobs.items() if job.start_within is None}
    while scheduler.pending_starts(pollable):  # (playlist scans are spread over a day)
        time.sleep(0.2)
    first_done = time.monotonic()
    runs0, cpu0 = scheduler.runs, time.process_time()
    time.sleep(args.seconds)
    wall, cpu = time.monotonic() - first_done, time.process_time() - cpu0
    polls = scheduler.runs - runs0
    samples = list(scheduler.lags)
    scheduler.stop()
    parent.send("stop")
    served = parent.recv()
    server.join(timeout=10)

    first = [lag for at, lag, _ in samples if at <= first_done]
    steady = [lag for at, lag, _ in samples if at > first_done]
    needed = args.history / args.history_interval + args.realtime / args.realtime_interval
    load = os.getloadavg()
    print(f"listeners: {args.history} history (every {args.history_interval:.0f} s) + "
          f"{args.realtime} realtime (every {args.realtime_interval:.0f} s), "
          f"{args.latency * 1000:.0f} ms per Spotify call, {args.threads} threads, "
          f"first polls at {start_rate:.0f}/s, "
          f"db={settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}")
    print(f"first round ({first_done - t0:.1f} s, floor {len(pollable) / start_rate:.1f} s): "
          f"lag {percentiles(first)} over {len(first)} calls")
    print(f"after warm-up ({wall:.0f} s): lag {percentiles(steady)} over {len(steady)} calls; "
          f"polls/s {polls / wall:.1f} (schedule needs {needed:.1f}); "
          f"worker CPU per poll {cpu / max(polls, 1) * 1000:.2f} ms "
          f"({cpu / wall * 100:.0f} % of a core)")
    print(f"spotify answered {served} requests; {os.cpu_count()} CPUs, load average "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
