"""One channel-layer subscription per room per server process, fanned out to that process' room
sockets in one pass.

With a group membership per socket, every room event crossed the channel layer once per
viewer: 200 queue puts, 200 decodes, 200 consumer tasks woken, each through Channels'
`await_many_dispatch` and dispatch, before a single frame was written. That was about a third
of daphne's event-loop time when a room of 200 followed its host (py-spy, bench/rooms_fanout.py;
#13). Here the process joins the room's group once (its own layer channel), decodes each
message once and hands it to every local member's handler directly (in `room_version` order,
below).

Only the public channel-layer API is used (`new_channel`, `group_add`, `group_send`, `receive`,
`group_discard`, and `group_send_beyond` where the layer has it), so the in-memory layer of the
embedded default and the Redis layer behave alike, and events still reach other processes'
sockets through the layer. Relays belong to an event loop (daphne has one; in-process tests
open one per test).

A message sent from a loop that has the room's relay (`send`) goes to that loop's sockets at
once, then to the layer for other processes, tagged with the relay's channel so the relay
drops it when it comes back. On the Redis layer (songhub.channel_layer) it then costs no fan-out
at all when no other process has a socket in the room: with every socket of a room in one
process, the PUBLISH, its receipt through redis-py and the round trip before the first frame
were a fifth of daphne's CPU per page turn (#13). The relay counts itself as a subscriber only
once its subscription is confirmed (its probe came back), so a process whose SUBSCRIBE Redis
has not yet run never leaves others out.

Room events reach the sockets in `room_version` order. Every version is one event, but two
commands' events can arrive the other way round: threads that committed one after the other
return in the other order, or this process' own event is delivered before another process'
older one has crossed Redis. An event that arrives before the one it follows waits for it up
to REORDER_SECONDS; if that never comes (Redis lost it), the rest go on, and each socket sees
the gap and fetches a fresh snapshot (rooms.consumers).
"""

from __future__ import annotations

import asyncio
import logging
import weakref

from channels.layers import get_channel_layer

from . import events

logger = logging.getLogger(__name__)

_relays: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # loop -> {room_id: Relay}
#: how long a relay waits for each probe of its subscription (doubling; then it gives up and
#: its process' messages go to every subscriber, as without confirmation)
PROBE_SECONDS = (0.1, 0.2, 0.4, 0.8, 1.6)
#: how long an event waits for an older one still on its way
REORDER_SECONDS = 0.1


class Relay:
    """A room's subscription in this process and the sockets it feeds."""

    def __init__(self, room_id: int):
        self.group = events.room_group(room_id)
        self.layer = get_channel_layer()
        self.members: set = set()
        self.channel: str | None = None
        self.reader: asyncio.Task | None = None
        self.confirmed = asyncio.Event()  # Redis runs the subscription: our probe came back
        self.version: int | None = None  # the newest room_version handed to the sockets
        self.early: dict[int, dict] = {}  # events waiting for an older one, by room_version
        self.waiting: asyncio.TimerHandle | None = None
        self.catching_up: asyncio.Future | None = None
        self.handing_out = asyncio.Lock()
        self.started = asyncio.ensure_future(self._start())

    @property
    def running(self) -> bool:
        return (self.started.done() and not self.started.cancelled()
                and self.started.exception() is None)

    async def _start(self) -> None:
        self.channel = await self.layer.new_channel("rooms.relay.")
        await self.layer.group_add(self.group, self.channel)
        self.reader = asyncio.create_task(self._read())
        await self._confirm()

    async def _confirm(self) -> None:
        """Send probes through the group until one comes back. The probe looks like a room event
        older than any snapshot, which every consumer drops, whatever code its process runs."""
        probe = {"type": "room.event", "name": "relay_probe", "room_version": 0, "frame": "",
                 "origin": self.channel}
        for wait in PROBE_SECONDS:
            await self.layer.group_send(self.group, probe)
            try:
                await asyncio.wait_for(self.confirmed.wait(), wait)
                return
            except TimeoutError:
                continue
        logger.warning("%s: the subscription was not confirmed; this process' messages go to "
                       "every subscriber", self.group)

    async def _read(self) -> None:
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:  # a layer hiccup: keep the room going
                logger.exception("%s: could not read a room message", self.group)
                await asyncio.sleep(0.5)
                continue
            if message.get("origin") == self.channel:  # ours: delivered when sent (or a probe)
                self.confirmed.set()
            elif message.get("name") != "relay_probe":  # another process' probe: not for sockets
                await self.deliver(message)

    async def deliver(self, message: dict) -> None:
        """Hand `message` to every socket of the room in this process; a room event only after
        the version before it (or REORDER_SECONDS)."""
        version = message.get("room_version")
        if version is None or self.version is None or version <= self.version:
            if version is not None and self.version is None:
                self.version = version
            await self._hand_out([message])  # presence, the first event seen, or a stale one
        elif version > self.version + 1:  # the one before it is still on its way
            self.early[version] = message
            if self.waiting is None:
                self.waiting = asyncio.get_running_loop().call_later(REORDER_SECONDS,
                                                                     self._give_up_waiting)
        else:
            ready = [message]
            self.version = version
            while self.version + 1 in self.early:
                self.version += 1
                ready.append(self.early.pop(self.version))
            if not self.early and self.waiting is not None:
                self.waiting.cancel()
                self.waiting = None
            await self._hand_out(ready)

    def _give_up_waiting(self) -> None:
        self.catching_up = asyncio.ensure_future(self._stop_waiting())  # held: not collected

    async def _stop_waiting(self) -> None:
        """The older event never came: go on with the rest, in order (sockets see the gap)."""
        self.waiting = None
        ready = [self.early.pop(version) for version in sorted(self.early)]
        if ready:
            logger.info("%s: room version %s never arrived; going on", self.group,
                        self.version + 1)
            self.version = ready[-1]["room_version"]
            await self._hand_out(ready)

    async def _hand_out(self, messages: list[dict]) -> None:
        async with self.handing_out:  # one batch at a time: every socket sees one order
            for message in messages:
                for member in list(self.members):  # one member's failure never starves the rest
                    try:
                        await member.room_message(message)
                    except Exception:
                        logger.exception("%s: a socket failed to take a room message",
                                         self.group)

    async def send(self, message: dict) -> None:
        """This process' sockets first, then other processes' through the layer."""
        message = {**message, "origin": self.channel}
        await self.deliver(message)
        beyond = getattr(self.layer, "group_send_beyond", None)
        if beyond is not None and self.confirmed.is_set():
            await beyond(self.group, message, sender=self.channel)
        else:  # it comes back to us too, and is dropped
            await self.layer.group_send(self.group, message)

    async def stop(self) -> None:
        self.confirmed.clear()  # sends still under way reach every subscriber
        if self.waiting is not None:
            self.waiting.cancel()
        self.started.cancel()
        if self.reader is not None:
            self.reader.cancel()
        if self.channel is not None:
            try:
                await self.layer.group_discard(self.group, self.channel)
            except Exception as exc:  # layer down: the subscription dies with the layer's
                logger.warning("%s: group_discard failed: %r", self.group, exc)


def _room_relays() -> dict[int, Relay]:
    return _relays.setdefault(asyncio.get_running_loop(), {})


async def join(room_id: int, member) -> None:
    """Feed `member` (its `room_message`) the room's messages from now on. Raises when the
    channel layer cannot subscribe (e.g. Redis is down): nothing is kept and the caller retries
    later."""
    relays = _room_relays()
    relay = relays.get(room_id)
    if relay is None:
        relay = relays[room_id] = Relay(room_id)
    try:
        await asyncio.shield(relay.started)
    except Exception:
        if relays.get(room_id) is relay:  # the first joiner to see the failure cleans up
            del relays[room_id]
            await relay.stop()  # e.g. subscribed, then the probe could not be sent
        raise
    relay.members.add(member)


async def leave(room_id: int, member) -> None:
    """Stop feeding `member`; the room's last socket in this process ends the subscription."""
    relays = _room_relays()
    relay = relays.get(room_id)
    if relay is None:
        return
    relay.members.discard(member)
    if not relay.members and relay.started.done():
        del relays[room_id]
        await relay.stop()


async def send(room_id: int, message: dict) -> None:
    """Send a room message to every socket of the room, in every process: through this loop's
    relay when it has one (its sockets at once), else through the channel layer. Raises when
    the layer cannot take it."""
    relay = _room_relays().get(room_id)
    if relay is None or not relay.running:
        await get_channel_layer().group_send(events.room_group(room_id), message)
    else:
        await relay.send(message)
