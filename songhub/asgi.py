"""ASGI entry point: HTTP through Django, WebSockets through Channels (see rooms.routing)."""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "songhub.settings")
django_asgi_app = get_asgi_application()  # first: sets up apps before consumers import models

from songhub.checks import assert_safe_to_start  # noqa: E402

assert_safe_to_start()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from graph.routing import websocket_urlpatterns as graph_websockets  # noqa: E402
from rooms.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns + graph_websockets))
        ),
    }
)

# Everything imported so far lives as long as the process: keep it out of the garbage
# collector's generations so full collections stay short under many WebSocket clients.
gc.freeze()
gc.set_threshold(50_000, 20, 100)  # fewer, cheaper collections under many small messages
