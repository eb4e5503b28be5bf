"""WebSocket URL routes, mounted by songhub.asgi."""

from django.urls import path

from .consumers import RoomConsumer

websocket_urlpatterns = [path("ws", RoomConsumer.as_asgi())]
