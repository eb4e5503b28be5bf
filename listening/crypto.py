"""Spotify tokens at rest: Fernet (AES-128-CBC + HMAC) with a key from settings."""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def _fernet() -> Fernet:
    key = settings.SPOTIFY_TOKEN_KEY
    if not key:  # derived from SECRET_KEY, so a deployment has one secret less to manage
        key = base64.urlsafe_b64encode(hashlib.sha256(
            b"songhub-spotify-tokens:" + settings.SECRET_KEY.encode()).digest()).decode()
    try:
        return Fernet(key)
    except ValueError as exc:
        raise ImproperlyConfigured("SPOTIFY_TOKEN_KEY must be a Fernet key "
                                   "(Fernet.generate_key())") from exc


def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode() if value else ""


def decrypt(value: str) -> str:
    if not value:
        return ""
    try:
        return _fernet().decrypt(value.encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured("Stored Spotify tokens cannot be decrypted: SPOTIFY_TOKEN_KEY "
                                   "(or SECRET_KEY) changed; listeners must log in again.") from None
