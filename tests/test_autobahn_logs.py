"""songhub.autobahn_logs: autobahn's per-frame debug arguments cost nothing until a debug line
is written, and a written line reads as before."""

from autobahn import util
from autobahn.twisted import websocket as twisted_websocket
from autobahn.websocket import protocol
from twisted.logger import formatEvent

from songhub import autobahn_logs


def test_debug_arguments_are_built_only_when_a_line_is_written(monkeypatch):
    autobahn_logs.install()
    autobahn_logs.install()  # daphne may import songhub.asgi twice: wrap once
    built = []
    eager_hl = util.hl
    monkeypatch.setattr(util, "hl", lambda *args, **kwargs: built.append(args)
                        or eager_hl(*args, **kwargs))
    peer = "tcp:127.0.0.1:40000"
    for module in (protocol, twisted_websocket):
        func, where = module.hltype(protocol.WebSocketProtocol.sendData), module.hlval(peer)
        assert built == [], module  # what sendData and dataReceived pass to log.debug
        line = formatEvent({"log_format": "{func} sent 9 bytes for peer {peer}",
                            "func": func, "peer": where})
        expected = (f"{util.hltype(protocol.WebSocketProtocol.sendData)} sent 9 bytes for "
                    f"peer {util.hlval(peer)}")
        assert line == expected
        assert str(where) == util.hlval(peer)
        built.clear()
