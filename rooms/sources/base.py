"""The karaoke source-provider contract (the seed's KaraokeSourceProvider, synchronous).

A provider answers `search(query)` with entries and, when its URLs are costly or expire,
resolves one lazily in `get_video_url(entry)`. Adding a provider is one class here-like and
one line in `KARAOKE_PROVIDERS` (docs/rooms.md).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


class ProviderError(Exception):
    """A provider could not answer; the message is shown to the user beside partial results."""


class ProviderUnavailable(ProviderError):
    """The provider is switched off for a while (e.g. its daily quota is spent)."""


@dataclass
class KaraokeEntry:
    id: str
    title: str
    artist: str
    source: str
    uploader: str = ""
    duration: float | None = None  # seconds
    video_url: str | None = None  # set when search already knows it

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class VideoURLResult:
    video_url: str
    cache_ttl_seconds: int = 3600
    cacheable: bool = True


class KaraokeSourceProvider:
    """Subclass and set `provider_id`; implement `search`, and `get_video_url` if entries come
    without a `video_url`."""

    provider_id: str = ""
    search_cache_ttl_seconds: int = 600
    remote = True  # searched on a pool thread under the timeout; False: in the caller's thread

    def configured(self) -> bool:
        """False leaves the provider out of searches (e.g. no API key set)."""
        return True

    def search(self, query: str) -> list[KaraokeEntry]:
        raise NotImplementedError

    def get_video_url(self, entry_id: str) -> str | VideoURLResult | None:
        return None
