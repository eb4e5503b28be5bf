"""Daphne's socket writes, sent at once when nothing is queued.

Twisted buffers every `transport.write` and sends it on the next reactor turn: it registers
the socket for writability (an epoll_ctl), waits a loop iteration, sends, and unregisters
(another epoll_ctl). For a room event going to 200 WebSockets that was ~30 % of daphne's
event-loop time (py-spy, bench/rooms_fanout.py; #13). asyncio's own transports, and the
bare websockets server the bench uses as the floor, try the send first and buffer only what
the kernel did not take. This does the same for plain TCP connections whose buffer is empty;
anything else (TLS, data already queued, a closing connection, a socket error, the part the
kernel did not take) takes Twisted's path unchanged, so ordering, back-pressure (a producer is
paused only once data is queued) and error handling stay Twisted's.

Installed once by songhub.asgi when Twisted is importable (only ASGI servers load it).
"""

from __future__ import annotations


def install() -> None:
    try:
        from twisted.internet import tcp
    except ImportError:  # not served by daphne
        return
    if getattr(tcp.Connection, "_songhub_write_through", False):
        return
    buffered_write = tcp.Connection.write

    def write(self, data) -> None:
        if (self.TLS or self.dataBuffer or self._tempDataBuffer or not self.connected
                or self.disconnecting or self._writeDisconnecting or self._writeDisconnected
                or not isinstance(data, bytes)):
            return buffered_write(self, data)
        try:
            sent = self.socket.send(data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:  # Twisted's path meets the same error and closes the connection
            return buffered_write(self, data)
        if sent < len(data):
            buffered_write(self, data[sent:])

    tcp.Connection.write = write
    tcp.Connection._songhub_write_through = True
