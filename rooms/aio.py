"""Page turns, pongs and sync checks on the event loop: the rooms' hottest statements
without a thread hop.

A page turn is one statement (`services.TURN_PAGES`). Run through Django it costs a hop to a
database thread, a pooled connection's health check (one more round trip) and that thread's
fight with the event loop for the GIL; with 20 rooms turning pages at once those waits queued
up behind four threads (#13). Here the statement runs on a small psycopg `AsyncConnectionPool`
owned by the server's event loop, and the event goes straight to the channel layer. Turns
that arrive together (rooms changing page at once) share one statement: psycopg's execute
path was a quarter of the event loop's time with 20 rooms turning pages at once.

Only the common case runs here: `turn_page` returns None whenever the statement matched no row
or the database could not be reached, and the consumer then takes the ordinary thread path
(`services.set_page`), which gives the precise error. The pong (`touch`) and the periodic
version check (`room_version`), one statement each and sent by every client every
ROOMS_PING_SECONDS, raise `Unavailable` instead, and the consumer runs them in a thread.
PostgreSQL only; ROOMS_ASYNC_DB_CONNECTIONS = 0 turns it off. The connections count against
the pod's budget (docs/deployment.md).
"""

from __future__ import annotations

import asyncio
import logging
import weakref

import psycopg
from psycopg.types.numeric import Int8Dumper
from django.conf import settings
from django.db import connections

from songhub.coalesce import Coalescer, Waiting

from . import events, services

logger = logging.getLogger(__name__)

#: one pool per event loop (daphne has one; in-process tests open a loop per test), kept
#: while room sockets on that loop are open (`hold` / `release`)
_pools: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_holders: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
#: after a failure (e.g. the database went away) statements take the thread path until then,
#: so an outage costs one statement in COOL_DOWN_SECONDS a wait of CONNECTION_WAIT_SECONDS
_cooling: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
CONNECTION_WAIT_SECONDS = 1.0
COOL_DOWN_SECONDS = 5.0
#: connection failures this process met on either path (`note_outage`): the database may have
#: come back without its last commits (asynchronous commit, a failover), and then rooms reuse
#: version numbers, which no version comparison can tell; rooms.consumers resyncs its sockets
_outages = 0


def note_outage() -> None:
    global _outages
    _outages += 1


def outages() -> int:
    return _outages


def enabled() -> bool:
    return (settings.ROOMS_ASYNC_DB_CONNECTIONS > 0
            and connections["default"].vendor == "postgresql")


async def _pool():
    from psycopg_pool import AsyncConnectionPool

    loop = asyncio.get_running_loop()
    pool = _pools.get(loop)
    if pool is None:
        params = connections["default"].get_connection_params()
        # Django's client-side cursor and adapters are for the ORM; plain psycopg binds here.
        for key in ("cursor_factory", "context"):
            params.pop(key, None)
        if settings.ROOMS_PREPARED_STATEMENTS:
            # Django turns them off (prepare_threshold=None) for poolers; these few statements
            # run thousands of times, and prepared they take half the round trip (PostgreSQL's
            # parse and plan of TURN_PAGES was ~0.45 ms of 0.9; docs/deployment.md)
            params.pop("prepare_threshold", None)
        params["autocommit"] = True
        params["application_name"] = "songhub-rooms"  # so pg_stat_activity tells them apart
        # all of them from the start (they count against the budget anyway): one opened when
        # a pong and a page turn first overlap would keep one of them waiting for _configure
        size = settings.ROOMS_ASYNC_DB_CONNECTIONS
        pool = _pools[loop] = AsyncConnectionPool(
            kwargs=params, min_size=size, max_size=size, open=False, name="songhub-rooms",
            timeout=settings.DB_POOL_TIMEOUT_SECONDS, num_workers=1, configure=_configure)
        await pool.open()
    return pool


#: PostgreSQL plans a prepared statement afresh at each of its first five runs, then keeps a
#: generic plan if that costs no more: after six, the choice is made
PLAN_CHOICE_RUNS = 6


async def _configure(conn) -> None:
    """Ready a new connection of the pool before anyone waits on it (the pool opens at a
    room's first join, `hold`). A new PostgreSQL backend reads its catalogs and plans at its
    first statements: the first page turns of 20 rooms at once waited for ~6 ms of that (#13).
    So each room statement runs here, matching no row (there is no room 0). Every int goes out
    as bigint, so each statement has one prepared form whatever its ids' size (psycopg keys a
    prepared statement by parameter types: int2[] for small ids, int4[] and int8[] later);
    a statement added here must take its ints as bigint (or cast them)."""
    conn.adapters.register_dumper(int, Int8Dumper)
    runs = PLAN_CHOICE_RUNS if settings.ROOMS_PREPARED_STATEMENTS else 1
    try:
        for sql, params in ((services.TURN_PAGES, services.turn_pages_params([(0, 0, 1)])),
                            (services.ROOM_VERSION, {"room": 0}),
                            (services.TOUCH_ASYNC_COMMIT, services.touch_params(""))):
            for _ in range(runs):
                await conn.execute(sql, params, prepare=settings.ROOMS_PREPARED_STATEMENTS)
    except psycopg.DatabaseError as exc:  # e.g. a schema not yet migrated: the connection is
        # still good, and the statement, when used, fails into the thread path, which says why
        logger.warning("warming a room statement failed: %r", exc)


class Unavailable(Exception):
    """The loop path cannot run this now (off, cooling down, database away): use a thread."""


async def _fetch(sql: str, params: dict, what: str) -> list:
    """One statement on this loop's pool; the rows it returned."""
    if not enabled():
        raise Unavailable(what)
    loop = asyncio.get_running_loop()
    if loop.time() < _cooling.get(loop, 0.0):
        raise Unavailable(what)
    try:
        pool = await _pool()
        async with pool.connection(timeout=CONNECTION_WAIT_SECONDS) as conn:
            try:
                cursor = await conn.execute(sql, params)
                return await cursor.fetchall() if cursor.description else []
            except psycopg.Error:
                if conn.broken:  # the server went away, not just this statement
                    note_outage()
                # the pool replaces a closed connection: no prepared statement outlives a
                # failure (a migration changed a result type, a pooler lost it)
                await conn.close()
                raise
    except Exception as exc:  # database away, pool exhausted: the thread path reports it
        _cooling[loop] = loop.time() + COOL_DOWN_SECONDS
        logger.warning("%s on the event loop failed (room statements take the thread path for "
                       "%.0f s): %r", what, COOL_DOWN_SECONDS, exc)
        raise Unavailable(what) from exc


async def _fetch_one(sql: str, params: dict, what: str):
    """Its first row (None: no row)."""
    rows = await _fetch(sql, params, what)
    return rows[0] if rows else None


def _one_turn_per_room(waiting: Waiting) -> tuple[Waiting, Waiting]:
    """A statement takes at most one turn per room (a room's second turn waits for the
    statement after, so its order holds) and none whose socket went away while it waited
    (run, it would change the page with no event to anyone)."""
    batch, later, rooms = [], [], set()
    for turn, future in waiting:
        if future.done():
            continue
        (later if turn[0] in rooms else batch).append((turn, future))
        rooms.add(turn[0])
    return batch, later


class PageTurns(Coalescer):
    """The page turns of this loop, one statement at a time: a lone turn runs at once; turns
    that arrive while a statement runs go together in the next (songhub.coalesce)."""

    def __init__(self):
        super().__init__(self._statement, pick=_one_turn_per_room)

    async def turn(self, room_id: int, participant_id: int, page: int):
        """The room's row (None: refused); raises Unavailable."""
        return await self.submit((room_id, participant_id, page))

    @staticmethod
    async def _statement(turns: list[tuple[int, int, int]]) -> list:
        rows = await _fetch(services.TURN_PAGES, services.turn_pages_params(turns),
                            f"{len(turns)} page turn(s)")
        by_room = {row[0]: row for row in rows}
        return [by_room.get(room_id) for room_id, _, _ in turns]


_page_turns: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # loop -> PageTurns


def page_turns() -> PageTurns:
    loop = asyncio.get_running_loop()
    turns = _page_turns.get(loop)  # every page turn asks: one weak-key lookup, not two
    if turns is None:
        turns = _page_turns[loop] = PageTurns()
    return turns


async def turn_page(room_id: int, participant_id: int, page) -> dict | None:
    """`services.turn_page` on the event loop; None: take the thread path instead (which also
    says why the statement refused, if it did)."""
    if not services.valid_page_number(page):
        return None
    try:
        row = await page_turns().turn(room_id, participant_id, page)
    except Unavailable:
        return None
    if row is None:
        return None
    version, state = services.page_turned(room_id, participant_id, page, row)
    await events.send_collected([(room_id, events.room_event(version, "page_updated", state))])
    return dict(state)


async def room_version(room_id: int) -> int | None:
    """`services.room_version` on the event loop (every client's periodic sync check)."""
    row = await _fetch_one(services.ROOM_VERSION, {"room": room_id},
                           f"room {room_id}: version check")
    return None if row is None else row[0]


async def touch(channel_name: str) -> None:
    """`services.touch` on the event loop (every client's pong)."""
    await _fetch_one(services.TOUCH_ASYNC_COMMIT, services.touch_params(channel_name), "pong")


async def hold() -> None:
    """A room socket on this loop may turn pages: keep the loop's pool until it `release`s,
    and have it connect now (in the background), so the room's first page turn does not wait
    for a new PostgreSQL connection."""
    loop = asyncio.get_running_loop()
    _holders[loop] = _holders.get(loop, 0) + 1
    if enabled():
        try:
            await _pool()
        except Exception as exc:  # the statements will say so, and take the thread path
            logger.warning("room statements' pool could not open: %r", exc)


async def release() -> None:
    """The socket is gone; the last one on this loop closes the pool (no connections are left
    behind by a loop that ends, e.g. a test's)."""
    loop = asyncio.get_running_loop()
    _holders[loop] = max(0, _holders.get(loop, 0) - 1)
    if _holders[loop] == 0:
        pool = _pools.pop(loop, None)
        if pool is not None:
            await pool.close()
