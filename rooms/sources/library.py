"""Songhub's own songs as karaoke entries: the lyrics are the song's rendered pages, shown on
the display in the room's key."""

from __future__ import annotations

from django.urls import reverse

from .base import KaraokeEntry, KaraokeSourceProvider, ProviderError


class LibraryProvider(KaraokeSourceProvider):
    provider_id = "library"
    search_cache_ttl_seconds = 0  # the library changes with every sync; searching it is cheap
    remote = False  # an indexed query on our own database, in the request's connection

    def search(self, query: str) -> list[KaraokeEntry]:
        from ingestion import search

        try:
            page = search.search(query, "auto", 10, 0)
        except search.SearchError as exc:
            raise ProviderError(str(exc)) from None
        return [KaraokeEntry(id=f"song:{hit.id}", title=hit.title, artist=hit.artist or "",
                             source=self.provider_id, uploader="songhub")
                for hit in page.hits if hit.page_count]

    def get_video_url(self, entry_id: str) -> str | None:
        """A song has no video: its first page image; the display turns the pages."""
        kind, _, pk = entry_id.partition(":")
        if kind != "song" or not pk.isdigit():
            return None
        from ingestion.models import Song

        if not Song.objects.filter(pk=int(pk), page_count__gt=0).exists():
            return None
        return reverse("song-page", args=[int(pk), 1])
