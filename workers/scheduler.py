"""A periodic job scheduler for one worker process, generic over what a job does.

The caller hands it the whole set of jobs (`set_jobs`): a hashable key and a `Job(interval,
start_within)` each. One dispatcher thread keeps the due times in a heap and submits due runs
to a thread pool, which calls `work(run)`; an optional `flush()` runs every `flush_seconds` on
its own thread so the work can batch its side effects. Which jobs exist and what they do is the
caller's business (`listening/poller.py` for listener polling).

Promises:
- A job already known keeps its phase when the set is replaced. A new job with `start_within`
  first runs at a random moment in `[now, now + start_within)`. Other new jobs are paced: they
  start no faster than `start_rate` per second, in random order, so `n` new jobs have all been
  due within `(n + still waiting) / start_rate` seconds of `set_jobs`.
- A run is due again `interval` after its previous due time (no drift); a job that fell more
  than one interval behind skips the missed rounds instead of piling them up, and a job never
  runs twice at once.
- Lag is how long after its due time the work *really* began: the work calls `run.started()`
  at that moment (the pollers call it when the HTTP call starts), so time spent waiting for a
  free thread counts. Samples are kept as `(monotonic time, lag, first run?)` in `lags`.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from songhub import metrics

logger = logging.getLogger(__name__)


def job_kind(key: Hashable) -> str:
    """The metric label of a job: the text part of a `(id, kind)` key, never the id."""
    if isinstance(key, tuple) and key and isinstance(key[-1], str):
        return key[-1]
    return "job"


@dataclass(frozen=True)
class Job:
    interval: float
    start_within: float | None = None  # None: paced start (see the module docstring)


class Run:
    """One run of one job, handed to the work; `started()` records its lag (once)."""

    __slots__ = ("key", "due", "first", "_scheduler", "_recorded")

    def __init__(self, scheduler: Scheduler, key: Hashable, due: float, first: bool):
        self.key, self.due, self.first = key, due, first
        self._scheduler, self._recorded = scheduler, False

    def started(self) -> None:
        if not self._recorded:
            self._recorded = True
            now = time.monotonic()
            self._scheduler.lags.append((now, now - self.due, self.first))


class Scheduler:
    def __init__(self, work: Callable[[Run], None], *, threads: int, start_rate: float,
                 flush: Callable[[], None] | None = None, flush_seconds: float = 0.25,
                 name: str = "poll"):
        self.work, self.flush, self.flush_seconds = work, flush, flush_seconds
        self.start_rate = start_rate
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix=name)
        self.jobs: dict[Hashable, Job] = {}
        self.due: dict[Hashable, float] = {}
        self.heap: list[tuple[float, int, Hashable]] = []
        self.never_run: set[Hashable] = set()
        self.running: set[Hashable] = set()
        self.paced_until = 0.0  # when the last paced new job is due
        self.lags: deque[tuple[float, float, bool]] = deque(maxlen=200_000)
        self.runs = 0  # finished runs
        self._seq = itertools.count()
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.stop_event = threading.Event()
        self.threads = [threading.Thread(target=self._dispatch, name=f"{name}-dispatch",
                                         daemon=True)]
        if flush is not None:
            self.threads.append(threading.Thread(target=self._flush_loop, name=f"{name}-flush",
                                                 daemon=True))

    def start(self) -> Scheduler:
        for thread in self.threads:
            thread.start()
        return self

    def stop(self) -> None:
        """Stop dispatching, let runs in flight finish, then flush once more."""
        self.stop_event.set()
        self.wake.set()
        self.threads[0].join(timeout=5)  # the dispatcher submits nothing after this
        self.pool.shutdown(wait=True, cancel_futures=True)
        for thread in self.threads[1:]:
            thread.join(timeout=5)
        if self.flush is not None:
            self._flush_once()

    def set_jobs(self, jobs: Mapping[Hashable, Job]) -> None:
        now = time.monotonic()
        with self.lock:
            new = [key for key in jobs if key not in self.due]
            random.shuffle(new)
            paced_from = max(now, self.paced_until)
            paced = 0
            for key in new:
                job = jobs[key]
                if job.start_within is not None:
                    due = now + random.uniform(0, job.start_within)
                else:
                    due = paced_from + paced / self.start_rate
                    paced += 1
                self._schedule(key, due)
                self.never_run.add(key)
            if paced:
                self.paced_until = paced_from + paced / self.start_rate
            for key in self.due.keys() - jobs.keys():
                del self.due[key]  # its heap entry is skipped when popped
                self.never_run.discard(key)
            self.jobs = dict(jobs)
        self.wake.set()

    def pending_starts(self, keys=None) -> int:
        """How many jobs (of `keys`, or all) have not run yet since they were handed over."""
        with self.lock:
            return len(self.never_run if keys is None else self.never_run & set(keys))

    # -- threads ------------------------------------------------------------------------------
    def _schedule(self, key: Hashable, due: float) -> None:
        self.due[key] = due
        heapq.heappush(self.heap, (due, next(self._seq), key))

    def _dispatch(self) -> None:
        while not self.stop_event.is_set():
            now = time.monotonic()
            ready = []
            with self.lock:
                while self.heap and self.heap[0][0] <= now:
                    due, _, key = heapq.heappop(self.heap)
                    if self.due.get(key) != due:
                        continue  # removed or rescheduled
                    interval = self.jobs[key].interval
                    following = due + interval
                    if following <= now:  # more than one round behind: skip, don't pile up
                        following = now + interval
                    self._schedule(key, following)
                    if key in self.running:
                        continue  # still busy with the previous run: this round is skipped
                    self.running.add(key)
                    first = key in self.never_run
                    self.never_run.discard(key)
                    ready.append(Run(self, key, due, first))
                wait = self.heap[0][0] - now if self.heap else 1.0
            for run in ready:
                self.pool.submit(self._run, run)
            self.wake.wait(min(max(wait, 0.0), 1.0))
            self.wake.clear()

    def _run(self, run: Run) -> None:
        try:
            self.work(run)
        except Exception:  # the work handles its own errors; this keeps the pool alive
            logger.exception("job %s crashed", run.key)
        finally:
            metrics.POLL_LAG.labels(job_kind(run.key)).observe(time.monotonic() - run.due)
            with self.lock:
                self.running.discard(run.key)
                self.runs += 1

    def _flush_loop(self) -> None:
        while not self.stop_event.wait(self.flush_seconds):
            self._flush_once()

    def _flush_once(self) -> None:
        try:
            self.flush()
        except Exception:
            logger.exception("flush failed")
