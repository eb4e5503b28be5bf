"""Named, process-wide exclusive locks: one ingestion run, one artist-linker run at a time.

PostgreSQL: a session advisory lock (works across pods). SQLite (embedded default, one host):
an flock on a file in SONG_DATA_DIR.
"""

import fcntl
import zlib
from contextlib import contextmanager

from django.conf import settings
from django.db import connection


class Busy(Exception):
    """Someone else holds the lock."""


@contextmanager
def exclusive(name: str):
    if connection.vendor == "postgresql":
        key = advisory_key(name)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
            if not cursor.fetchone()[0]:
                raise Busy(f"another {name} run is in progress")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
        return
    settings.SONG_DATA_DIR.mkdir(parents=True, exist_ok=True)
    with open(settings.SONG_DATA_DIR / f".{name}.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Busy(f"another {name} run is in progress") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def advisory_key(name: str) -> int:
    return zlib.crc32(f"songhub:{name}".encode())
