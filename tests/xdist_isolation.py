"""Give each pytest-xdist worker its own Redis database and channel-layer prefix.

Loaded with `-p tests.xdist_isolation` (pytest.ini), so it runs before Django reads its settings.
pytest-django already gives every worker its own test database (`test_songhub_gw0`, …); without
this, two workers would share Redis: a room numbered 1 in both databases would hear the other's
pages (Redis pub/sub is global, hence the prefix), and one worker's Celery process could take the
other's tasks from the shared queue and run them against the wrong database."""

import os
from urllib.parse import urlsplit, urlunsplit

REDIS_DATABASES = 16  # redis.conf's default `databases`


def worker_redis_url(url: str, worker: str) -> str:
    """`redis://host:port/N` → the same server, database N + 1 + worker number (wrapping)."""
    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    number = int(worker.removeprefix("gw"))
    return urlunsplit(parts._replace(path=f"/{(base + 1 + number) % REDIS_DATABASES}"))


_worker = os.environ.get("PYTEST_XDIST_WORKER")
if _worker:
    if os.environ.get("REDIS_URL"):
        os.environ["REDIS_URL"] = worker_redis_url(os.environ["REDIS_URL"], _worker)
    os.environ["CHANNEL_LAYER_PREFIX"] = f"songhub-test-{_worker}"
