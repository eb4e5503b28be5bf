"""Autobahn's debug-log arguments, built only when a debug line is written.

autobahn's WebSocket protocol passes `hltype(...)` and `hlval(...)` (names coloured through
click) to `log.debug` for every frame it sends and every read, whether debug logging is on or
not: ~8 % of daphne's event-loop time with 20 rooms turning pages at once (py-spy,
bench/rooms_fanout.py; #13). Twisted's and txaio's loggers format an event's fields only
when a line is written, so handing them a wrapper that builds the text when formatted defers
the work to then; the text of a written line is unchanged.

Installed once by songhub.asgi (loaded by daphne, and by tests).
"""

from __future__ import annotations

import functools
import importlib

HELPERS = ("hltype", "hlval")
MODULES = ("autobahn.websocket.protocol", "autobahn.twisted.websocket")


class BuiltWhenFormatted:
    """`fn(*args, **kwargs)`, called when formatted."""

    __slots__ = ("fn", "args", "kwargs")

    def __init__(self, fn, *args, **kwargs):
        self.fn, self.args, self.kwargs = fn, args, kwargs

    def __format__(self, spec: str) -> str:
        return format(self.fn(*self.args, **self.kwargs), spec)

    def __str__(self) -> str:
        return str(self.fn(*self.args, **self.kwargs))


def install() -> None:
    for module_name in MODULES:
        module = importlib.import_module(module_name)  # daphne's dependency: always installed
        if getattr(module, "_songhub_lazy_log_args", False):
            continue
        for name in HELPERS:
            setattr(module, name, functools.partial(BuiltWhenFormatted, getattr(module, name)))
        module._songhub_lazy_log_args = True
