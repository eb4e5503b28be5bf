"""Listener polling inside a worker process: which owned listeners are polled how often, and
what one poll does around `polling.poll_history` / `poll_realtime` / `playlists.scan_playlists`.

`workers/` owns the generic pool (registry, assignment, `workers.scheduler.Scheduler`); on
every heartbeat it hands the listeners this worker owns to `jobs_for(ids)` and runs
`ListenerPoller` as the scheduler's work. Schedules:
- history and realtime polls every HISTORY_POLL_SECONDS / REALTIME_POLL_SECONDS; a listener
  new to this worker gets its first polls paced at POLL_START_RATE per second (a worker taking
  over thousands of listeners must not call Spotify for all of them at once);
- the daily playlist scan once per PLAYLIST_SCAN_SECONDS, the first one at a random moment of
  that interval, so scans never bunch up.

One poll reads the listener (a stop takes effect at its next poll), calls Spotify through the
worker's shared HTTP session, and stores plays. The bookkeeping every poll used to write on its
own (status processing/running, last poll time) is buffered and written by `flush()` a few
times a second in one statement per kind: a listener only shows "processing" while a call has
been in flight for longer than one flush, which is what the settings menu's "stopping" needs.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import Counter

import requests
from django.conf import settings
from django.db import DatabaseError, close_old_connections
from django.utils import timezone
from requests.adapters import HTTPAdapter

from songhub.signals import announce_library_change
from workers.scheduler import Job, Run

from . import service
from .models import Listener
from .playlists import scan_playlists
from .polling import poll_history, poll_realtime, with_history_cursor
from .spotify import SpotifyClient, SpotifyError

logger = logging.getLogger(__name__)

KINDS = {"history": ("history",), "realtime": ("realtime",), "hybrid": ("history", "realtime")}
WORK = {"history": poll_history, "realtime": poll_realtime, "playlists": scan_playlists}
STAMP = {"history": "last_history_poll", "realtime": "last_realtime_poll"}


def interval(kind: str) -> float:
    return {"history": settings.HISTORY_POLL_SECONDS, "realtime": settings.REALTIME_POLL_SECONDS,
            "playlists": settings.PLAYLIST_SCAN_SECONDS}[kind]


def jobs_for(listener_ids) -> dict[tuple[int, str], Job]:
    """The scheduler's jobs for the listeners this worker owns: (listener id, kind) -> Job."""
    modes = Listener.objects.filter(pk__in=listener_ids).values_list("pk", "mode")
    jobs = {}
    for pk, mode in modes:
        for kind in KINDS.get(mode, ("history",)):
            jobs[(pk, kind)] = Job(interval(kind))
        scan = interval("playlists")
        jobs[(pk, "playlists")] = Job(scan, start_within=scan)
    return jobs


class _TimedSession:
    """The shared session as one poll sees it: the first request marks the run as started."""

    def __init__(self, session: requests.Session, run: Run):
        self._session, self._run = session, run

    def get(self, *args, **kwargs):
        self._run.started()
        return self._session.get(*args, **kwargs)

    def post(self, *args, **kwargs):
        self._run.started()
        return self._session.post(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._session, name)


class ListenerPoller:
    """The scheduler's work (`poller(run)`, run.key = (listener id, kind)) and its `flush`."""

    def __init__(self, threads: int):
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=threads)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        # requests reads the proxy and CA variables from the environment on every call
        # (~0.8 ms of CPU per poll, a third of the total); read them once instead
        self.session.trust_env = False
        self.session.proxies.update(requests.utils.get_environ_proxies(settings.SPOTIFY_API_URL))
        self.session.verify = (os.environ.get("REQUESTS_CA_BUNDLE")
                               or os.environ.get("CURL_CA_BUNDLE") or True)
        self.lock = threading.Lock()
        self.in_flight: Counter = Counter()  # listener id -> polls running now
        self.seen_in_flight: set[int] = set()  # in flight at the previous flush
        self.processing: set[int] = set()  # flushed as PROCESSING, not yet back
        self.finished: set[int] = set()  # a poll ended since the last flush
        self.stamps: dict[str, set[int]] = {field: set() for field in STAMP.values()}
        self.failing = False  # the last flush hit a database error

    def __call__(self, run: Run) -> None:
        listener_id, kind = run.key
        try:
            close_old_connections()
            listeners = Listener.objects.filter(pk=listener_id, enabled=True)
            if kind == "history":
                listeners = with_history_cursor(listeners)
            listener = next(iter(listeners), None)  # (not .first(): no ORDER BY to compile)
            if listener is None:
                return
            client = SpotifyClient(listener, session=_TimedSession(self.session, run))
            with self.lock:
                self.in_flight[listener_id] += 1
            try:
                counted = WORK[kind](client, listener)
            finally:
                with self.lock:
                    self.in_flight[listener_id] -= 1
                    if not self.in_flight[listener_id]:
                        del self.in_flight[listener_id]
                    self.finished.add(listener_id)
            if kind in STAMP:
                with self.lock:
                    self.stamps[STAMP[kind]].add(listener_id)
            if counted:
                announce_library_change("listening")
                logger.info("listener %s: %d new play(s) from %s", listener_id, counted, kind)
        except SpotifyError as exc:
            logger.warning("listener %s %s poll: %s", listener_id, kind, exc)
        except DatabaseError as exc:
            logger.error("listener %s %s poll: database error: %s", listener_id, kind, exc)
        finally:
            close_old_connections()

    def flush(self) -> None:
        """Write the buffered status changes and poll times (a few statements in all). On a
        database error they stay buffered for the next flush."""
        with self.lock:
            now_in_flight = set(self.in_flight)
            to_processing = (now_in_flight & self.seen_in_flight) - self.processing
            self.seen_in_flight = now_in_flight
            done = self.finished - now_in_flight
            self.finished -= done
            stamps = {field: ids for field, ids in self.stamps.items() if ids}
            self.stamps = {field: set() for field in STAMP.values()}
        now = timezone.now()
        try:
            close_old_connections()
            if to_processing:
                service.poll_started(*to_processing)
            if done:
                service.poll_finished(*done)
            for field, ids in stamps.items():
                Listener.objects.filter(pk__in=ids).update(**{field: now})
        except DatabaseError as exc:
            if not self.failing:  # once per outage, not four times a second
                logger.error("could not record poll status, will retry: %s", exc)
            self.failing = True
            with self.lock:
                self.finished |= done
                for field, ids in stamps.items():
                    self.stamps[field] |= ids
            close_old_connections()
            return
        if self.failing:
            logger.info("poll status recorded again")
            self.failing = False
        with self.lock:
            self.processing = (self.processing | to_processing) - done
