"""Karaoke video sources: the providers named in settings.KARAOKE_PROVIDERS, searched together.

`search(query)` asks every provider at once, each within KARAOKE_PROVIDER_TIMEOUT_SECONDS; a
slow or failing provider costs its own results only (listed in `errors`), never the answer.
Results and video URLs are cached in Django's cache (Redis in production) for the TTL each
provider gives, and never when a result says it is not cacheable.
"""

from __future__ import annotations

import hashlib
import logging
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.utils.module_loading import import_string

from .base import (  # noqa: F401  (the package's public names)
    KaraokeEntry,
    KaraokeSourceProvider,
    ProviderError,
    ProviderUnavailable,
    VideoURLResult,
)

logger = logging.getLogger(__name__)
_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="karaoke")
URL_STATS_KEY = "karaoke:url-cache:{}"


@dataclass
class SearchResult:
    entries: list[KaraokeEntry] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"entries": [e.as_dict() for e in self.entries], "errors": self.errors}


def providers() -> dict[str, KaraokeSourceProvider]:
    """provider_id -> configured provider, in the order settings list them."""
    made = {}
    for path in settings.KARAOKE_PROVIDERS:
        provider = import_string(path)()
        if provider.configured():
            made[provider.provider_id] = provider
    return made


def _key(*parts: str) -> str:
    return "karaoke:" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]


def _cache_get(key: str, default=None):
    """The cache is an optimisation: with Redis down, a read is a miss, not an error."""
    try:
        return cache.get(key, default)
    except Exception as exc:  # noqa: BLE001 - any backend failure
        logger.warning("karaoke cache unavailable: %r", exc)
        return default


def _cache_set(key: str, value, ttl) -> None:
    try:
        cache.set(key, value, ttl)
    except Exception as exc:  # noqa: BLE001 - any backend failure
        logger.warning("karaoke cache unavailable: %r", exc)


def _search_one(provider: KaraokeSourceProvider, query: str) -> list[KaraokeEntry]:
    key = _key("search", provider.provider_id, query.casefold())
    cached = _cache_get(key)
    if cached is not None:
        return [KaraokeEntry(**entry) for entry in cached]
    entries = provider.search(query)
    if provider.search_cache_ttl_seconds:
        _cache_set(key, [e.as_dict() for e in entries], provider.search_cache_ttl_seconds)
    return entries


def search(query: str) -> SearchResult:
    """Every provider's entries for `query` (provider order kept), plus what failed."""
    result = SearchResult()
    active = providers()
    futures = {provider_id: _pool.submit(_search_one, provider, query)
               for provider_id, provider in active.items() if provider.remote}
    local = {provider_id: _run_here(_search_one, provider, query)
             for provider_id, provider in active.items() if not provider.remote}
    wait(futures.values(), timeout=settings.KARAOKE_PROVIDER_TIMEOUT_SECONDS)
    for provider_id in active:
        future = futures.get(provider_id) or local[provider_id]
        if not future.done():
            future.cancel()
            result.errors.append({"source": provider_id, "message":
                                  f"{provider_id} did not answer within "
                                  f"{settings.KARAOKE_PROVIDER_TIMEOUT_SECONDS:g} s."})
            continue
        try:
            result.entries += future.result()
        except ProviderError as exc:
            result.errors.append({"source": provider_id, "message": str(exc)})
        except Exception:  # one provider's bug must not cost the others' results
            logger.exception("karaoke provider %s failed", provider_id)
            result.errors.append({"source": provider_id, "message":
                                  f"{provider_id} failed; see the server log."})
    return result


def _run_here(function, *args) -> Future:
    """Run now, in this thread, and hand back a finished Future like the pool's."""
    future: Future = Future()
    try:
        future.set_result(function(*args))
    except Exception as exc:  # reported per provider below, like a pool failure
        future.set_exception(exc)
    return future


def get_video_url(source: str, entry_id: str) -> str | None:
    """The playable URL of one entry, from the cache while its TTL lasts."""
    provider = providers().get(source)
    if provider is None:
        raise ProviderError(f"Unknown source {source!r}.")
    key = _key("url", source, entry_id)
    cached = _cache_get(key)
    if cached is not None:
        _count("hit")
        return cached
    _count("miss")
    answer = provider.get_video_url(entry_id)
    if answer is None:
        return None
    if isinstance(answer, str):
        answer = VideoURLResult(answer)
    if answer.cacheable and answer.cache_ttl_seconds > 0:
        _cache_set(key, answer.video_url, answer.cache_ttl_seconds)
    return answer.video_url


def _count(outcome: str) -> None:
    """Hit/miss counts of the video-URL cache, for /health (the seed's troubleshooting)."""
    key = URL_STATS_KEY.format(outcome)
    try:
        cache.incr(key)
    except ValueError:
        _cache_set(key, 1, None)
    except Exception as exc:  # noqa: BLE001 - statistics never fail a request
        logger.warning("karaoke cache unavailable: %r", exc)


def url_cache_stats() -> dict:
    hits = _cache_get(URL_STATS_KEY.format("hit"), 0)
    misses = _cache_get(URL_STATS_KEY.format("miss"), 0)
    total = hits + misses
    return {"hits": hits, "misses": misses, "hit_rate": round(hits / total, 3) if total else None}
