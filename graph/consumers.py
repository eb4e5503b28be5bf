"""`/ws/graph`: a read-only stream of `graph_updated` frames for open graph pages."""

from channels.generic.websocket import AsyncWebsocketConsumer

from .events import GROUP


class GraphConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        await self.channel_layer.group_add(GROUP, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        await self.channel_layer.group_discard(GROUP, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        pass  # nothing to ask: the page only listens

    async def graph_event(self, event):
        await self.send(text_data=event["frame"])
