"""A guest browser's identity in rooms: a random key in a signed, HttpOnly cookie.

The room page sets it; REST join, WebSocket join_room and transposed page images read it, so a
guest who reloads rejoins as the same participant (listed once, no retyping of the name).
"""

from __future__ import annotations

import secrets

from django.core import signing

COOKIE = "songhub_guest"
_SALT = "rooms.guest"
MAX_AGE = 365 * 24 * 3600


def read(cookies) -> str:
    """The guest key from a cookie mapping (request.COOKIES or the ASGI scope's), or ""."""
    value = cookies.get(COOKIE, "") if cookies else ""
    try:
        return signing.Signer(salt=_SALT).unsign(value) if value else ""
    except signing.BadSignature:
        return ""


def key_for(request) -> str:
    """The request's guest key, or a new one (pass it to `remember` with the response)."""
    return read(request.COOKIES) or secrets.token_urlsafe(24)


def remember(request, response, key: str) -> None:
    """Set the cookie on `response` unless the request already carries this key."""
    if read(request.COOKIES) != key:
        response.set_cookie(COOKIE, signing.Signer(salt=_SALT).sign(key), max_age=MAX_AGE,
                            httponly=True, samesite="Lax", secure=request.is_secure())
