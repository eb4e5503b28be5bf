#!/usr/bin/env python
"""Room fan-out benchmark: a real daphne on the Redis channel layer, real WebSocket clients.

Scenario 1: 200 viewers in one room; the host sends 100 page changes one at a time and we
time send -> the last viewer received (per-event delivery latency, p50/p99), then 100 changes
back to back (events/s delivered to all). Scenario 2: 20 rooms x 20 viewers, every host
turning pages at once. Scenario 3: 20 rooms x 1 viewer, all at once (commands of different
rooms must not wait for each other). Targets (#13): 1x200 p99 <= 25 ms, 20x20 p99 <= 50 ms,
20x1 p99 <= 10 ms.

Every scenario also runs against the physical floor: a bare `websockets` server in its own
process speaking the same frames (no database, no channel layer), on the same harness and
cores, printed beside each figure. Needs DATABASE_URL=postgres://... and REDIS_URL=redis://...
`--web-processes 2` starts two daphnes on the same Redis layer and spreads every room's
sockets over them round robin, as a load balancer in front of two web processes would.
"""

import argparse
import asyncio
import gc
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _django  # noqa: E402


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


_connecting: dict = {}  # event loop -> semaphore


async def open_socket(url, origin, cookie=None):
    """Connect, at most 50 handshakes at once (daphne's listen backlog), retrying resets."""
    import websockets

    gate = _connecting.setdefault(asyncio.get_running_loop(), asyncio.Semaphore(50))
    headers = {"Cookie": cookie} if cookie else None
    for attempt in range(5):
        try:
            async with gate:
                return await websockets.connect(url, origin=origin, additional_headers=headers,
                                                max_queue=None, open_timeout=30)
        except (OSError, websockets.InvalidMessage):
            if attempt == 4:
                raise
            await asyncio.sleep(0.2 * (attempt + 1))


async def join(ws, client_type, room_id, name=""):
    await ws.send(json.dumps(["handshake", {"client_type": client_type}]))
    await ws.send(json.dumps(["join_room", {"room_id": room_id, "name": name,
                                            "request_id": "join"}]))
    while True:
        frame = json.loads(await ws.recv())
        if frame[0] == "ack" and frame[1].get("request_id") == "join":
            assert frame[1]["success"], frame
            return


class Viewers:
    """One long-lived reader per viewer socket records when each page_updated arrives."""

    def __init__(self, sockets):
        self.sockets = sockets
        self.arrivals: dict[int, list[float]] = {}
        self.done: dict[int, asyncio.Event] = {}
        self.readers = [asyncio.create_task(self.read(ws)) for ws in sockets]

    def expect(self, version: int) -> asyncio.Event:
        self.arrivals[version] = []
        self.done[version] = asyncio.Event()
        return self.done[version]

    async def read(self, ws):
        import websockets

        try:
            async for raw in ws:
                name, payload = json.loads(raw)
                if name == "ping":  # answer like room.js, or the server drops us (4002)
                    await ws.send(json.dumps(["pong", {"timestamp": payload["timestamp"]}]))
                elif name == "page_updated":
                    arrivals = self.arrivals.setdefault(payload["version"], [])
                    arrivals.append(time.perf_counter())
                    if len(arrivals) == len(self.sockets) and payload["version"] in self.done:
                        self.done[payload["version"]].set()
        except websockets.ConnectionClosed:
            pass

    async def close(self):
        for ws in self.sockets:
            await ws.close()
        await asyncio.gather(*self.readers, return_exceptions=True)


def pick(servers, n):
    """The n-th connection's web process: round robin, as a load balancer spreads them."""
    return servers[n % len(servers)]


async def room_setup(servers, room_id, cookie, viewers):
    """`servers`: one {ws, origin} per web process; the room's sockets are spread over them."""
    host = await open_socket(pick(servers, room_id)["ws"], pick(servers, room_id)["origin"],
                             cookie)
    await join(host, "controller", room_id)
    sockets = []
    for start in range(0, viewers, 50):  # connect in waves
        batch = await asyncio.gather(*(open_socket(pick(servers, room_id + 1 + n)["ws"],
                                                   pick(servers, room_id + 1 + n)["origin"])
                                       for n in range(start, min(viewers, start + 50))))
        await asyncio.gather(*(join(ws, "viewer", room_id, f"v{start + i}")
                               for i, ws in enumerate(batch)))
        sockets += batch
    await host.send(json.dumps(["select_song", {"song_id": 1, "request_id": "song"}]))
    version = await host_version(host, "song")
    await asyncio.gather(*(drain_until(ws, "song_updated") for ws in sockets))
    host_reader = HostReader(host, version)
    return host_reader, Viewers(sockets)


class HostReader:
    """Reads the host's acks in the background so its socket never backs up."""

    def __init__(self, ws, version):
        self.ws, self.version = ws, version
        self.task = asyncio.create_task(self.read())

    async def read(self):
        import websockets

        try:
            async for raw in self.ws:
                name, payload = json.loads(raw)
                if name == "ping":
                    await self.ws.send(json.dumps(["pong", {"timestamp": payload["timestamp"]}]))
        except websockets.ConnectionClosed:
            pass

    async def turn(self, page) -> int:
        self.version += 1
        await self.ws.send(json.dumps(["set_page", {"page": page}]))
        return self.version

    async def close(self):
        await self.ws.close()
        await asyncio.gather(self.task, return_exceptions=True)


async def host_version(ws, request_id) -> int:
    while True:
        name, payload = json.loads(await ws.recv())
        if name == "ack" and payload.get("request_id") == request_id:
            return payload["result"]["version"]


async def drain_until(ws, name):
    while json.loads(await ws.recv())[0] != name:
        pass


def start_profile(servers) -> None:
    """BENCH_PROFILE=out.txt: py-spy (on PATH) records daphne while page changes flow
    (BENCH_PROFILE_SECONDS, default 8; BENCH_PROFILE_RATE samples/s, default 100)."""
    if os.environ.get("BENCH_PROFILE") and not servers[0].get("floor"):
        import subprocess

        subprocess.Popen(["py-spy", "record", "-p", os.environ["BENCH_DAPHNE_PID"], "-o",
                          os.environ["BENCH_PROFILE"], "-f", "raw",
                          "-d", os.environ.get("BENCH_PROFILE_SECONDS", "8"),
                          "-r", os.environ.get("BENCH_PROFILE_RATE", "100")])


async def one_room(servers, room_id, cookie, viewers, events):
    host, crowd = await room_setup(servers, room_id, cookie, viewers)
    gc.collect()
    gc.freeze()  # keep the measuring client's own GC pauses out of the server's figures
    start_profile(servers)
    latencies = []
    for n in range(events):
        done = crowd.expect(host.version + 1)
        sent = time.perf_counter()
        version = await host.turn(2 + n % 2)
        await asyncio.wait_for(done.wait(), 30)
        latencies.append(max(crowd.arrivals[version]) - sent)
    # back to back: how many page changes per second reach every viewer
    waits = []
    started = time.perf_counter()
    for n in range(events):
        waits.append(crowd.expect(host.version + 1))
        await host.turn(2 + n % 2)
    await asyncio.wait_for(asyncio.gather(*(w.wait() for w in waits)), 120)
    rate = events / (time.perf_counter() - started)
    await host.close()
    await crowd.close()
    gc.unfreeze()  # the next scenario freezes its own heap
    return latencies, rate


async def many_rooms(servers, rooms, viewers, events, cpu=lambda: 0.0):
    """Latencies, and the server CPU seconds (`cpu()`) per page change while they flowed."""
    setups = await asyncio.gather(*(room_setup(servers, room_id, cookie, viewers)
                                    for room_id, cookie in rooms))
    gc.collect()
    gc.freeze()  # as in one_room: the measuring client's GC pauses are not the server's
    start_profile(servers)
    latencies = []
    cpu_before = cpu()
    for n in range(events):
        rounds = []
        for host, crowd in setups:
            rounds.append((crowd, crowd.expect(host.version + 1), host.version + 1))
        sent = time.perf_counter()
        await asyncio.gather(*(host.turn(2 + n % 2) for host, _ in setups))
        for crowd, done, version in rounds:
            await asyncio.wait_for(done.wait(), 30)
            latencies.append(max(crowd.arrivals[version]) - sent)
    cpu_per_change = (cpu() - cpu_before) / (events * len(setups))
    for host, crowd in setups:
        await host.close()
        await crowd.close()
    gc.unfreeze()  # the next scenario freezes its own heap
    return latencies, cpu_per_change


def floor_server(port: int) -> None:
    """The floor: handshake/join/select_song/set_page with the same frames, in memory."""
    import websockets

    rooms: dict[int, set] = {}
    versions: dict[int, int] = {}

    async def handle(ws):
        room_id = None
        try:
            async for raw in ws:
                name, payload = json.loads(raw)
                request_id = payload.get("request_id")
                if name == "join_room":
                    room_id = int(payload["room_id"])
                    rooms.setdefault(room_id, set()).add(ws)
                    result = {"room_id": room_id}
                elif name in ("select_song", "set_page"):
                    versions[room_id] = versions.get(room_id, 0) + 1
                    event = "song_updated" if name == "select_song" else "page_updated"
                    frame = json.dumps([event, {"current_page": payload.get("page", 1),
                                                "version": versions[room_id]}])
                    websockets.broadcast(rooms[room_id], frame)
                    result = {"version": versions[room_id]}
                else:
                    result = None
                if request_id is not None:
                    await ws.send(json.dumps(["ack", {"request_id": request_id,
                                                      "success": True, "result": result}]))
        finally:
            if room_id is not None:
                rooms[room_id].discard(ws)

    async def serve():
        async with websockets.serve(handle, "127.0.0.1", port, max_queue=None):
            await asyncio.Future()

    asyncio.run(serve())


class Floor:
    def __init__(self):
        import subprocess

        from tests.helpers import free_port

        self.port = free_port()
        self.process = subprocess.Popen([sys.executable, __file__, "--floor-server",
                                         str(self.port)])
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 20
        import socket

        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("floor server did not start")

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def wake_up_floor() -> str:
    """A round of page turns after a pause reaches PostgreSQL connections that sat idle (in the
    20 x 1 run alone: since the rooms joined). Where idle CPUs halt (VMs), an idle process
    answers its first message late whatever it runs. This is that floor for one round trip
    to PostgreSQL after both ends slept, as a host's socket and the pool's backend did."""
    import psycopg

    cold, warm = [], []
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        conn.execute("SELECT 1")
        for _ in range(3):
            time.sleep(1.0)
            for sample in (cold, warm):
                started = time.perf_counter()
                conn.execute("SELECT 1").fetchall()
                sample.append((time.perf_counter() - started) * 1000)
    return (f"a SELECT 1 round trip to PostgreSQL after both ends slept 1 s: median "
            f"{percentile(cold, 50):.1f} ms (the next one: {percentile(warm, 50):.1f} ms)")


def figures(ms) -> str:
    return f"p50 {percentile(ms, 50):.1f} ms, p99 {percentile(ms, 99):.1f} ms"


def server_cpu(server) -> float:
    """utime + stime of a server process (daphne or the floor), from /proc (Linux)."""
    fields = Path(f"/proc/{server.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_room_scenario(daphnes, urls, floor_urls, host_room, viewers, events) -> None:
    room = host_room(0)
    cpu_before = sum(map(server_cpu, daphnes)), time.process_time()
    latencies, rate = asyncio.run(one_room(urls, *room, viewers, events))
    cpu_after = sum(map(server_cpu, daphnes)), time.process_time()
    floor_latencies, floor_rate = asyncio.run(one_room(floor_urls, 100, "", viewers, events))
    print(f"CPU seconds: daphne {cpu_after[0] - cpu_before[0]:.1f}, "
          f"bench clients {cpu_after[1] - cpu_before[1]:.1f}")
    ms = [x * 1000 for x in latencies]
    if os.environ.get("BENCH_VERBOSE"):
        print("slowest events (index, ms):", sorted(enumerate(ms), key=lambda t: -t[1])[:8])
        print("first 10:", [round(x) for x in ms[:10]])
    print(f"1 room x {viewers} viewers, {events} page changes: delivery to all "
          f"{figures(ms)}, max {max(ms):.1f} ms; back-to-back {rate:.0f} events/s "
          f"| floor {figures([x * 1000 for x in floor_latencies])}, {floor_rate:.0f} "
          f"events/s | {load()}")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--viewers", type=int, default=200)
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=50,
                        help="rounds of simultaneous page changes in the many-room scenarios")
    parser.add_argument("--web-processes", type=int, default=1,
                        help="daphne processes behind the Redis layer, sockets spread over them")
    parser.add_argument("--only", choices=("1x200", "20x20", "20x1"),
                        help="run one scenario (e.g. to profile it with BENCH_PROFILE)")
    parser.add_argument("--floor-server", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor_server:
        return floor_server(args.floor_server)
    if not os.environ.get("REDIS_URL") or not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("bench/rooms_fanout.py needs DATABASE_URL=postgres://... and REDIS_URL=redis://...")

    data_dir = _django.setup("rooms")
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    from ingestion.models import Song
    from rooms import services
    from tests.helpers import Daphne

    Song.objects.create(id=1, title="Bench", filename="b.cho", source_sha="x", page_count=3,
                        image_etag="e")
    User = get_user_model()
    settings.ALLOWED_HOSTS = ["testserver"]

    def host_room(n):
        user = User.objects.create_user(f"host{n}", password="bench-password-1")
        room = services.create_room(user, f"Room {n}")
        client = Client()
        client.force_login(user)  # a session row in the shared database; its key is the cookie
        return room.pk, f"sessionid={client.cookies['sessionid'].value}"

    env = {**os.environ, "DEBUG": "0", "SECRET_KEY": settings.SECRET_KEY,
           "SONG_DATA_DIR": str(data_dir), "ROOMS_MESSAGES_PER_SECOND": "100000",
           "ROOMS_MESSAGE_BURST": "100000", "LOG_LEVEL": "WARNING"}
    daphnes = [Daphne(env, _django.scratch("daphne") / "daphne.log").wait_ready()
               for _ in range(args.web_processes)]
    floor = Floor()
    os.environ["BENCH_DAPHNE_PID"] = str(daphnes[0].process.pid)
    urls = [{"ws": f"ws://127.0.0.1:{d.port}/ws", "origin": d.url} for d in daphnes]
    floor_urls = [{"ws": f"ws://127.0.0.1:{floor.port}/", "origin": floor.url, "floor": True}]
    print(f"start: {args.web_processes} daphne process(es); {load()}")
    print(f"wake-up floor: {wake_up_floor()}")
    try:
        if args.only in (None, "1x200"):
            one_room_scenario(daphnes, urls, floor_urls, host_room, args.viewers, args.events)
        for count, viewers in ((20, 20), (20, 1)):
            if args.only not in (None, f"{count}x{viewers}"):
                continue
            rooms = [host_room(n) for n in range(1000 * viewers + 1, 1000 * viewers + count + 1)]
            latencies, cpu = asyncio.run(many_rooms(
                urls, rooms, viewers, args.rounds, lambda: sum(map(server_cpu, daphnes))))
            ms = [x * 1000 for x in latencies]
            time.sleep(1)  # daphne closes the rooms' sockets: not on the floor's cores
            floor_rooms = [(200 + viewers * 100 + n, "") for n in range(count)]
            floor_latencies, floor_cpu = asyncio.run(many_rooms(
                floor_urls, floor_rooms, viewers, args.rounds, lambda: server_cpu(floor)))
            floor_ms = [x * 1000 for x in floor_latencies]
            if os.environ.get("BENCH_VERBOSE"):
                rounds = [round(max(ms[i:i + count])) for i in range(0, len(ms), count)]
                print("slowest delivery per round (ms):", rounds)
            print(f"{count} rooms x {viewers} viewers, {args.rounds} simultaneous page changes per room: "
                  f"{figures(ms)} | floor {figures(floor_ms)} | {load()}")
            print(f"  server CPU per page change: daphne {cpu * 1000:.2f} ms, "
                  f"floor {floor_cpu * 1000:.2f} ms; first round's slowest delivery: "
                  f"{max(ms[:count]):.1f} ms, floor {max(floor_ms[:count]):.1f} ms")
    except Exception:  # the log folder goes at exit: show why daphne misbehaved first
        for daphne in daphnes:
            daphne.log.seek(0)
            print(f"daphne {daphne.port} log (last 2,000 characters):\n"
                  f"{daphne.log.read()[-2000:]}", file=sys.stderr)
        raise
    finally:
        for daphne in daphnes:
            daphne.stop()
        floor.stop()


if __name__ == "__main__":
    main()
