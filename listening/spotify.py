"""The one Spotify Web API client: every call goes through `SpotifyClient.get`.

It refreshes an expired token first, refreshes and retries once on 401, honours `Retry-After`
on 429 (recording a back-off on that listener only), retries 5xx and network errors with
exponential backoff and jitter (bounded), has a timeout on every call, and counts calls per
endpoint for metrics. Hosts come from SPOTIFY_API_URL / SPOTIFY_ACCOUNTS_URL.
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

from .models import Listener

logger = logging.getLogger(__name__)

CALLS: Counter = Counter()  # endpoint -> calls made by this process
_ID = re.compile(r"/[0-9A-Za-z]{22}(?=/|$)")


class SpotifyError(Exception):
    """A call failed for good (after the retries that make sense)."""


class AuthError(SpotifyError):
    """The listener's authorization is gone (refresh token revoked or invalid)."""


class RateLimited(SpotifyError):
    def __init__(self, retry_after: float):
        super().__init__(f"Spotify rate limit: retry after {retry_after:.0f} s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class App:
    client_id: str
    client_secret: str


def configured_apps() -> list[App]:
    apps = [App(settings.SPOTIFY_CLIENT_ID, settings.SPOTIFY_CLIENT_SECRET)] \
        if settings.SPOTIFY_CLIENT_ID else []
    apps += [App(a["client_id"], a["client_secret"]) for a in settings.SPOTIFY_APPS]
    return apps


def app_with_room() -> App | None:
    """The first configured app below SPOTIFY_APP_MAX_USERS listeners (Spotify's cap on
    development-mode apps); a listener stays with the app it authorized."""
    for app in configured_apps():
        if Listener.objects.filter(app_client_id=app.client_id).count() < \
                settings.SPOTIFY_APP_MAX_USERS:
            return app
    return None


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
        CALLS["/api/token"] += 1
        try:
            response = self.session.post(
                f"{settings.SPOTIFY_ACCOUNTS_URL}/api/token",
                data={"grant_type": "refresh_token", "refresh_token": self.listener.refresh_token},
                auth=(app.client_id, app.client_secret), timeout=self.timeout)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise SpotifyError(f"Spotify accounts unreachable: {exc}") from exc
        if response.status_code in (400, 401):
            raise AuthError(f"Spotify refused the refresh token for {self.listener}: "
                            f"{response.text[:200]}")
        if response.status_code != 200:
            raise SpotifyError(f"token refresh failed with HTTP {response.status_code}")
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
        """GET `path` (e.g. "/v1/me"); the parsed JSON, or None for 204 No Content."""
        if self.listener.backoff_until and self.listener.backoff_until > timezone.now():
            wait = (self.listener.backoff_until - timezone.now()).total_seconds()
            raise RateLimited(wait)
        if self._token_expired():
            self.refresh()
        refreshed = False
        for attempt in range(1, self.attempts + 1):
            CALLS[endpoint_name(path)] += 1
            try:
                response = self.session.get(
                    f"{settings.SPOTIFY_API_URL}{path}", params=params or None,
                    headers={"Authorization": f"Bearer {self.listener.access_token}"},
                    timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout) as exc:
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
            raise SpotifyError(f"GET {endpoint_name(path)} answered {response.status_code}")
        raise SpotifyError(f"GET {endpoint_name(path)} kept failing")

    @staticmethod
    def _backoff(attempt: int) -> None:
        time.sleep(min(8.0, 0.2 * 2 ** (attempt - 1)) * (0.5 + random.random()))
