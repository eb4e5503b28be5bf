"""Coalescing: work that arrives while a round trip is in flight goes together in the next one.

On a busy event loop the cost of many small round trips (a PostgreSQL statement, a Redis
PUBLISH) is mostly per call, not per item: with 20 rooms turning pages at once, one UPDATE or
one pipeline for all of them costs a fraction of 20 (#13, docs/performance.md). A lone item
pays nothing for this: it runs at once, in its caller's task.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

Waiting = list[tuple[Any, asyncio.Future]]


def take_all(waiting: Waiting) -> tuple[Waiting, Waiting]:
    return waiting, []


class Coalescer:
    """Runs `run(items)` (an async callable returning one result per item, in order; an
    exception as an item's result is raised in that item's caller) one call at a time. An item
    that finds no call running goes at once in its caller's task; items that arrive meanwhile
    wait and go together in the next call. `pick(waiting)` splits the waiting (item, future)
    pairs into this call's and later calls' (default: all now). Belongs to one event loop."""

    def __init__(self, run: Callable[[list], Awaitable[list]],
                 pick: Callable[[Waiting], tuple[Waiting, Waiting]] = take_all):
        self.run, self.pick = run, pick
        self.waiting: Waiting = []
        self.busy = False
        self.draining: asyncio.Task | None = None  # held: the loop keeps only weak references
        self.calls = 0  # for tests and the curious: how many calls ran

    async def submit(self, item):
        """`item`'s result; raises what its call raised."""
        future = asyncio.get_running_loop().create_future()
        self.waiting.append((item, future))
        if not self.busy:  # nothing runs, so the waiting list is just this item
            self.busy = True
            try:
                await self._call()
            finally:
                if self.waiting:
                    self.draining = asyncio.create_task(self._drain())
                else:
                    self.busy = False
        return await future

    async def _drain(self) -> None:
        try:
            while self.waiting:
                await self._call()
        finally:
            self.busy = False

    async def _call(self) -> None:
        batch, self.waiting = self.pick(self.waiting)
        if not batch:
            return
        self.calls += 1
        try:
            results = await self.run([item for item, _ in batch])
            for (_, future), result in zip(batch, results, strict=True):
                if future.done():  # its caller went away meanwhile
                    continue
                if isinstance(result, Exception):  # this item failed, the others did not
                    future.set_exception(result)
                else:
                    future.set_result(result)
        except Exception as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
