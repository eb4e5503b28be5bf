"""channels_redis' pub/sub channel layer, with the PUBLISHes that arrive together sent in one
round trip (one script; a pipeline where Redis refuses scripts), and a group send that skips
Redis when the sending process is the group's only subscriber (rooms.relay).

redis-py spends ~0.2 ms of event-loop CPU on each command it sends alone, ~0.04 ms per
command in a pipeline of 20 (this machine). With 20 rooms turning pages at once, one PUBLISH
per page change was a fifth of daphne's event loop (py-spy, bench/rooms_fanout.py; #13). Here a
publish that finds none in flight goes at once, as before, and those that arrive meanwhile go
together in the next round trip (songhub.coalesce). Every group_send of the process gets it;
messages, channels and groups are channels_redis' own, so processes with and without this
class share a Redis.
"""

from __future__ import annotations

import logging

from channels_redis.pubsub import RedisPubSubChannelLayer, RedisSingleShardConnection
from redis.exceptions import NoPermissionError, ResponseError

from .coalesce import Coalescer

logger = logging.getLogger(__name__)

#: Publishes a batch in one command: ARGV holds (channel, message, sender) triples. With an
#: empty sender the message is PUBLISHed; otherwise only when a connection other than the
#: sender's subscribes to the channel. The sender's connection is the one subscribed to its own
#: channel: redis-py restores a connection's subscriptions in one SUBSCRIBE after a reconnect,
#: so the two counts agree on whether it is there. PUBSUB NUMSUB counts every subscribed
#: connection, whatever code it runs (pattern subscriptions are not counted; nothing here uses
#: them). One EVAL instead of a pipeline of N commands: redis-py packs one command and parses
#: one reply, a third of the pipeline's event-loop time with 20 rooms turning pages at once.
#: Every count comes first, so a refusal there (an ACL without PUBSUB) stops the script before
#: anything was sent; a PUBLISH that fails (a channel the ACL refuses) is that message's error
#: alone. Returns per message the subscriptions reached (0: nobody else listens, not sent).
PUBLISH_ALL = """
local others = {}
for i = 1, #ARGV, 3 do
  local channel, sender = ARGV[i], ARGV[i + 2]
  if sender == '' then
    others[#others + 1] = 1
  else
    others[#others + 1] = redis.call('PUBSUB', 'NUMSUB', channel)[2]
      - redis.call('PUBSUB', 'NUMSUB', sender)[2]
  end
end
local reached = {}
for n = 1, #others do
  if others[n] > 0 then
    reached[n] = redis.pcall('PUBLISH', ARGV[3 * n - 2], ARGV[3 * n - 1])
  else
    reached[n] = 0
  end
end
return reached
"""


def refuses_scripts(error: ResponseError) -> bool:
    """Redis will never run the script for this user (an ACL without @scripting or PUBSUB, or
    EVAL renamed away), as opposed to a passing failure such as a script of someone else's
    keeping Redis busy."""
    return isinstance(error, NoPermissionError) or "unknown command" in str(error).lower()


class PipelinedShard(RedisSingleShardConnection):
    """A shard whose publishes that arrive together go in one round trip: one call of
    PUBLISH_ALL, or a pipeline of PUBLISHes where Redis refuses scripts. (The class names,
    which settings name, predate the script.)"""

    def __init__(self, host, channel_layer):
        super().__init__(host, channel_layer)
        self.publishes = Coalescer(self._publish_all)
        self.scripting = True  # off once Redis refuses EVAL (an ACL without @scripting)

    async def publish(self, channel, message, sender: str | None = None):
        """PUBLISH; with `sender` (a channel this connection subscribes to), only if another
        connection subscribes to `channel`. Returns the number of subscriptions reached (with
        `sender`, 0 when nobody else listens and nothing was sent)."""
        return await self.publishes.submit((channel, message, sender))

    async def _publish_all(self, messages: list[tuple[str, bytes, str | None]]) -> list:
        async with self._lock:
            self._ensure_redis()
            if self.scripting and (len(messages) > 1 or messages[0][2] is not None):
                try:
                    return await self._redis.eval(PUBLISH_ALL, 0, *(
                        part for channel, message, sender in messages
                        for part in (channel, message, sender or "")))
                except ResponseError as exc:  # the script sent nothing: send the batch plainly
                    if refuses_scripts(exc):
                        self.scripting = False
                        logger.warning("Redis refused the publish script (%s); room events are "
                                       "published to every process from now on", exc)
                    else:
                        logger.warning("the publish script failed (%s); %d message(s) go to "
                                       "every process", exc, len(messages))
            return await self._send_plainly(messages)

    async def _send_plainly(self, messages: list[tuple[str, bytes, str | None]]) -> list:
        """PUBLISH each message (to every subscriber, the sender included)."""
        if len(messages) == 1:  # a lone publish: a plain command is cheaper than a pipeline
            try:
                return [await self._redis.publish(*messages[0][:2])]
            except ResponseError as exc:
                return [exc]
        async with self._redis.pipeline(transaction=False) as pipeline:
            for channel, message, _ in messages:
                pipeline.publish(channel, message)
            # one message's error is its own caller's, not every caller's in the pipeline
            return await pipeline.execute(raise_on_error=False)


class PipelinedPubSubChannelLayer(RedisPubSubChannelLayer):
    """`channels_redis.pubsub.RedisPubSubChannelLayer` with batched publishes (PipelinedShard)."""

    def _get_layer(self):
        layer = super()._get_layer()
        if not isinstance(layer._shards[0], PipelinedShard):  # its first use on this loop
            layer._shards = [PipelinedShard(shard.host, layer) for shard in layer._shards]
        return layer

    async def group_send_beyond(self, group: str, message: dict, sender: str) -> int:
        """`group_send` for a member of the group, its channel `sender`, that delivered the
        message itself (and ignores it coming back): Redis publishes it only when another
        process subscribes to the group. How many subscriptions it reached (0: none but the
        sender's, nothing was sent; -1: a sharded layer, which always publishes)."""
        layer = self._get_layer()
        channel = layer._get_group_channel_name(group)
        if len(layer._shards) > 1:  # the sender's channel may live on another shard: send
            await layer._get_shard(channel).publish(channel, self.serialize(message))
            return -1
        return await layer._shards[0].publish(channel, self.serialize(message), sender)
