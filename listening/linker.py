"""The artist linker: give tracks without artists their artists, from the Spotify API.

Batches of 50 ids per `GET /v1/tracks?ids=` (the seed made one call per track), paced, with a
proactive token refresh every 45 minutes. A 429 stops the run (the next run picks up where
this one stopped); one track's failure is logged and the run goes on.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass

from django.conf import settings
from django.db import transaction

from .models import Artist, Listener, Track
from .spotify import RateLimited, SpotifyClient, SpotifyError

logger = logging.getLogger(__name__)

BATCH = 50
TOKEN_REFRESH_SECONDS = 45 * 60
PROGRESS_EVERY = 100


class LinkerError(Exception):
    """The run cannot go on (no usable listener, rate limited, Spotify down)."""


@dataclass
class LinkReport:
    success: bool = True
    successful_links: int = 0
    failed_links: int = 0
    total_processed: int = 0
    requests: int = 0
    error: str = ""

    def summary(self) -> dict:
        body = asdict(self)
        body.pop("requests")
        if not self.error:
            body.pop("error")
        return body


def tracks_without_artists() -> list[str]:
    return list(Track.objects.filter(artists__isnull=True).exclude(id__startswith=":")
                .order_by("id").values_list("id", flat=True))


def token_listener() -> Listener:
    listener = (Listener.objects.filter(enabled=True).exclude(refresh_token_encrypted="")
                .order_by("pk").first())
    if listener is None:
        raise LinkerError("No enabled listener with Spotify credentials to borrow a token from.")
    return listener


def link_artists(pace_seconds: float | None = None, clock=time.monotonic,
                 sleep=time.sleep) -> LinkReport:
    pace = settings.LINK_ARTISTS_PACE_SECONDS if pace_seconds is None else pace_seconds
    report = LinkReport()
    ids = tracks_without_artists()
    logger.info("artist linker: %d tracks without artists", len(ids))
    if not ids:
        return report
    try:
        client = SpotifyClient(token_listener())
        client.refresh()
        refreshed_at = clock()
        for start in range(0, len(ids), BATCH):
            if clock() - refreshed_at >= TOKEN_REFRESH_SECONDS:
                client.refresh()
                refreshed_at = clock()
            if start:
                sleep(pace)
            batch = ids[start:start + BATCH]
            report.requests += 1
            body = client.get("/v1/tracks", ids=",".join(batch))
            _link_batch(batch, body.get("tracks") or [], report)
            before = report.total_processed - len(batch)
            if report.total_processed // PROGRESS_EVERY > before // PROGRESS_EVERY:
                logger.info("artist linker: %d/%d processed, %d linked, %d failed",
                            report.total_processed, len(ids), report.successful_links,
                            report.failed_links)
    except RateLimited as exc:
        logger.error("artist linker: rate limited, Retry-After %.0f s; stopping", exc.retry_after)
        report.success, report.error = False, str(exc)
    except (SpotifyError, LinkerError) as exc:
        logger.error("artist linker: %s", exc)
        report.success, report.error = False, str(exc)
    return report


def _link_batch(batch: list[str], tracks: list, report: LinkReport) -> None:
    by_id = {t["id"]: t for t in tracks if isinstance(t, dict) and t.get("id")}
    for track_id in batch:
        report.total_processed += 1
        data = by_id.get(track_id)
        try:
            artists = (data or {}).get("artists") or []
            if not artists:
                raise SpotifyError("Spotify returned no artists for this track")
            with transaction.atomic():
                objects = []
                for artist in artists:
                    obj, _ = Artist.objects.get_or_create(
                        id=artist["id"], defaults={"name": artist.get("name", "")[:300]})
                    objects.append(obj)
                Track.objects.get(pk=track_id).artists.add(*objects)
            report.successful_links += 1
        except (SpotifyError, KeyError, TypeError, Track.DoesNotExist) as exc:
            report.failed_links += 1
            logger.warning("artist linker: track %s not linked: %s", track_id, exc)
