"""Frames over daphne's WebSocket limit (`websocket_max_message_size`, 1 MiB) never reach the
consumer: autobahn fails the connection with 1009 and the client is left guessing. This hooks
autobahn's documented `_max_message_size_exceeded` on daphne's protocol so the client first
gets the same `error` frame the consumer sends for frames over ROOMS_MAX_MESSAGE_BYTES, then
the close (1009). Installed once by songhub.asgi (which only ASGI servers load), when daphne
is importable: other processes never pay for importing Twisted.
"""

from __future__ import annotations

import logging

from .events import encode

logger = logging.getLogger(__name__)


def install() -> None:
    try:
        from daphne.ws_protocol import WebSocketProtocol
    except ImportError:  # not served by daphne (tests with ASGI communicators, WSGI)
        return
    if getattr(WebSocketProtocol, "_songhub_oversize", False):
        return
    original = WebSocketProtocol._max_message_size_exceeded

    def _max_message_size_exceeded(self, msg_size, max_msg_size, reason):
        try:
            self.sendMessage(encode("error", {
                "error_type": "VALIDATION_ERROR", "message": "Message too large.",
                "details": {"limit_bytes": max_msg_size, "closing": True}}).encode())
        except Exception:  # the socket may already be going; the close still follows
            logger.debug("could not send the oversize error frame", exc_info=True)
        # a close handshake, not a dropped TCP connection: with a drop, the unread rest of the
        # big message makes the kernel reset the socket and the client loses our frame
        self.failByDrop = False
        original(self, msg_size, max_msg_size, reason)

    WebSocketProtocol._max_message_size_exceeded = _max_message_size_exceeded
    WebSocketProtocol._songhub_oversize = True
