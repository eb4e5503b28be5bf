"""The Spotify apps songhub may use, validated strictly (settings call this at start-up).

Spotify gives an app one of two API dialects: **development** mode (personal use; up to 5
users since February 2026; since 2026-03-09 a reduced Web API without batch endpoints or the
playlist `/tracks` path) and **extended** quota (the full API, no user cap). Each app in
`SPOTIFY_APPS` says which it is:

    [{"client_id": "…", "client_secret": "…", "mode": "development", "max_users": 5},
     {"client_id": "…", "client_secret": "…", "mode": "extended"}]

`mode` defaults to development; `max_users` defaults to SPOTIFY_APP_MAX_USERS (5) for a
development app and to no cap (`null`) for an extended one. Nothing here imports Django models,
so settings.py can import it.
"""

from __future__ import annotations

MODES = ("development", "extended")
KEYS = {"client_id", "client_secret", "mode", "max_users"}


def normalize(entries, default_cap: int) -> list[dict]:
    """`entries` (parsed JSON) as a list of complete app dicts; ValueError says what is wrong."""
    if not isinstance(entries, list):
        raise ValueError('SPOTIFY_APPS must be a JSON list of {"client_id": …, '
                         '"client_secret": …, "mode": …, "max_users": …} objects')
    apps, seen = [], set()
    for n, entry in enumerate(entries):
        where = f"SPOTIFY_APPS[{n}]"
        if not isinstance(entry, dict):
            raise ValueError(f"{where} must be an object")
        unknown = set(entry) - KEYS
        if unknown:
            raise ValueError(f"{where} has unknown keys {sorted(unknown)}; allowed: {sorted(KEYS)}")
        for key in ("client_id", "client_secret"):
            if not isinstance(entry.get(key), str) or not entry[key].strip():
                raise ValueError(f"{where} needs a non-empty string {key!r}")
        apps.append(app(entry["client_id"], entry["client_secret"],
                        entry.get("mode", "development"), entry.get("max_users", "default"),
                        default_cap, where))
        if entry["client_id"] in seen:
            raise ValueError(f"{where}: client_id {entry['client_id']!r} is listed twice")
        seen.add(entry["client_id"])
    return apps


def app(client_id: str, client_secret: str, mode, max_users, default_cap: int,
        where: str) -> dict:
    """One complete app dict; `max_users="default"` takes the mode's default."""
    if mode not in MODES:
        raise ValueError(f"{where}: mode must be one of {', '.join(MODES)}, not {mode!r}")
    if max_users == "default":
        max_users = default_cap if mode == "development" else None
    if max_users is not None and (not isinstance(max_users, int) or isinstance(max_users, bool)
                                  or max_users < 1):
        raise ValueError(f"{where}: max_users must be a positive integer or null, "
                         f"not {max_users!r}")
    return {"client_id": client_id, "client_secret": client_secret, "mode": mode,
            "max_users": max_users}
