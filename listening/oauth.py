"""Linking a Spotify account: the authorization-code flow, ending in a Listener.

Views keep the `state` in the session and call these functions; nothing is stored unless the
whole exchange succeeded.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from urllib.parse import urlencode

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from .models import Listener
from .spotify import App, record_call

SCOPES = "user-read-currently-playing user-read-recently-played playlist-read-private"


class OAuthError(Exception):
    """The link failed; the message is for the person trying to link. `status` is 400 when
    the request cannot succeed as asked, 502 when Spotify failed us."""

    def __init__(self, message: str, status: int = 502):
        super().__init__(message)
        self.status = status


def new_state() -> str:
    return secrets.token_urlsafe(24)


def authorize_url(app: App, state: str) -> str:
    query = urlencode({"client_id": app.client_id, "response_type": "code",
                       "redirect_uri": settings.SPOTIFY_REDIRECT_URI, "scope": SCOPES,
                       "state": state})
    return f"{settings.SPOTIFY_ACCOUNTS_URL}/authorize?{query}"


def exchange_code(app: App, code: str) -> dict:
    try:
        response = requests.post(
            f"{settings.SPOTIFY_ACCOUNTS_URL}/api/token",
            data={"grant_type": "authorization_code", "code": code,
                  "redirect_uri": settings.SPOTIFY_REDIRECT_URI},
            auth=(app.client_id, app.client_secret), timeout=settings.SPOTIFY_TIMEOUT_SECONDS)
    except (requests.ConnectionError, requests.Timeout) as exc:
        record_call("/api/token", "error")
        raise OAuthError("Spotify could not be reached; please try again.") from exc
    record_call("/api/token", response.status_code)
    if response.status_code != 200:
        raise OAuthError("Spotify did not accept the authorization; please try again.")
    return response.json()


def fetch_profile(access_token: str) -> dict:
    try:
        response = requests.get(f"{settings.SPOTIFY_API_URL}/v1/me",
                                headers={"Authorization": f"Bearer {access_token}"},
                                timeout=settings.SPOTIFY_TIMEOUT_SECONDS)
    except (requests.ConnectionError, requests.Timeout) as exc:
        record_call("/v1/me", "error")
        raise OAuthError("Spotify could not be reached; please try again.") from exc
    record_call("/v1/me", response.status_code)
    if response.status_code != 200 or "id" not in response.json():
        raise OAuthError("Spotify did not return your profile; please try again.")
    return response.json()


def link_account(app: App, code: str, user=None) -> Listener:
    """Exchange `code`, read the profile, create or update the Listener (and its user)."""
    tokens = exchange_code(app, code)
    profile = fetch_profile(tokens["access_token"])
    expires_at = timezone.now() + timedelta(seconds=int(tokens.get("expires_in", 3600)))
    with transaction.atomic():
        listener = Listener.objects.select_for_update().filter(spotify_id=profile["id"]).first()
        if listener is not None and user is not None and listener.user_id not in (None, user.pk):
            raise OAuthError("This Spotify account is already linked to another songhub user.",
                             400)
        if user is not None:
            listener = _merge_into_own(user, listener, profile["id"])
        if listener is None:
            listener = Listener(spotify_id=profile["id"])
        if user is None:
            user = listener.user if listener.user_id else _new_user(profile)
        listener.user = user
        listener.spotify_id = profile["id"]
        listener.enabled = True
        listener.display_name = (profile.get("display_name") or profile["id"])[:200]
        listener.app_client_id = app.client_id
        listener.set_tokens(tokens["access_token"], tokens.get("refresh_token"), expires_at)
        listener.save()
    return listener


def _merge_into_own(user, listener: Listener | None, spotify_id: str) -> Listener | None:
    """The listener to link for a logged-in `user`: one per user. A listener the user made
    from a data export alone (no Spotify id yet) becomes this account's listener, keeping its
    imported plays; a user already linked to another Spotify account is refused."""
    own = Listener.objects.select_for_update().filter(user=user).first()
    if own is None or (listener is not None and own.pk == listener.pk):
        return listener
    if own.spotify_id:
        raise OAuthError(f"Your songhub account is already linked to the Spotify account "
                         f"{own.spotify_id!r}. One songhub user has one Spotify account: "
                         "delete the current link (Settings → Delete user) or log in as "
                         "another user to link a second one.", 400)
    if listener is not None:  # that Spotify account has an unowned listener already
        raise OAuthError("This Spotify account already has listening data in songhub that "
                         "belongs to no user; ask an administrator to merge it.", 400)
    return own


def _new_user(profile: dict):
    User = get_user_model()
    base = f"spotify-{profile['id']}"[:140]
    username, n = base, 1
    while User.objects.filter(username=username).exists():
        n += 1
        username = f"{base}-{n}"
    user = User(username=username, first_name=(profile.get("display_name") or "")[:150])
    user.set_unusable_password()
    user.save()
    return user
