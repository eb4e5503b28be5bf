"""YouTube Data API v3 as a karaoke source: `search.list` (embeddable videos for
"<query> karaoke") plus one `videos.list` for their durations; the embed URL is resolved lazily.

A spent quota (403 quotaExceeded / dailyLimitExceeded) switches the provider off until YouTube
resets quotas (midnight, Pacific time) instead of failing every search until then.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import requests
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from .base import KaraokeEntry, KaraokeSourceProvider, ProviderError, ProviderUnavailable, VideoURLResult

DISABLED_KEY = "karaoke:youtube:disabled-until"
QUOTA_REASONS = {"quotaExceeded", "dailyLimitExceeded", "rateLimitExceeded"}
_DURATION = re.compile(r"P(?:(\d+)D)?T?(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?$")


def parse_duration(text: str) -> float | None:
    """ISO 8601 `PT4M13S` -> 253.0 seconds."""
    match = _DURATION.match(text or "")
    if not match or not any(match.groups()):
        return None
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return float(((days * 24 + hours) * 60 + minutes) * 60 + seconds)


def split_title(title: str) -> tuple[str, str]:
    """"Artist - Title (Karaoke Version)" -> ("Artist", "Title (Karaoke Version)")."""
    artist, sep, rest = title.partition(" - ")
    return (artist.strip(), rest.strip()) if sep and rest.strip() else ("", title.strip())


def next_quota_reset(now: datetime) -> datetime:
    pacific = now.astimezone(ZoneInfo("America/Los_Angeles"))
    midnight = (pacific + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight.astimezone(ZoneInfo("UTC"))


class YouTubeProvider(KaraokeSourceProvider):
    provider_id = "youtube"
    search_cache_ttl_seconds = 3600
    url_ttl_seconds = 6 * 3600

    def configured(self) -> bool:
        return bool(settings.YOUTUBE_API_KEY)

    def _get(self, resource: str, params: dict) -> dict:
        until = cache.get(DISABLED_KEY)
        if until:
            raise ProviderUnavailable(f"YouTube's daily API quota is used up; YouTube search is "
                                      f"back after {until} UTC.")
        if not settings.YOUTUBE_API_KEY:
            raise ProviderError("YouTube search is not configured (YOUTUBE_API_KEY).")
        try:
            response = requests.get(f"{settings.YOUTUBE_API_URL}/youtube/v3/{resource}",
                                    params={**params, "key": settings.YOUTUBE_API_KEY},
                                    timeout=settings.KARAOKE_PROVIDER_TIMEOUT_SECONDS)
        except requests.RequestException as exc:
            raise ProviderError(f"YouTube did not answer: {exc.__class__.__name__}.") from None
        if response.status_code == 403 and self._quota_spent(response):
            reset = next_quota_reset(timezone.now())
            cache.set(DISABLED_KEY, reset.strftime("%Y-%m-%d %H:%M"),
                      max(60, int((reset - timezone.now()).total_seconds())))
            raise ProviderUnavailable(f"YouTube's daily API quota is used up; YouTube search is "
                                      f"back after {reset:%Y-%m-%d %H:%M} UTC.")
        if response.status_code != 200:
            raise ProviderError(f"YouTube answered {response.status_code}.")
        try:
            return response.json()
        except ValueError:
            raise ProviderError("YouTube answered with something that is not JSON.") from None

    @staticmethod
    def _quota_spent(response) -> bool:
        try:
            errors = response.json()["error"]["errors"]
        except (ValueError, KeyError, TypeError):
            return False
        return any(e.get("reason") in QUOTA_REASONS for e in errors if isinstance(e, dict))

    def search(self, query: str) -> list[KaraokeEntry]:
        found = self._get("search", {"part": "snippet", "type": "video", "videoEmbeddable": "true",
                                     "maxResults": 10, "q": f"{query} karaoke"})
        items = [i for i in found.get("items", []) if isinstance(i, dict)
                 and isinstance(i.get("id"), dict) and i["id"].get("videoId")]
        if not items:
            return []
        ids = [i["id"]["videoId"] for i in items]
        details = self._get("videos", {"part": "contentDetails", "id": ",".join(ids)})
        durations = {v.get("id"): parse_duration(v.get("contentDetails", {}).get("duration", ""))
                     for v in details.get("items", []) if isinstance(v, dict)}
        entries = []
        for item, video_id in zip(items, ids):
            snippet = item.get("snippet") or {}
            artist, title = split_title(str(snippet.get("title", "")))
            entries.append(KaraokeEntry(id=video_id, title=title, artist=artist,
                                        source=self.provider_id,
                                        uploader=str(snippet.get("channelTitle", "")),
                                        duration=durations.get(video_id)))
        return entries

    def get_video_url(self, entry_id: str) -> VideoURLResult | None:
        if not re.fullmatch(r"[A-Za-z0-9_-]{6,20}", entry_id):
            return None
        return VideoURLResult(f"{settings.YOUTUBE_EMBED_URL.rstrip('/')}/{entry_id}",
                              cache_ttl_seconds=self.url_ttl_seconds)
