"""The one Spotify Web API client: every call goes through `SpotifyClient.get`.

It refreshes an expired token first, refreshes and retries once on 401, honours `Retry-After`
on 429 (recording a back-off on that listener only), retries 5xx and network errors with
exponential backoff and jitter (bounded), has a timeout on every call, and counts calls per
endpoint for metrics. Hosts come from SPOTIFY_API_URL / SPOTIFY_ACCOUNTS_URL.

Apps speak one of two dialects (`spotify_apps`): helpers here say which path and which shape
to use (`playlist_items_path`, `entry_track`), and `batch_forbidden` records, once per app, that
a batch endpoint answered 403 so that callers switch to per-id requests.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

import requests
from django.conf import settings
from django.utils import timezone

from songhub import metrics

from . import spotify_apps
from .models import Listener

logger = logging.getLogger(__name__)

CALLS: Counter = Counter()  # endpoint -> calls made by this process (benches read it)


def record_call(endpoint: str, status: int | str) -> None:
    """Count one Spotify call by endpoint template (never an id) and status ("error": none)."""
    CALLS[endpoint] += 1
    metrics.SPOTIFY_CALLS.labels(endpoint, str(status)).inc()
_ID = re.compile(r"/[0-9A-Za-z]{22}(?=/|$)")


class SpotifyError(Exception):
    """A call failed for good (after the retries that make sense); `status` is the HTTP
    status when Spotify answered."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class AuthError(SpotifyError):
    """The listener's authorization is gone (refresh token revoked or invalid)."""


class RateLimited(SpotifyError):
    def __init__(self, retry_after: float):
        super().__init__(f"Spotify rate limit: retry after {retry_after:.0f} s", 429)
        self.retry_after = retry_after


@dataclass(frozen=True)
class App:
    client_id: str
    client_secret: str
    mode: str = "development"  # or "extended" (spotify_apps.MODES)
    max_users: int | None = 5  # None: no cap

    @property
    def development(self) -> bool:
        return self.mode == "development"


def configured_apps() -> list[App]:
    """SPOTIFY_CLIENT_ID's app first, then SPOTIFY_APPS, defaults applied (`spotify_apps`)."""
    cap = settings.SPOTIFY_APP_MAX_USERS
    entries = [spotify_apps.app(settings.SPOTIFY_CLIENT_ID, settings.SPOTIFY_CLIENT_SECRET,
                                settings.SPOTIFY_CLIENT_MODE, "default", cap,
                                "SPOTIFY_CLIENT_ID")] if settings.SPOTIFY_CLIENT_ID else []
    entries += spotify_apps.normalize(settings.SPOTIFY_APPS, cap)
    return [App(**entry) for entry in entries]


def app_with_room() -> App | None:
    """The first configured app below its user cap (5 for a development-mode app, none for an
    extended one by default); a listener stays with the app it authorized."""
    for app in configured_apps():
        if app.max_users is None or \
                Listener.objects.filter(app_client_id=app.client_id).count() < app.max_users:
            return app
    return None


def playlist_items_path(playlist_id: str, old: bool = False) -> str:
    """Development apps must use `/items` (`/tracks` answers 403 since 2026-03-09); extended
    apps keep `/tracks` (`old=True`) and fall back to `/items` when it is refused."""
    return f"/v1/playlists/{playlist_id}/{'tracks' if old else 'items'}"


def entry_track(entry: dict) -> dict | None:
    """The track of a playlist entry in either dialect (`item` since 2026, `track` before)."""
    if not isinstance(entry, dict):
        return None
    track = entry.get("item") if entry.get("item") is not None else entry.get("track")
    return track if isinstance(track, dict) else None


def uses_batches(app: App) -> bool:
    """Batch endpoints (`/v1/tracks?ids=`) only for extended apps that were never refused."""
    from .models import SpotifyApp

    return not app.development and not SpotifyApp.objects.filter(
        client_id=app.client_id, per_id_since__isnull=False).exists()


def batch_forbidden(app: App, path: str) -> None:
    """Record (and log, once per app) that `path` answered 403: per-id requests from now on."""
    from .models import SpotifyApp

    row, created = SpotifyApp.objects.get_or_create(client_id=app.client_id)
    if row.per_id_since is None:
        reason = f"GET {endpoint_name(path)} answered 403 (Development Mode API?)"
        SpotifyApp.objects.filter(pk=row.pk, per_id_since__isnull=True).update(
            per_id_since=timezone.now(), per_id_reason=reason[:300])
        logger.warning("Spotify app %s: %s; switching to per-id requests", app.client_id, reason)


def app_by_id(client_id: str) -> App | None:
    return next((a for a in configured_apps() if a.client_id == client_id), None)


def app_for(listener: Listener) -> App:
    apps = configured_apps()
    for app in apps:
        if app.client_id == listener.app_client_id:
            return app
    if apps and not listener.app_client_id:
        return apps[0]
    raise AuthError(f"No Spotify app credentials for client id {listener.app_client_id!r}.")


def endpoint_name(path: str) -> str:
    """`/v1/tracks/4uLU6hMCjMI75M1A2tKUQC` -> `/v1/tracks/{id}` (metrics without ids)."""
    return _ID.sub("/{id}", path)


class SpotifyClient:
    def __init__(self, listener: Listener, session: requests.Session | None = None,
                 attempts: int = 4):
        self.listener = listener
        self.session = session or requests.Session()
        self.attempts = attempts
        self.timeout = settings.SPOTIFY_TIMEOUT_SECONDS

    # -- tokens ---------------------------------------------------------------------------
    def refresh(self) -> None:
        """Exchange the refresh token for a new access token and store it encrypted."""
        app = app_for(self.listener)
        metrics.SPOTIFY_TOKEN_REFRESHES.inc()
        try:
            response = self.session.post(
                f"{settings.SPOTIFY_ACCOUNTS_URL}/api/token",
                data={"grant_type": "refresh_token", "refresh_token": self.listener.refresh_token},
                auth=(app.client_id, app.client_secret), timeout=self.timeout)
        except (requests.ConnectionError, requests.Timeout) as exc:
            record_call("/api/token", "error")
            raise SpotifyError(f"Spotify accounts unreachable: {exc}") from exc
        record_call("/api/token", response.status_code)
        if response.status_code in (400, 401):
            raise AuthError(f"Spotify refused the refresh token for {self.listener}: "
                            f"{response.text[:200]}")
        if response.status_code != 200:
            raise SpotifyError(f"token refresh failed with HTTP {response.status_code}",
                               response.status_code)
        body = response.json()
        expires_at = timezone.now() + timedelta(seconds=int(body.get("expires_in", 3600)))
        self.listener.set_tokens(body["access_token"], body.get("refresh_token"), expires_at)
        Listener.objects.filter(pk=self.listener.pk).update(
            access_token_encrypted=self.listener.access_token_encrypted,
            refresh_token_encrypted=self.listener.refresh_token_encrypted,
            expires_at=expires_at)

    def _token_expired(self) -> bool:
        expires = self.listener.expires_at
        return not self.listener.access_token_encrypted or expires is None or \
            expires <= timezone.now() + timedelta(seconds=30)

    # -- calls ----------------------------------------------------------------------------
    def get(self, path: str, **params):
        """GET `path` (e.g. "/v1/me"); the parsed JSON, or None for 204 No Content. A failure
        for good of the listener's own endpoints (`/v1/me…`: the polls) or of its token is
        recorded on the listener for the dashboard; a success clears it."""
        try:
            body = self._get(path, **params)
        except RateLimited:
            raise
        except SpotifyError as exc:
            if isinstance(exc, AuthError) or path.startswith("/v1/me"):
                self._record_error(str(exc))
            raise
        if self.listener.last_error and path.startswith("/v1/me"):
            self._record_error("")
        return body

    def _record_error(self, message: str) -> None:
        at = timezone.now() if message else None
        Listener.objects.filter(pk=self.listener.pk).update(last_error=message[:300],
                                                            last_error_at=at)
        self.listener.last_error, self.listener.last_error_at = message[:300], at

    def _get(self, path: str, **params):
        if self.listener.backoff_until and self.listener.backoff_until > timezone.now():
            wait = (self.listener.backoff_until - timezone.now()).total_seconds()
            raise RateLimited(wait)
        if self._token_expired():
            self.refresh()
        refreshed = False
        for attempt in range(1, self.attempts + 1):
            try:
                response = self.session.get(
                    f"{settings.SPOTIFY_API_URL}{path}", params=params or None,
                    headers={"Authorization": f"Bearer {self.listener.access_token}"},
                    timeout=self.timeout)
                record_call(endpoint_name(path), response.status_code)
            except (requests.ConnectionError, requests.Timeout) as exc:
                record_call(endpoint_name(path), "error")
                if attempt == self.attempts:
                    raise SpotifyError(f"Spotify unreachable: {exc}") from exc
                self._backoff(attempt)
                continue
            if response.status_code == 204:
                return None
            if response.status_code < 300:
                return response.json()
            if response.status_code == 401 and not refreshed:
                refreshed = True
                self.refresh()
                continue
            if response.status_code == 429:
                retry_after = float(response.headers.get("Retry-After") or 1)
                until = timezone.now() + timedelta(seconds=retry_after)
                Listener.objects.filter(pk=self.listener.pk).update(backoff_until=until)
                self.listener.backoff_until = until
                raise RateLimited(retry_after)
            if response.status_code >= 500 and attempt < self.attempts:
                self._backoff(attempt)
                continue
            raise SpotifyError(f"GET {endpoint_name(path)} answered {response.status_code}",
                               response.status_code)
        raise SpotifyError(f"GET {endpoint_name(path)} kept failing")

    @staticmethod
    def _backoff(attempt: int) -> None:
        time.sleep(min(8.0, 0.2 * 2 ** (attempt - 1)) * (0.5 + random.random()))
