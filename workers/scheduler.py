"""Polls the listeners this worker owns, on their schedules, from one thread pool.

One scheduler per Celery worker process (started by workers.signals): a loop keeps a due time
per (listener, kind) and hands due polls to a small thread pool sharing one HTTP session, so a
process serves many listeners without a thread each. Lag (due -> started) is recorded for
metrics and the polling benchmark.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor

import requests
from django.conf import settings
from django.db import DatabaseError, close_old_connections
from requests.adapters import HTTPAdapter

logger = logging.getLogger(__name__)
FIRST_POLL_SPREAD_SECONDS = 2.0


class PollScheduler:
    def __init__(self, threads: int | None = None):
        self.threads = threads or settings.POLL_THREADS
        self.pool = ThreadPoolExecutor(self.threads, thread_name_prefix="poll")
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=self.threads)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.owned: dict[int, str] = {}  # listener id -> mode
        self.due: dict[tuple[int, str], float] = {}
        self.running: set[tuple[int, str]] = set()
        self.lags: deque[float] = deque(maxlen=10000)
        self.polls = 0
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self.loop, name="songhub-poll-scheduler",
                                       daemon=True)

    def start(self) -> "PollScheduler":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stop_event.set()
        self.pool.shutdown(wait=True, cancel_futures=True)

    def set_owned(self, listeners: dict[int, str]) -> None:
        """listener id -> mode. New ones are due within a few seconds (the daily playlist scan
        within its own interval), spread so a worker that
        takes over hundreds of listeners does not call Spotify for all of them at once."""
        now = time.monotonic()
        with self.lock:
            self.owned = dict(listeners)
            kinds = {(pk, kind) for pk, mode in listeners.items() for kind in kinds_for(mode)}
            self.due = {key: self.due.get(key) or now + random.uniform(
                0, min(interval(key[1]), FIRST_POLL_SPREAD_SECONDS)) for key in kinds}

    def loop(self) -> None:
        while not self.stop_event.wait(0.05):
            now = time.monotonic()
            with self.lock:
                ready = [key for key, due in self.due.items()
                         if due <= now and key not in self.running]
                for key in ready:
                    self.running.add(key)
                    self.lags.append(now - self.due[key])
                    self.due[key] = now + interval(key[1])
            for key in ready:
                self.pool.submit(self.poll, key)

    def poll(self, key: tuple[int, str]) -> None:
        from listening import service
        from listening.models import Listener
        from listening.playlists import scan_playlists
        from listening.polling import poll_history, poll_realtime
        from listening.spotify import SpotifyClient, SpotifyError

        listener_id, kind = key
        try:
            close_old_connections()
            listener = Listener.objects.filter(pk=listener_id, enabled=True).first()
            if listener is None:
                return
            client = SpotifyClient(listener, session=self.session)
            service.poll_started(listener_id)
            try:
                work = {"history": poll_history, "realtime": poll_realtime,
                        "playlists": scan_playlists}[kind]
                counted = work(client, listener)
            finally:
                service.poll_finished(listener_id)
            self.polls += 1
            if counted:
                logger.info("listener %s: %d new play(s) from %s", listener_id, counted, kind)
        except SpotifyError as exc:
            logger.warning("listener %s %s poll: %s", listener_id, kind, exc)
        except DatabaseError as exc:
            logger.error("listener %s %s poll: database error: %s", listener_id, kind, exc)
        except Exception:
            logger.exception("listener %s %s poll crashed", listener_id, kind)
        finally:
            close_old_connections()
            with self.lock:
                self.running.discard(key)


def kinds_for(mode: str) -> tuple[str, ...]:
    polls = {"history": ("history",), "realtime": ("realtime",),
             "hybrid": ("history", "realtime")}.get(mode, ("history",))
    return (*polls, "playlists")


def interval(kind: str) -> float:
    return {"history": settings.HISTORY_POLL_SECONDS, "realtime": settings.REALTIME_POLL_SECONDS,
            "playlists": settings.PLAYLIST_SCAN_SECONDS}[kind]
