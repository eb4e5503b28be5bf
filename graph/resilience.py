"""Polite, bounded outbound HTTP for the graph's sources and enrichment.

- `Breaker(name)`: a circuit breaker shared by every process through the cache (Redis in
  production): after `threshold` consecutive failures it opens for `cooldown` seconds, and
  calls fail fast with `CircuitOpen` until then; one success closes it.
- `pace(name, interval)`: at most one request per `interval` seconds per service across
  processes (a slot claimed with `cache.add`).
- `PoliteClient.get`: descriptive User-Agent, a timeout on every call, `Retry-After` honoured,
  429/503/5xx and network errors retried with exponential backoff and jitter, bounded.
"""

from __future__ import annotations

import logging
import random
import time
from email.utils import parsedate_to_datetime

import requests
from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)


class SourceError(Exception):
    """The service failed for good (after the retries that make sense)."""


class CircuitOpen(SourceError):
    pass


class Breaker:
    def __init__(self, name: str, threshold: int | None = None, cooldown: float | None = None):
        self.name = name
        self.threshold = threshold or settings.GRAPH_BREAKER_THRESHOLD
        self.cooldown = cooldown if cooldown is not None else settings.GRAPH_BREAKER_COOLDOWN_SECONDS
        self._failures, self._open = f"graph:breaker:{name}:failures", f"graph:breaker:{name}:open"

    @property
    def is_open(self) -> bool:
        return bool(cache.get(self._open))

    def check(self) -> None:
        if self.is_open:
            raise CircuitOpen(f"{self.name}: circuit open after repeated failures; "
                              f"retry after {self.cooldown:.0f} s")

    def success(self) -> None:
        cache.delete_many([self._failures, self._open])

    def failure(self) -> None:
        cache.add(self._failures, 0, timeout=max(60, int(self.cooldown * 4)))
        failures = cache.incr(self._failures)
        if failures >= self.threshold:
            logger.warning("%s: circuit opens for %.0f s after %d failures", self.name,
                           self.cooldown, failures)
            cache.set(self._open, 1, timeout=max(1, int(self.cooldown)))

    def state(self) -> dict:
        return {"open": self.is_open, "failures": cache.get(self._failures) or 0}


def pace(name: str, interval: float) -> None:
    """Wait for this service's next free slot (at most one call per `interval`)."""
    if interval <= 0:
        return
    deadline = time.monotonic() + 60
    while not cache.add(f"graph:pace:{name}", 1, timeout=max(1, round(interval))):
        if time.monotonic() > deadline:
            raise SourceError(f"{name}: no request slot within 60 s")
        time.sleep(0.05 + random.random() * 0.1)


def retry_after_seconds(value: str | None, default: float) -> float:
    if not value:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return default


class PoliteClient:
    def __init__(self, name: str, base_url: str, interval: float, headers: dict | None = None,
                 attempts: int = 4, timeout: float | None = None,
                 session: requests.Session | None = None):
        self.name, self.base_url, self.interval = name, base_url.rstrip("/"), interval
        self.headers = {"User-Agent": settings.GRAPH_USER_AGENT, "Accept": "application/json",
                        **(headers or {})}
        self.attempts = attempts
        self.timeout = timeout or settings.GRAPH_HTTP_TIMEOUT_SECONDS
        self.session = session or requests.Session()
        self.breaker = Breaker(name)

    def get(self, path: str, params: dict | None = None) -> dict:
        self.breaker.check()
        for attempt in range(1, self.attempts + 1):
            pace(self.name, self.interval)
            try:
                response = self.session.get(self.base_url + path, params=params,
                                            headers=self.headers, timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout) as exc:
                if attempt == self.attempts:
                    self.breaker.failure()
                    raise SourceError(f"{self.name} unreachable: {exc}") from exc
                self._sleep(attempt)
                continue
            if response.status_code in (429, 503) or response.status_code >= 500:
                if attempt == self.attempts:
                    self.breaker.failure()
                    raise SourceError(f"{self.name} answered {response.status_code} "
                                      f"{self.attempts} times")
                wait = retry_after_seconds(response.headers.get("Retry-After"), 0)
                if wait > settings.GRAPH_MAX_RETRY_AFTER_SECONDS:
                    self.breaker.failure()
                    raise SourceError(f"{self.name} asks to wait {wait:.0f} s; giving up for now")
                time.sleep(wait) if wait else self._sleep(attempt)
                continue
            if response.status_code == 404:
                self.breaker.success()
                return {}
            if response.status_code >= 400:
                raise SourceError(f"{self.name} refused the request: HTTP {response.status_code}")
            try:
                body = response.json()
            except ValueError:
                self.breaker.failure()
                raise SourceError(f"{self.name} answered something that is not JSON") from None
            self.breaker.success()
            return body
        raise SourceError(f"{self.name} kept failing")  # not reached

    @staticmethod
    def _sleep(attempt: int) -> None:
        time.sleep(min(8.0, settings.GRAPH_BACKOFF_SECONDS * 2 ** (attempt - 1))
                   * (0.5 + random.random()))
