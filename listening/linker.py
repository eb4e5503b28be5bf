"""The artist linker: give tracks without (Spotify) artists their artists, from the Spotify API.

Polling and the playlist scan store artists from the track objects they already receive
(`catalog`), so the linker only sees what is left: tracks from a data export (which carry a
provisional artist named in the export) and tracks whose poll predates that.

Two ways to ask, by the borrowed token's app (`spotify_apps`):

- **batch** (extended apps): `GET /v1/tracks?ids=` for 50 ids at a time, paced. A 403 means the
  app is in Development Mode after all: it is recorded (`spotify.batch_forbidden`, once, visible
  in admin) and the run goes on per id.
- **per id** (development apps, whose batch endpoints were removed in 2026): `GET
  /v1/tracks/{id}`, at most CONCURRENCY requests at a time, a pause of
  LINK_ARTISTS_PACE_SECONDS between waves. Results are stored after each wave, so a stopped run
  loses nothing and the next one resumes with the tracks still missing.

A 429 stops the run (the listener's back-off records Retry-After, and the next run does not
start before it); one track's failure is logged and the run goes on. The token is refreshed
every 45 minutes. The summary names the app, its mode, the method used and the requests made.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta, timezone as dt_timezone

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from . import catalog
from songhub import metrics

from .models import Listener, Track
from .polling import play_from_track
from .spotify import (App, RateLimited, record_call, SpotifyClient, SpotifyError, app_for,
                      batch_forbidden, uses_batches)

logger = logging.getLogger(__name__)

BATCH = 50
CONCURRENCY = 4
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
    apps: dict = field(default_factory=dict)  # client id -> {"mode", "method", "requests"}
    error: str = ""

    def summary(self) -> dict:
        body = asdict(self)
        body.pop("requests")
        if not self.error:
            body.pop("error")
        return body

    def count_request(self, app: App, method: str) -> None:
        metrics.LINKER_REQUESTS.labels(method).inc()
        self.requests += 1
        entry = self.apps.setdefault(app.client_id, {"mode": app.mode, "method": method,
                                                     "requests": 0})
        entry["method"] = method
        entry["requests"] += 1


def tracks_without_artists() -> list[str]:
    """Spotify tracks (local files excluded) with no artist from Spotify: none at all, or only
    provisional ones from a data export (ids starting with ':')."""
    real = Track.artists.through.objects.filter(track_id=OuterRef("pk")).exclude(
        artist__id__startswith=":")
    return list(Track.objects.exclude(id__startswith=":").filter(~Exists(real))
                .order_by("id").values_list("id", flat=True))


def token_listener() -> Listener:
    """An enabled listener with credentials, one of an app that may use batches first."""
    listeners = list(Listener.objects.filter(enabled=True).exclude(refresh_token_encrypted="")
                     .order_by("pk")[:50])
    if not listeners:
        raise LinkerError("No enabled listener with Spotify credentials to borrow a token from.")
    for listener in listeners:
        try:
            if uses_batches(app_for(listener)):
                return listener
        except SpotifyError:
            continue
    return listeners[0]


def link_artists(pace_seconds: float | None = None, clock=time.monotonic,
                 sleep=time.sleep) -> LinkReport:
    pace = settings.LINK_ARTISTS_PACE_SECONDS if pace_seconds is None else pace_seconds
    report = LinkReport()
    ids = tracks_without_artists()
    logger.info("artist linker: %d tracks without artists", len(ids))
    if not ids:
        return report
    try:
        run = _Run(SpotifyClient(token_listener()), report, pace, clock, sleep, len(ids))
        run.start()
        rest = run.batches(ids) if uses_batches(run.app) else ids
        run.per_id(rest)
    except RateLimited as exc:
        logger.error("artist linker: rate limited, Retry-After %.0f s; stopping", exc.retry_after)
        report.success, report.error = False, str(exc)
    except (SpotifyError, LinkerError) as exc:
        logger.error("artist linker: %s", exc)
        report.success, report.error = False, str(exc)
    return report


class _Run:
    def __init__(self, client: SpotifyClient, report: LinkReport, pace, clock, sleep, total):
        self.client, self.report, self.pace = client, report, pace
        self.clock, self.sleep, self.total = clock, sleep, total
        self.app = app_for(client.listener)
        self.refreshed_at = 0.0
        self.requests_made = 0

    def start(self) -> None:
        backoff = self.client.listener.backoff_until
        if backoff and backoff > timezone.now():
            raise RateLimited((backoff - timezone.now()).total_seconds())
        self.client.refresh()
        self.refreshed_at = self.clock()

    def _maybe_refresh(self) -> None:
        if self.clock() - self.refreshed_at >= TOKEN_REFRESH_SECONDS:
            self.client.refresh()
            self.refreshed_at = self.clock()

    def _paced(self) -> None:
        if self.requests_made:
            self.sleep(self.pace)

    def batches(self, ids: list[str]) -> list[str]:
        """Link in batches of 50; the ids left when the app turns out to refuse batches."""
        for start in range(0, len(ids), BATCH):
            self._maybe_refresh()
            self._paced()
            batch = ids[start:start + BATCH]
            self.report.count_request(self.app, "batch")
            self.requests_made += 1
            try:
                body = self.client.get("/v1/tracks", ids=",".join(batch))
            except SpotifyError as exc:
                if exc.status != 403:
                    raise
                batch_forbidden(self.app, "/v1/tracks")
                return ids[start:]
            tracks = (body or {}).get("tracks") or []
            self._link({t["id"]: t for t in tracks if isinstance(t, dict) and t.get("id")}, batch)
        return []

    def per_id(self, ids: list[str]) -> None:
        with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
            for start in range(0, len(ids), CONCURRENCY):
                self._maybe_refresh()
                self._paced()
                wave = ids[start:start + CONCURRENCY]
                answers = self._ask(pool, wave)
                expired = [t for t, (status, _, _) in answers.items() if status == 401]
                if expired:  # the token was revoked or expired early: refresh, ask once more
                    self.client.refresh()
                    self.refreshed_at = self.clock()
                    answers.update(self._ask(pool, expired))
                found = {t: body for t, (status, body, _) in answers.items() if status == 200}
                limited = [after for status, _, after in answers.values() if status == 429]
                if limited:  # store what came back, then stop: the next run resumes here
                    self._link(found, [t for t in wave if t in found])
                    self._back_off(max(limited))
                    raise RateLimited(max(limited))
                self._link(found, wave)

    def _ask(self, pool: ThreadPoolExecutor, ids: list[str]) -> dict:
        token, session, timeout = (self.client.listener.access_token, self.client.session,
                                   self.client.timeout)
        answers = pool.map(lambda t: _fetch_track(session, token, t, timeout), ids)
        self.requests_made += len(ids)
        for _ in ids:
            self.report.count_request(self.app, "per-id")
        return {track_id: (status, body, after) for track_id, status, body, after in answers}

    def _back_off(self, retry_after: float) -> None:
        until = timezone.now() + timedelta(seconds=retry_after)
        Listener.objects.filter(pk=self.client.listener.pk).update(backoff_until=until)
        self.client.listener.backoff_until = until

    def _link(self, found: dict, asked: list[str]) -> None:
        report = self.report
        before = report.total_processed
        plays = []
        for track_id in asked:
            report.total_processed += 1
            play = _play(found.get(track_id))
            if play is None:
                report.failed_links += 1
                logger.warning("artist linker: track %s not linked: Spotify returned no artists",
                               track_id)
                continue
            plays.append(replace(play, track_id=track_id))  # Spotify may answer a relinked id
        with transaction.atomic():
            catalog.store_tracks(plays)
        report.successful_links += len(plays)
        if report.total_processed // PROGRESS_EVERY > before // PROGRESS_EVERY:
            logger.info("artist linker: %d/%d processed, %d linked, %d failed",
                        report.total_processed, self.total, report.successful_links,
                        report.failed_links)


_EPOCH = datetime(1970, 1, 1, tzinfo=dt_timezone.utc)


def _play(track):
    if not isinstance(track, dict) or not track.get("id"):
        return None
    play = play_from_track(track, _EPOCH)
    return play if play.artists else None


def _fetch_track(session: requests.Session, token: str, track_id: str, timeout: float):
    """One `GET /v1/tracks/{id}` without touching the database (it runs in a pool thread):
    (id, status, body, retry_after). Network errors count as a 503 for this run."""
    try:
        response = session.get(f"{settings.SPOTIFY_API_URL}/v1/tracks/{track_id}",
                               headers={"Authorization": f"Bearer {token}"}, timeout=timeout)
    except (requests.ConnectionError, requests.Timeout):
        record_call("/v1/tracks/{id}", "error")
        return track_id, 503, None, 0.0
    record_call("/v1/tracks/{id}", response.status_code)
    retry_after = float(response.headers.get("Retry-After") or 1) \
        if response.status_code == 429 else 0.0
    try:
        body = response.json() if response.status_code == 200 else None
    except ValueError:
        body = None
    return track_id, response.status_code, body, retry_after
