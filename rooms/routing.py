"""WebSocket URL routes, mounted by songhub.asgi."""

websocket_urlpatterns = []
