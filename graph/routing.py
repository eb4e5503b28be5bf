"""WebSocket routes of the graph, mounted by songhub.asgi beside the rooms' routes."""

from django.urls import path

from .consumers import GraphConsumer

websocket_urlpatterns = [path("ws/graph", GraphConsumer.as_asgi())]
