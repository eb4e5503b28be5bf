"""ASGI entry point: HTTP through Django, WebSockets through Channels (see rooms.routing)."""

import os

from django.core.asgi import get_asgi_application

from songhub.heap import settle_after_startup

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "songhub.settings")
django_asgi_app = get_asgi_application()  # first: sets up apps before consumers import models

from songhub.checks import assert_safe_to_start  # noqa: E402

assert_safe_to_start()

from channels.auth import AuthMiddleware  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import OriginValidator  # noqa: E402
from channels.sessions import CookieMiddleware, InstanceSessionWrapper, SessionMiddleware  # noqa: E402
from django.conf import settings  # noqa: E402

from graph.routing import websocket_urlpatterns as graph_websockets  # noqa: E402
from rooms import oversize  # noqa: E402
from songhub import autobahn_logs, write_through  # noqa: E402
from rooms.routing import websocket_urlpatterns  # noqa: E402

oversize.install()  # only an ASGI server loads this module, and only daphne's frames need it
write_through.install()
autobahn_logs.install()


class SocketSessionMiddleware(SessionMiddleware):
    """Channels' SessionMiddleware without its wrapper around a WebSocket's `send`. The wrapper
    saves a changed session on `http.response.start`, which a WebSocket never sends, but it
    reads the lazy session object on every frame: ~5 % of daphne's event loop with 20 rooms
    turning pages at once (#13). The socket still gets `scope["session"]` and, below,
    `scope["user"]`. Other scopes get Channels' own behaviour. (Uses Channels'
    InstanceSessionWrapper, as SessionMiddleware does; channels is pinned.)"""

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            return await super().__call__(scope, receive, send)
        wrapper = InstanceSessionWrapper(scope, send)
        await wrapper.resolve_session()
        return await self.inner(wrapper.scope, receive, send)


def websocket_origins() -> list[str]:
    """Channels' AllowedHostsOriginValidator list, plus CORS_ALLOWED_ORIGINS: a display page
    served from another origin may open the room WebSocket exactly when it may call the API."""
    hosts = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not hosts:
        hosts = ["localhost", "127.0.0.1", "[::1]"]
    return hosts + list(settings.CORS_ALLOWED_ORIGINS)


application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": OriginValidator(
            CookieMiddleware(SocketSessionMiddleware(AuthMiddleware(
                URLRouter(websocket_urlpatterns + graph_websockets)))),
            websocket_origins(),
        ),
    }
)

settle_after_startup()  # short, rare garbage collections under many clients and big answers
