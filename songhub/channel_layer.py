"""channels_redis' pub/sub channel layer, with the PUBLISHes that arrive together sent as one
pipeline.

redis-py spends ~0.2 ms of event-loop CPU on each command it sends alone, ~0.04 ms per
command in a pipeline of 20 (this machine). With 20 rooms turning pages at once, one PUBLISH
per page change was a fifth of daphne's event loop (py-spy, bench/rooms_fanout.py; #13). Here a
publish that finds none in flight goes at once, as before, and those that arrive meanwhile go
together in the next round trip (songhub.coalesce). Every group_send of the process gets it;
messages, channels and groups are channels_redis' own, so processes with and without this
class share a Redis.
"""

from __future__ import annotations

from channels_redis.pubsub import RedisPubSubChannelLayer, RedisSingleShardConnection

from .coalesce import Coalescer


class PipelinedShard(RedisSingleShardConnection):
    def __init__(self, host, channel_layer):
        super().__init__(host, channel_layer)
        self.publishes = Coalescer(self._publish_all)

    async def publish(self, channel, message):
        await self.publishes.submit((channel, message))

    async def _publish_all(self, messages: list[tuple[str, bytes]]) -> list:
        async with self._lock:
            self._ensure_redis()
            if len(messages) == 1:  # a lone publish: a plain command is cheaper than a pipeline
                return [await self._redis.publish(*messages[0])]
            async with self._redis.pipeline(transaction=False) as pipeline:
                for channel, message in messages:
                    pipeline.publish(channel, message)
                # one message's error is its own caller's, not every caller's in the pipeline
                return await pipeline.execute(raise_on_error=False)


class PipelinedPubSubChannelLayer(RedisPubSubChannelLayer):
    """`channels_redis.pubsub.RedisPubSubChannelLayer` with pipelined publishes."""

    def _get_layer(self):
        layer = super()._get_layer()
        if not isinstance(layer._shards[0], PipelinedShard):  # its first use on this loop
            layer._shards = [PipelinedShard(shard.host, layer) for shard in layer._shards]
        return layer
