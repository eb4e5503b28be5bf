"""rooms.relay on the configured channel layer (Redis in CI): a room's sockets in one process
share one subscription, get every message in order, and outlive each other's failures; what
the process sends reaches its own sockets at once and Redis only when another process listens."""

import asyncio

import pytest
import redis.asyncio
from channels.layers import get_channel_layer
from django.conf import settings

from rooms import relay
from rooms.events import room_group
from songhub.channel_layer import PipelinedPubSubChannelLayer

pytestmark = pytest.mark.asyncio


class Member:
    def __init__(self, fail=False):
        self.messages, self.fail = [], fail
        self.arrived = asyncio.Event()

    async def room_message(self, message):
        self.messages.append(message["n"])
        self.arrived.set()
        if self.fail:
            raise RuntimeError("this socket is broken")


async def until(predicate, timeout=5.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_one_subscription_feeds_every_socket_of_the_room_in_order(monkeypatch):
    layer = get_channel_layer()
    taken = []
    real_receive = layer.receive

    async def counting_receive(channel):
        message = await real_receive(channel)
        if "n" in message:  # not the relay's own probe of its subscription
            taken.append(channel)
        return message

    monkeypatch.setattr(layer, "receive", counting_receive)
    room_id = 90_001
    members = [Member(), Member(fail=True), Member()]
    await asyncio.gather(*(relay.join(room_id, member) for member in members))
    for n in range(5):
        await layer.group_send(room_group(room_id), {"type": "room.event", "n": n})
    await until(lambda: all(len(member.messages) == 5 for member in members))

    assert [member.messages for member in members] == [[0, 1, 2, 3, 4]] * 3
    assert len(taken) == 5, "each message is taken from the layer once, not once per socket"
    assert len(set(taken)) == 1

    for member in members:
        await relay.leave(room_id, member)
    latecomer = Member()
    await relay.join(room_id, latecomer)  # a new subscription once the last one ended
    await layer.group_send(room_group(room_id), {"type": "room.event", "n": 5})
    await asyncio.wait_for(latecomer.arrived.wait(), 5)
    assert latecomer.messages == [5] and all(len(member.messages) == 5 for member in members)
    await relay.leave(room_id, latecomer)


async def test_a_failed_subscription_is_not_kept(monkeypatch):
    layer = get_channel_layer()
    real_group_add = layer.group_add

    async def layer_down(group, channel):
        raise ConnectionError("Redis is away")

    monkeypatch.setattr(layer, "group_add", layer_down)
    member = Member()
    with pytest.raises(ConnectionError):
        await relay.join(90_002, member)
    monkeypatch.setattr(layer, "group_add", real_group_add)
    await relay.join(90_002, member)  # the retry subscribes afresh
    await layer.group_send(room_group(90_002), {"type": "room.event", "n": 1})
    await asyncio.wait_for(member.arrived.wait(), 5)
    await relay.leave(90_002, member)


@pytest.mark.redis
async def test_a_message_goes_to_local_sockets_at_once_and_through_redis_only_for_others():
    room_id, group = 90_003, room_group(90_003)
    members = [Member(), Member()]
    for member in members:
        await relay.join(room_id, member)
    watcher = redis.asyncio.from_url(settings.REDIS_URL)
    published = watcher.pubsub()
    await published.psubscribe(f"*__group__{group}")  # sees every PUBLISH, counts in no NUMSUB
    assert (await published.get_message(timeout=5))["type"] == "psubscribe"

    await relay.send(room_id, {"type": "room.event", "n": 1})
    assert [member.messages for member in members] == [[1], [1]]  # before send returned

    other = PipelinedPubSubChannelLayer(hosts=[settings.REDIS_URL],
                                        prefix=settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"])
    other_channel = await other.new_channel()  # another process with a socket in the room
    await other.group_add(group, other_channel)
    await asyncio.sleep(0.2)  # SUBSCRIBE is asynchronous on the server side
    await relay.send(room_id, {"type": "room.event", "n": 2})
    assert (await asyncio.wait_for(other.receive(other_channel), 5))["n"] == 2
    # the first PUBLISH Redis saw for the room is n=2: n=1 never left this process
    first = await published.get_message(ignore_subscribe_messages=True, timeout=5)
    assert other.deserialize(first["data"])["n"] == 2
    await asyncio.sleep(0.2)  # n=2 came back to this process' relay too, which dropped it
    assert [member.messages for member in members] == [[1, 2], [1, 2]]

    await other.flush()
    await published.aclose()
    await watcher.aclose()
    for member in members:
        await relay.leave(room_id, member)


class Versions(Member):
    async def room_message(self, message):
        self.messages.append(message.get("room_version"))
        self.arrived.set()


async def test_room_events_reach_the_sockets_in_version_order_and_a_lost_one_stalls_briefly():
    layer, room_id = get_channel_layer(), 90_004
    member = Versions()
    await relay.join(room_id, member)

    def event(version):
        return {"type": "room.event", "name": "page_updated", "room_version": version}

    await relay.send(room_id, event(1))
    # another process' older event is still crossing Redis when this one's newer event is sent
    await relay.send(room_id, event(3))
    await layer.group_send(room_group(room_id), event(2))
    await until(lambda: len(member.messages) == 3)
    assert member.messages == [1, 2, 3]

    started = asyncio.get_running_loop().time()
    await relay.send(room_id, event(5))  # 4 was lost (Redis was down while it was sent)
    await relay.send(room_id, {"type": "room.presence", "leader": None, "client_count": 1})
    await relay.send(room_id, event(6))
    await until(lambda: 6 in member.messages)
    waited = asyncio.get_running_loop().time() - started
    assert member.messages == [1, 2, 3, None, 5, 6]  # presence has no version: it goes at once
    assert relay.REORDER_SECONDS <= waited < 2
    await relay.leave(room_id, member)
