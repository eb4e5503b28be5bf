"""Songhub's own songs as karaoke entries: the lyrics are the song's rendered pages, shown on
the display in the room's key. Charts of the chart library that have audio are entries too
(`chart:<id>`): their video URL is the audio file, streamed with Range support by the chart API
(which needs a logged-in browser on the display)."""

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
        songs = [KaraokeEntry(id=f"song:{hit.id}", title=hit.title, artist=hit.artist or "",
                              source=self.provider_id, uploader="songhub")
                 for hit in page.hits if hit.page_count]
        return songs + self._charts(query)

    def _charts(self, query: str) -> list[KaraokeEntry]:
        from charts.models import Chart

        words = query.split()
        if not words:
            return []
        charts = Chart.objects.filter(has_audio=True).exclude(audio_files=[])
        for word in words[:8]:
            charts = charts.filter(search_text__icontains=word)
        return [KaraokeEntry(id=f"chart:{c.pk}", title=c.title, artist=c.artist,
                             source=self.provider_id, uploader=c.charter or "songhub",
                             duration=c.song_length_ms / 1000 if c.song_length_ms else None)
                for c in charts.order_by("artist", "title")[:10]]

    def get_video_url(self, entry_id: str) -> str | None:
        """A song has no video: its first page image; the display turns the pages."""
        kind, _, pk = entry_id.partition(":")
        if kind == "chart" and pk.isdigit():
            return self._chart_audio(int(pk))
        if kind != "song" or not pk.isdigit():
            return None
        from ingestion.models import Song

        if not Song.objects.filter(pk=int(pk), page_count__gt=0).exists():
            return None
        return reverse("song-page", args=[int(pk), 1])

    @staticmethod
    def _chart_audio(chart_id: int) -> str | None:
        from charts.models import Chart

        chart = Chart.objects.filter(pk=chart_id, has_audio=True).first()
        if chart is None or not chart.audio_files:
            return None
        return reverse("chart-api-file", args=[chart.pk, chart.audio_files[0]])
