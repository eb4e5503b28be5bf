"""Rooms under faults and churn (#11.5, #11.8, #11.10, #12.10): a Redis of our own that we stop
and start (never the shared one), two deployments on one Redis, hundreds of guests coming and
going, reloads, and the reaper."""

import asyncio
import json
import subprocess
import time
from datetime import timedelta

import pytest
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.test import Client
from django.utils import timezone

from rooms import events, guests, services
from songhub.channel_layer import PipelinedPubSubChannelLayer
from rooms.models import Connection, Participant
from tests.helpers import free_port
from tests.test_rooms_consumer import Peer, db

pytestmark = pytest.mark.django_db(transaction=True)


class RedisServer:
    """A throwaway redis-server on a free loopback port."""

    def __init__(self, tmp_path):
        self.port, self.dir, self.process = free_port(), tmp_path, None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        import redis

        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.dir)], stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                redis.Redis.from_url(self.url, socket_timeout=0.5).ping()
                return self
            except redis.ConnectionError:
                time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture
def own_redis(tmp_path):
    server = RedisServer(tmp_path).start()
    yield server
    if server.process.poll() is None:
        server.stop()


# --- #11.5 two deployments on one Redis --------------------------------------------------------
@pytest.mark.asyncio
async def test_two_deployments_on_one_redis_do_not_hear_each_others_rooms(own_redis, settings):
    assert settings.CHANNEL_LAYER_PREFIX  # a setting, derived from the database name
    blue = PipelinedPubSubChannelLayer(hosts=[own_redis.url], prefix="songhub-blue")
    green = RedisPubSubChannelLayer(hosts=[own_redis.url], prefix="songhub-green")
    blue_twin = RedisPubSubChannelLayer(hosts=[own_redis.url], prefix="songhub-blue")
    try:
        listeners = {}
        for name, layer in (("green", green), ("blue_twin", blue_twin)):
            listeners[name] = await layer.new_channel()
            await layer.group_add(events.room_group(1), listeners[name])
        await blue.group_send(events.room_group(1), {"type": "room.event", "frame": "hello"})
        # control: the same prefix (another replica of blue) hears it
        heard = await asyncio.wait_for(blue_twin.receive(listeners["blue_twin"]), 5)
        assert heard["frame"] == "hello"
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(green.receive(listeners["green"]), 1)
    finally:
        for layer in (blue, green, blue_twin):
            await layer.flush()


# --- #11.8 Redis outage -----------------------------------------------------------------------
def post(client, url, data=None):
    return client.post(url, json.dumps(data or {}), content_type="application/json")


@pytest.mark.asyncio
async def test_a_redis_outage_loses_no_committed_change_and_followers_resync(own_redis, settings,
                                                                           room, song, host):
    settings.CHANNEL_LAYERS = {"default": {
        "BACKEND": "songhub.channel_layer.PipelinedPubSubChannelLayer",
        "CONFIG": {"hosts": [own_redis.url], "prefix": "songhub-outage"}}}
    settings.ROOMS_PING_SECONDS = 0.3
    browser = Client()
    await db(browser.force_login, host)
    assert (await db(post, browser, f"/rooms/{room.id}/song", {"song_id": song.id})).status_code \
        == 200
    follower = await Peer.open(client_type="viewer", room_id=room.id, name="Follower")
    controller = await Peer.open(host, "controller", room.id)
    await follower.expect("room_state")
    failures = events.stats["broadcast_failures"]

    await asyncio.to_thread(own_redis.stop)
    turned = await db(post, browser, f"/rooms/{room.id}/page", {"page": 2})
    assert turned.status_code == 200 and turned.json()["current_page"] == 2
    late_guest = await db(post, Client(), f"/rooms/{room.id}/join", {"name": "Late"})
    assert late_guest.status_code == 200
    await controller.send("set_page", {"page": 3, "request_id": "ws-turn"})
    ack = await controller.expect("ack", lambda p: p["request_id"] == "ws-turn", timeout=15)
    assert ack["success"] is True
    assert events.stats["broadcast_failures"] >= failures + 3

    await asyncio.to_thread(own_redis.start)  # the same port: the layer reconnects
    resync = await follower.expect("room_state", lambda s: s["song"]["current_page"] == 3,
                                   timeout=20)
    assert "Late" in {p["name"] for p in resync["participants"]}
    # and events from elsewhere (a REST turn sends through Redis, not the socket's relay) flow
    # again once the subscription is back (it reconnects within seconds)
    async def keep_turning():
        for n in range(40):
            await db(post, browser, f"/rooms/{room.id}/page", {"page": 1 + n % 2})
            await asyncio.sleep(0.5)

    turner = asyncio.create_task(keep_turning())
    try:
        await follower.expect("page_updated", lambda p: p["room_version"] > resync["room_version"],
                              timeout=20)
    finally:
        turner.cancel()
    await follower.close()
    await controller.close()


# --- #11.10 guests leave; the reaper ------------------------------------------------------------
@pytest.mark.asyncio
async def test_300_guests_come_and_go_and_one_participant_remains(room):
    async def visit(n):
        peer = await Peer.open(client_type="viewer")
        await peer.send("join_room", {"room_id": room.id, "name": f"Guest {n}", "request_id": n})
        await peer.expect("ack", timeout=30)  # generous: the machine is shared
        await peer.ws.disconnect(timeout=30)  # let the consumer finish its disconnect

    for start in range(0, 300, 10):
        await asyncio.gather(*(visit(n) for n in range(start, start + 10)))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        active = await db(lambda: list(Participant.objects.filter(room=room, left_at=None)))
        if len(active) == 1:
            break
        await asyncio.sleep(0.2)
    assert [p.role for p in active] == ["host"]
    assert await db(Connection.objects.filter(room=room).count) == 0


def test_the_reaper_removes_members_without_a_live_connection(room, guest_user, settings):
    settings.ROOMS_CLIENT_TIMEOUT_SECONDS = 90
    rest_guest = services.join(room.id, guest_name="Never connected")
    user_member = services.join(room.id, user=guest_user)
    fresh = services.join(room.id, guest_name="Just arrived")
    long_ago = timezone.now() - timedelta(seconds=200)
    # a socket on a replica that crashed: its row stays, silent
    Connection.objects.create(room=room, channel_name="dead-replica!1", client_type="viewer",
                              participant=user_member, last_seen=long_ago)
    Participant.objects.filter(pk__in=[rest_guest.pk, user_member.pk]).update(last_seen=long_ago)
    assert services.reap_stale() == 2
    active = set(Participant.objects.filter(room=room, left_at=None).values_list("pk", flat=True))
    host_id = Participant.objects.get(room=room, role="host").pk
    assert active == {host_id, fresh.pk}
    assert not Connection.objects.filter(room=room).exists()


# --- #12.10 a guest keeps its identity across reloads -------------------------------------------
@pytest.mark.asyncio
async def test_a_guest_reloading_rejoins_as_the_same_participant_listed_once(room):
    browser = Client()
    page = await db(browser.get, f"/rooms/{room.id}", headers={"Accept": "text/html"})
    cookie = page.cookies[guests.COOKIE].value
    assert guests.read({guests.COOKIE: cookie})
    header = f"{guests.COOKIE}={cookie}".encode()

    first = Peer(header)
    assert (await first.ws.connect())[0]
    await first.send("handshake", {"client_type": "viewer"})
    await first.send("join_room", {"room_id": room.id, "name": "Ann", "request_id": 1})
    me = (await first.expect("ack"))["result"]["participant_id"]
    await first.close()  # reload: the socket goes away ...

    again = Peer(header)  # ... and the page comes back, without asking for the name
    assert (await again.ws.connect())[0]
    await again.send("handshake", {"client_type": "viewer"})
    await again.send("join_room", {"room_id": room.id, "request_id": 2})
    assert (await again.expect("ack"))["result"]["participant_id"] == me
    state = await again.expect("room_state")
    assert [p["name"] for p in state["participants"]].count("Ann") == 1
    html = (await db(browser.get, f"/rooms/{room.id}",
                     headers={"Accept": "text/html"})).content.decode()
    assert 'data-guest-name="Ann"' in html
    await again.close()
