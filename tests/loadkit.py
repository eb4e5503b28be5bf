"""Load-test tools shared by the connection, load and fault tests: concurrent HTTP clients
against a real server, and a sampler of the PostgreSQL connections a process holds."""

from __future__ import annotations

import http.client
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit


def tagged_env(env: dict, application_name: str) -> dict:
    """`env` with DATABASE_URL tagged so pg_stat_activity shows whose connections they are."""
    env = dict(env)
    sep = "&" if "?" in env["DATABASE_URL"] else "?"
    env["DATABASE_URL"] += f"{sep}application_name={application_name}"
    return env


@dataclass
class Result:
    statuses: list[int] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # (method path status body) of 5xx / errors

    def p(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def hammer(base_url: str, requests: list[tuple], concurrency: int, headers=None,
           timeout=30.0) -> Result:
    """Send every (method, path[, body[, headers]]) of `requests` from `concurrency` keep-alive
    clients; `headers` go with every request."""
    parts = urlsplit(base_url)
    result, lock, cursor = Result(), threading.Lock(), iter(requests)

    def client():
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        while True:
            with lock:
                item = next(cursor, None)
            if item is None:
                break
            method, path, body, extra = (*item, None, None)[:4]
            started = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers={**(headers or {}), **(extra or {})})
                response = conn.getresponse()
                text = response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
                status, text = 0, repr(exc).encode()
            elapsed = time.perf_counter() - started
            with lock:
                result.statuses.append(status)
                result.latencies.append(elapsed)
                if status == 0 or status >= 500:
                    result.failures.append(f"{method} {path} {status} {text[:300]!r}")
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return result


class ConnectionSampler:
    """Counts, every `interval` seconds, the connections to `dbname` whose application_name
    starts with `prefix`, from a connection of its own (not counted). `peak` is the maximum."""

    def __init__(self, dsn: str, dbname: str, prefix: str, interval=0.05):
        import psycopg

        self.conn = psycopg.connect(dsn, autocommit=True)
        self.dbname, self.prefix, self.interval = dbname, prefix, interval
        self.samples: list[int] = []
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def count(self) -> int:
        row = self.conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
            "AND application_name LIKE %s AND pid <> pg_backend_pid()",
            [self.dbname, self.prefix + "%"]).fetchone()
        return row[0]

    def run(self):
        while not self.stop_event.wait(self.interval):
            self.samples.append(self.count())

    @property
    def peak(self) -> int:
        return max(self.samples, default=0)

    def __enter__(self) -> "ConnectionSampler":
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_event.set()
        self.thread.join()
        self.conn.close()


def admin_dsn() -> tuple[str, str]:
    """(dsn, database name) of the test database, for a sampler's own connection."""
    from django.db import connection

    db = connection.settings_dict
    dsn = (f"host={db['HOST'] or '127.0.0.1'} port={db['PORT'] or 5432} user={db['USER']} "
           f"dbname={db['NAME']}" + (f" password={db['PASSWORD']}" if db["PASSWORD"] else ""))
    return dsn, db["NAME"]
