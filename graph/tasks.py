"""Celery tasks of the graph: thin wrappers over graph.enrich (queue `enrichment`)."""

from celery import shared_task

from . import enrich
from .models import Entry, Track


@shared_task(acks_late=True, ignore_result=True)
def enrich_tracks_task(track_ids: list[int]) -> None:
    """A batch: every listed track that still lacks a Spotify id or ISRC."""
    for track in Track.objects.filter(pk__in=track_ids).prefetch_related("links__artist"):
        if track.spotify_id and track.isrc:
            continue
        primary = [link.artist.name for link in track.links.all() if link.role == "primary"]
        if primary:
            enrich.enrich(track.pk, " & ".join(primary), track.title, track.spotify_id or None,
                          track.isrc or None)


@shared_task(acks_late=True, ignore_result=True)
def retry_dead_letters_task(limit: int = 100) -> None:
    enrich.retry_dead_letters(limit)


@shared_task(acks_late=True, ignore_result=True)
def propose_for_unidentified_task(limit: int = 50) -> None:
    """Ask MusicBrainz about the most frequent unidentified lines that have a title."""
    rows = (Entry.objects.filter(identified=False, not_a_track=False).exclude(title="")
            .values("raw_key", "raw_line", "title").distinct()[:limit])
    for row in rows:
        enrich.propose_for_entry(row["raw_line"], row["title"])


@shared_task(acks_late=True, ignore_result=True)
def import_sequences_task(since_days: int = 2) -> None:
    from .sources import local

    local.import_rooms(since_days)
    local.import_listening(since_days)


@shared_task(acks_late=True, ignore_result=True)
def enrich_missing_task(limit: int = 500, batch: int = 50) -> None:
    """Queue batches of tracks never enriched, most played first."""
    from django.db.models import Count

    ids = list(Track.objects.filter(enriched_at__isnull=True).annotate(n=Count("entries"))
               .order_by("-n", "id").values_list("pk", flat=True)[:limit])
    for start in range(0, len(ids), batch):
        enrich_tracks_task.delay(ids[start:start + batch])
