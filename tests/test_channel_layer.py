"""songhub.channel_layer on the real Redis: publishes that arrive together share one round trip,
every message arrives in order, and a plain channels_redis process on the same Redis hears
them (rolling upgrades mix the two)."""

import asyncio
import uuid

import pytest
import pytest_asyncio
import redis.asyncio
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.conf import settings

from songhub.channel_layer import PipelinedPubSubChannelLayer, PipelinedShard

pytestmark = [pytest.mark.asyncio, pytest.mark.redis]


@pytest_asyncio.fixture
async def layers():
    prefix = f"test-layer-{uuid.uuid4().hex[:8]}"
    sender = PipelinedPubSubChannelLayer(hosts=[settings.REDIS_URL], prefix=prefix)
    listener = RedisPubSubChannelLayer(hosts=[settings.REDIS_URL], prefix=prefix)
    yield sender, listener
    for layer in (sender, listener):
        await layer.flush()


async def test_group_sends_made_together_share_round_trips_and_all_arrive_in_order(layers):
    sender, listener = layers
    channels = {}
    for room in range(20):
        channels[room] = await listener.new_channel()
        await listener.group_add(f"room.{room}", channels[room])
    await asyncio.sleep(0.2)  # SUBSCRIBE is asynchronous on the server side

    async def send_three(room):
        for n in range(3):
            await sender.group_send(f"room.{room}", {"type": "room.event", "n": n})

    await asyncio.gather(*(send_three(room) for room in range(20)))
    for room, channel in channels.items():
        heard = [(await asyncio.wait_for(listener.receive(channel), 5))["n"] for _ in range(3)]
        assert heard == [0, 1, 2], room
    shard = sender._get_layer()._shards[0]
    assert isinstance(shard, PipelinedShard)
    # 60 publishes: the first alone, then the rest in a few batches, never one round trip each
    assert shard.publishes.calls <= 10


async def test_a_publish_while_redis_is_unreachable_raises_and_the_next_one_works(layers):
    sender, listener = layers
    channel = await listener.new_channel()
    await listener.group_add("room.1", channel)
    await asyncio.sleep(0.2)
    unreachable = PipelinedPubSubChannelLayer(hosts=["redis://127.0.0.1:1"], prefix="x")
    with pytest.raises(Exception):
        await unreachable.group_send("room.1", {"type": "room.event", "n": 0})
    await sender.group_send("room.1", {"type": "room.event", "n": 1})
    assert (await asyncio.wait_for(listener.receive(channel), 5))["n"] == 1


async def test_a_send_beyond_the_sender_publishes_only_when_another_process_subscribes(layers):
    sender, listener = layers
    own = await sender.new_channel()
    await sender.group_add("room.1", own)
    await asyncio.sleep(0.2)

    async def beyond(n):
        return await sender.group_send_beyond("room.1", {"type": "room.event", "n": n}, sender=own)

    # only the sender's own subscription: Redis sends nothing, in a batch or alone
    assert await asyncio.gather(*(beyond(n) for n in range(3))) == [0, 0, 0]
    other = await listener.new_channel()  # a process running plain channels_redis counts too
    await listener.group_add("room.1", other)
    await asyncio.sleep(0.2)
    assert await beyond(3) == 2
    assert (await asyncio.wait_for(listener.receive(other), 5))["n"] == 3
    # the sender's channel got only what was published: n=3, never 0-2
    assert (await asyncio.wait_for(sender.receive(own), 5))["n"] == 3


async def test_a_batch_of_sends_is_one_script_call_and_each_reaches_its_own_listeners(layers):
    sender, listener = layers
    own = await sender.new_channel()
    for room in range(20):
        await sender.group_add(f"room.{room}", own)
    heard = await listener.new_channel()  # another process listens to room 0 only
    await listener.group_add("room.0", heard)
    # sees every PUBLISH to this test's channels, and counts in no NUMSUB
    watcher = redis.asyncio.from_url(settings.REDIS_URL).pubsub()
    await watcher.psubscribe(f"{sender.prefix}*")
    await asyncio.sleep(0.2)
    shard = sender._get_layer()._shards[0]
    shard._ensure_redis()
    calls = []
    for command in ("eval", "publish", "pipeline"):
        real = getattr(shard._redis, command)
        setattr(shard._redis, command, lambda *a, _real=real, _name=command, **k:
                calls.append(_name) or _real(*a, **k))
    reached = await asyncio.gather(
        *(sender.group_send_beyond(f"room.{room}", {"type": "room.event", "n": room}, sender=own)
          for room in range(20)),
        sender.group_send("room.0", {"type": "room.event", "n": "plain"}))
    # room 0 has another listener: published (the watcher's pattern counts in PUBLISH's reply,
    # not in NUMSUB); rooms 1-19 have none: not sent at all
    assert reached[:20] == [3] + [0] * 19
    assert calls == ["eval"] * len(calls) and len(calls) <= 3  # one script call per batch
    assert [(await asyncio.wait_for(listener.receive(heard), 5))["n"] for _ in range(2)] == [
        0, "plain"]
    published, deadline = [], asyncio.get_running_loop().time() + 0.5
    while asyncio.get_running_loop().time() < deadline:
        message = await watcher.get_message(ignore_subscribe_messages=True, timeout=0.1)
        if message is not None:
            published.append(message["channel"].decode())
    assert published == [sender._get_layer()._get_group_channel_name("room.0")] * 2
    await watcher.aclose()


async def test_after_redis_restarts_a_sender_not_yet_resubscribed_still_publishes(layers):
    sender, listener = layers
    own = await sender.new_channel()
    await sender.group_add("room.1", own)
    other = await listener.new_channel()
    await listener.group_add("room.1", other)
    await asyncio.sleep(0.2)
    # what a Redis restart leaves until the sender's connection resubscribes: the other process
    # is back, the sender is not (its own channel and the group go in one SUBSCRIBE)
    shard = sender._get_layer()._shards[0]
    await shard._pubsub.unsubscribe()
    await asyncio.sleep(0.2)
    assert await sender.group_send_beyond("room.1", {"type": "room.event", "n": 1},
                                          sender=own) == 1
    assert (await asyncio.wait_for(listener.receive(other), 5))["n"] == 1


async def test_a_publish_the_acl_refuses_fails_alone_and_the_rest_go_once(layers):
    """A channel this Redis user may not publish to (an ACL with channel patterns) fails its
    own send; the batch's other messages are sent once, not again as plain publishes."""
    sender, listener = layers
    admin = redis.asyncio.from_url(settings.REDIS_URL)
    user = f"songhub-channels-{uuid.uuid4().hex[:8]}"
    prefix = sender.prefix
    await admin.acl_setuser(user, enabled=True, nopass=True, keys=["~*"], commands=["+@all"],
                            channels=[f"{prefix}specific.*", f"{prefix}__group__room.1"])
    try:
        url = settings.REDIS_URL.replace("redis://", f"redis://{user}@", 1)
        limited = PipelinedPubSubChannelLayer(hosts=[url], prefix=prefix)
        own = await limited.new_channel()
        await limited.group_add("room.1", own)
        other = await listener.new_channel()
        await listener.group_add("room.1", other)
        await asyncio.sleep(0.2)
        sent = await asyncio.gather(  # the first alone, then a batch: 3 is sent before 2 fails
            limited.group_send_beyond("room.1", {"type": "room.event", "n": 1}, sender=own),
            limited.group_send_beyond("room.1", {"type": "room.event", "n": 3}, sender=own),
            limited.group_send("room.2", {"type": "room.event", "n": 2}),  # refused
            return_exceptions=True)
        assert sent[:2] == [2, 2]
        assert isinstance(sent[2], redis.exceptions.ResponseError)
        assert "can't publish" in str(sent[2])
        heard = [(await asyncio.wait_for(listener.receive(other), 5))["n"] for _ in range(2)]
        assert heard == [1, 3]
        with pytest.raises(asyncio.TimeoutError):  # nothing twice
            await asyncio.wait_for(listener.receive(other), 0.3)
        assert limited._get_layer()._shards[0].scripting  # one refused channel is not a refusal
        await limited.flush()
    finally:
        await admin.acl_deluser(user)
        await admin.aclose()


async def test_a_redis_that_refuses_scripts_gets_plain_publishes(layers):
    sender, listener = layers
    admin = redis.asyncio.from_url(settings.REDIS_URL)
    user = f"songhub-noscript-{uuid.uuid4().hex[:8]}"
    await admin.acl_setuser(user, enabled=True, nopass=True, keys=["~*"], channels=["*"],
                            commands=["+@all", "-@scripting"])
    try:
        url = settings.REDIS_URL.replace("redis://", f"redis://{user}@", 1)
        limited = PipelinedPubSubChannelLayer(hosts=[url], prefix=sender.prefix)
        own = await limited.new_channel()
        await limited.group_add("room.1", own)
        other = await listener.new_channel()
        await listener.group_add("room.1", other)
        await asyncio.sleep(0.2)
        reached = await asyncio.gather(*(limited.group_send_beyond(
            "room.1", {"type": "room.event", "n": n}, sender=own) for n in range(3)))
        assert reached == [2, 2, 2]  # published to all, the sender's own echo included
        heard = [(await asyncio.wait_for(listener.receive(other), 5))["n"] for _ in range(3)]
        assert heard == [0, 1, 2]
        await limited.flush()
    finally:
        await admin.acl_deluser(user)
        await admin.aclose()
