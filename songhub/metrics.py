"""Prometheus metrics: the one place where every series songhub exports is defined.

Code that does the work records into the objects below (`metrics.WS_CONNECTIONS.inc()`); the
web process serves them at `/metrics` and a Celery worker on its own port (WORKER_METRICS_PORT),
both behind METRICS_TOKEN. Processes that fork (the Celery prefork pool) need
PROMETHEUS_MULTIPROC_DIR set before start: every process then writes its values to files there
and the exposition sums them (prometheus_client's multi-process mode).

Facts that live in the database (workers, rooms, running jobs) are read at scrape time by
`DatabaseCollector`, only where it is registered (the web process), so replicas agree on them.
Labels never carry ids or user names: views by URL name, endpoints by template, jobs by kind.
"""

from __future__ import annotations

import glob
import hmac
import logging
import os
import threading
import time
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

logger = logging.getLogger(__name__)
MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
if MULTIPROCESS:  # every process writes its values there from its first metric on
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

# --- web ---------------------------------------------------------------------------------------
HTTP_REQUESTS = Counter("songhub_http_requests", "HTTP requests by view and status",
                        ["view", "method", "status"])
HTTP_LATENCY = Histogram("songhub_http_request_duration_seconds", "HTTP request latency",
                         ["view"], buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))
CACHE_REQUESTS = Counter("songhub_cache_requests", "Django cache reads", ["result"])

# --- rooms -------------------------------------------------------------------------------------
WS_CONNECTIONS = Gauge("songhub_ws_connections", "Open room WebSocket connections",
                       multiprocess_mode="livesum")
ROOM_EVENTS = Counter("songhub_room_events_broadcast", "Room events broadcast", ["event"])
ROOM_BROADCAST_FAILURES = Counter("songhub_room_broadcast_failures",
                                  "Room broadcasts the channel layer refused")
ROOM_FANOUT = Histogram("songhub_room_fanout_seconds",
                        "Broadcast sent -> frame written to a local client",
                        buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5))
WS_RATE_LIMITED = Counter("songhub_ws_rate_limited_frames", "WebSocket frames refused by the rate limit")

# --- workers -----------------------------------------------------------------------------------
POLL_LAG = Histogram("songhub_poll_lag_seconds", "Listener poll: due -> done", ["kind"],
                     buckets=(.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300))
SPOTIFY_CALLS = Counter("songhub_spotify_calls", "Spotify Web API calls", ["endpoint", "status"])
SPOTIFY_TOKEN_REFRESHES = Counter("songhub_spotify_token_refreshes", "Spotify token refreshes")
LINKER_REQUESTS = Counter("songhub_linker_requests", "Artist linker requests to Spotify", ["mode"])

# --- jobs --------------------------------------------------------------------------------------
JOB_RUNS = Counter("songhub_job_runs", "Finished job runs", ["job", "outcome"])
JOB_DURATION = Histogram("songhub_job_duration_seconds", "Job run duration", ["job"],
                         buckets=(.1, .5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600))
JOB_ITEMS = Counter("songhub_job_items", "Items processed by jobs", ["job"])


def record_job(job: str, outcome: str, seconds: float, items: int = 0) -> None:
    """One finished run of a sync or import (outcome: succeeded | failed | partial …)."""
    JOB_RUNS.labels(job, outcome).inc()
    JOB_DURATION.labels(job).observe(max(0.0, seconds))
    if items:
        JOB_ITEMS.labels(job).inc(items)


def record_http(view: str, method: str, status: int, seconds: float) -> None:
    HTTP_REQUESTS.labels(view, method, str(status)).inc()
    HTTP_LATENCY.labels(view).observe(seconds)


class DatabaseCollector:
    """Cluster-wide facts read from the database at scrape time (registered in the web process)."""

    def collect(self):
        from django.db import DatabaseError

        try:
            yield from self._collect()
        except DatabaseError as exc:  # a scrape during an outage still returns process metrics
            logger.warning("metrics: database facts unavailable: %s", exc)
            up = GaugeMetricFamily("songhub_database_up", "Database reachable at scrape time")
            up.add_metric([], 0)
            yield up

    def _collect(self):
        from django.db.models import Count, Min

        from workers.models import Worker

        up = GaugeMetricFamily("songhub_database_up", "Database reachable at scrape time")
        up.add_metric([], 1)
        yield up

        live = Worker.objects.live()
        workers = GaugeMetricFamily("songhub_workers", "Live workers by health", labels=["state"])
        unhealthy = live.filter(healthy=False).count()
        workers.add_metric(["healthy"], live.count() - unhealthy)
        workers.add_metric(["unhealthy"], unhealthy)
        yield workers

        from listening.models import Listener

        per_worker = list(live.annotate(n=Count("listeners")).values_list("n", flat=True)) or [0]
        listeners = GaugeMetricFamily("songhub_worker_listeners", "Listeners per live worker",
                                      labels=["stat"])
        listeners.add_metric(["max"], max(per_worker))
        listeners.add_metric(["min"], min(per_worker))
        listeners.add_metric(["total"], Listener.objects.count())
        yield listeners

        from rooms.models import Room

        rooms = GaugeMetricFamily("songhub_rooms_open", "Open rooms")
        rooms.add_metric([], Room.objects.filter(closed_at__isnull=True).count())
        yield rooms

        running = GaugeMetricFamily("songhub_runs_running", "Job runs now running", labels=["job"])
        age = GaugeMetricFamily("songhub_runs_running_oldest_age_seconds",
                                "Age of the oldest running run (stuck runs alert on this)",
                                labels=["job"])
        now = time.time()
        for job, queryset, started in running_runs():
            stats = queryset.aggregate(n=Count("pk"), oldest=Min(started))
            running.add_metric([job], stats["n"])
            oldest = stats["oldest"]
            age.add_metric([job], now - oldest.timestamp() if oldest else 0)
        yield running
        yield age

        pool = GaugeMetricFamily("songhub_db_pool_connections", "This process's database pool",
                                 labels=["state"])
        for state, value in db_pool_stats().items():
            pool.add_metric([state], value)
        yield pool


def running_runs():
    """(job, queryset of running rows, start-time field) for every kind of run songhub keeps."""
    from ingestion.models import SyncRun
    from listening.models import ImportJob

    yield "song_sync", SyncRun.objects.filter(status="running"), "started_at"
    yield "history_import", ImportJob.objects.filter(status="running"), "created_at"
    from charts.models import ChartImportJob, ChartSyncRun

    yield "chart_sync", ChartSyncRun.objects.filter(status="running"), "started_at"
    yield "chart_import", ChartImportJob.objects.filter(status="running"), "created_at"


def db_pool_stats() -> dict[str, int]:
    """in_use / idle / max of psycopg's pool in this process (zeros without a pool)."""
    from django.db import connection

    pool = getattr(connection, "pool", None) if connection.vendor == "postgresql" else None
    if pool is None:
        return {"in_use": 0, "idle": 0, "max": 0}
    stats = pool.get_stats()
    size, idle = stats.get("pool_size", 0), stats.get("pool_available", 0)
    return {"in_use": size - idle, "idle": idle, "max": stats.get("pool_max", 0)}


_db_collector_registered = threading.Lock()
_db_collector = {"done": False}


class SettledFilesCollector(multiprocess.MultiProcessCollector):
    """MultiProcessCollector without the files a process has created but not yet sized: such a
    file is 0 bytes for a moment (a prefork child's first metric), and reading it fails the
    whole scrape with struct.error (prometheus/client_python#1199)."""

    def collect(self):
        files = []
        for path in glob.glob(os.path.join(self._path, "*.db")):
            try:
                if os.path.getsize(path) > 0:
                    files.append(path)
            except FileNotFoundError:  # a dead process's live gauge, just removed
                pass
        return self.merge(files, accumulate=True)


def exposition(with_database: bool) -> bytes:
    """The text format for a scrape: every process's values, plus database facts if asked."""
    if MULTIPROCESS:
        registry = CollectorRegistry()
        SettledFilesCollector(registry)
    else:
        registry = REGISTRY
    if with_database:
        if registry is REGISTRY:
            with _db_collector_registered:
                if not _db_collector["done"]:
                    REGISTRY.register(DatabaseCollector())
                    _db_collector["done"] = True
        else:
            registry.register(DatabaseCollector())
    return generate_latest(registry)


def token_ok(header: str | None, token: str) -> bool:
    """`Authorization: Bearer <token>`; an empty configured token refuses everyone."""
    if not token or not header or not header.startswith("Bearer "):
        return False
    return hmac.compare_digest(header[7:].strip().encode(), token.encode())


def serve_worker_metrics(port: int, token: str, bind: str = "0.0.0.0"):
    """Serve this worker's (and its pool children's) metrics on `port` from a daemon thread."""

    def app(environ, start_response):
        if environ.get("PATH_INFO") != "/metrics":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found\n"]
        if not token_ok(environ.get("HTTP_AUTHORIZATION"), token):
            start_response("401 Unauthorized", [("Content-Type", "text/plain"),
                                                ("WWW-Authenticate", "Bearer")])
            return [b"metrics need the bearer token (METRICS_TOKEN)\n"]
        start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
        return [exposition(with_database=False)]

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, *args):  # scrapes every 15 s would drown the worker's log
            pass

    server = make_server(bind, port, app, handler_class=QuietHandler)
    threading.Thread(target=server.serve_forever, name="songhub-metrics", daemon=True).start()
    logger.info("worker metrics on %s:%s/metrics", bind, port)
    return server
