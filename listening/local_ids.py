"""Deterministic ids for local files, which Spotify gives none (the seed's exact scheme)."""


def local_track_id(uri: str) -> str:
    """`spotify:local:Artist:Album:Title:123` -> ':' + 21 characters; same file, same id."""
    cleaned = uri.replace("%2C", "").replace("+", "").replace("%28", "").replace(":", "")
    return (":" + cleaned[12:30] + uri[-3:])[:22]


def local_artist_id(name: str) -> str:
    return (":" + name).zfill(22)[:22]


def export_artist_id(name: str) -> str:
    """A provisional artist for a name from the data export, which carries no artist ids:
    ':' + 21 hex digits of the name's hash. On a Spotify track (id without ':') an artist
    whose id starts with ':' is provisional; the linker replaces it with Spotify's."""
    import hashlib

    return ":" + hashlib.sha256(name.casefold().encode()).hexdigest()[:21]
