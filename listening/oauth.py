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
from .spotify import CALLS, App

SCOPES = "user-read-currently-playing user-read-recently-played playlist-read-private"


class OAuthError(Exception):
    """The link failed; the message is for the person trying to link."""


def new_state() -> str:
    return secrets.token_urlsafe(24)


def authorize_url(app: App, state: str) -> str:
    query = urlencode({"client_id": app.client_id, "response_type": "code",
                       "redirect_uri": settings.SPOTIFY_REDIRECT_URI, "scope": SCOPES,
                       "state": state})
    return f"{settings.SPOTIFY_ACCOUNTS_URL}/authorize?{query}"


def exchange_code(app: App, code: str) -> dict:
    CALLS["/api/token"] += 1
    try:
        response = requests.post(
            f"{settings.SPOTIFY_ACCOUNTS_URL}/api/token",
            data={"grant_type": "authorization_code", "code": code,
                  "redirect_uri": settings.SPOTIFY_REDIRECT_URI},
            auth=(app.client_id, app.client_secret), timeout=settings.SPOTIFY_TIMEOUT_SECONDS)
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise OAuthError("Spotify could not be reached; please try again.") from exc
    if response.status_code != 200:
        raise OAuthError("Spotify did not accept the authorization; please try again.")
    return response.json()


def fetch_profile(access_token: str) -> dict:
    CALLS["/v1/me"] += 1
    try:
        response = requests.get(f"{settings.SPOTIFY_API_URL}/v1/me",
                                headers={"Authorization": f"Bearer {access_token}"},
                                timeout=settings.SPOTIFY_TIMEOUT_SECONDS)
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise OAuthError("Spotify could not be reached; please try again.") from exc
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
            raise OAuthError("This Spotify account is already linked to another songhub user.")
        if listener is None:
            listener = Listener(spotify_id=profile["id"])
        if user is None:
            user = listener.user if listener.user_id else _new_user(profile)
        listener.user = user
        listener.display_name = (profile.get("display_name") or profile["id"])[:200]
        listener.app_client_id = app.client_id
        listener.set_tokens(tokens["access_token"], tokens.get("refresh_token"), expires_at)
        listener.save()
    return listener


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
