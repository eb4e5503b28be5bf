"""`/health` must not leave anything behind in Redis (issue #11.9): a readiness probe every 10 s
would otherwise add a pub/sub subscription (and a client) per call, forever."""

import urllib.request

import pytest
import redis

from tests.helpers import Daphne, subprocess_env

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow,
              pytest.mark.django_db(transaction=True)]


def redis_usage(client, prefix: str, db: int) -> tuple[int, int]:
    """(pub/sub channels under the deployment's prefix, clients connected to our Redis DB)."""
    channels = client.pubsub_channels(f"{prefix}*")
    clients = [c for c in client.client_list() if int(c.get("db", -1)) == db]
    return len(channels), len(clients)


def test_health_leaves_no_subscription_or_client_behind_after_50_calls(settings, tmp_path):
    server = Daphne(subprocess_env(settings.SONG_DATA_DIR), tmp_path / "daphne.log").wait_ready()
    client = redis.Redis.from_url(settings.REDIS_URL)
    db = client.connection_pool.connection_kwargs.get("db", 0)
    try:
        def probe():
            with urllib.request.urlopen(server.url + "/health", timeout=10) as response:
                body = response.read()
                assert response.status == 200, body
                assert b'"channel_layer": "ok"' in body and b'"redis": "ok"' in body

        probe()  # the first call may open the process's long-lived connections
        before = redis_usage(client, settings.CHANNEL_LAYER_PREFIX, db)
        for _ in range(50):
            probe()
        after = redis_usage(client, settings.CHANNEL_LAYER_PREFIX, db)
    finally:
        server.stop()
        client.close()
    assert after[0] <= before[0], f"pub/sub channels grew from {before[0]} to {after[0]}"
    assert after[1] <= before[1] + 2, f"Redis clients grew from {before[1]} to {after[1]}"
