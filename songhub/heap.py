"""Garbage-collector settings for long-running server processes (songhub.asgi)."""

import gc


def settle_after_startup() -> None:
    """Everything imported at start-up lives as long as the process: move it out of the
    collector's generations, so a full collection walks only what requests allocate, and
    collect less often. With the defaults a 500-node graph answer (~50,000 objects) set off a
    full collection over all of Django every few requests: +120 ms each time (bench/graph.py)."""
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
