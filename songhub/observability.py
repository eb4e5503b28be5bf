"""Thin Django adapters over songhub.metrics: the request middleware, the `/metrics` view and
cache backends that count hits and misses."""

import threading
import time

from django.conf import settings
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.http import HttpResponse
from django.views.decorators.cache import never_cache

from . import metrics


class MetricsMiddleware:
    """Counts every request by URL name (never by path: paths carry ids) and status."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        view = (match.view_name or "unnamed") if match else "unmatched"
        metrics.record_http(view, request.method if request.method in KNOWN_METHODS else "other",
                            response.status_code, time.perf_counter() - started)
        return response


KNOWN_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


@never_cache
def metrics_view(request):
    """Prometheus scrape endpoint; refuses anyone without METRICS_TOKEN (never public)."""
    if not metrics.token_ok(request.headers.get("Authorization"), settings.METRICS_TOKEN):
        response = HttpResponse("metrics need the bearer token (METRICS_TOKEN)\n",
                                status=401, content_type="text/plain")
        response["WWW-Authenticate"] = "Bearer"
        return response
    return HttpResponse(metrics.exposition(with_database=True),
                        content_type=metrics.CONTENT_TYPE_LATEST)


class _CountingCache:
    """Counts reads as hit or miss; a sentinel tells a stored None from a miss."""

    _missing = object()

    def get(self, key, default=None, version=None):
        value = super().get(key, self._missing, version)
        metrics.CACHE_REQUESTS.labels("miss" if value is self._missing else "hit").inc()
        return default if value is self._missing else value


class SharedPoolRedisClient(RedisCacheClient):
    """One connection pool per Redis URL per process. Django keeps a cache object per thread,
    each with its own pool; under daphne every request runs in a new thread, so the stock
    client leaked one Redis connection per request that touched the cache."""

    _shared: dict = {}
    _lock = threading.Lock()

    def _get_connection_pool(self, write):
        url = self._servers[self._get_connection_pool_index(write)]
        with self._lock:
            if url not in self._shared:
                self._shared[url] = self._pool_class.from_url(url, **self._pool_options)
            return self._shared[url]


class CountingRedisCache(_CountingCache, RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = SharedPoolRedisClient


class CountingLocMemCache(_CountingCache, LocMemCache):
    pass
