"""Rooms over real daphne servers and a real WebSocket client: one server end to end, and two
servers sharing the Redis channel layer (a viewer on one follows a host on the other)."""

import json
import time

import pytest
from django.test import Client
from websockets.sync.client import connect

from rooms import services
from tests.helpers import Daphne, subprocess_env

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def cookie_for(user) -> str:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


class Socket:
    def __init__(self, stack, server: Daphne, cookie: str | None = None):
        headers = {"Cookie": cookie} if cookie else None
        self.ws = stack.enter_context(connect(f"ws://127.0.0.1:{server.port}/ws",
                                              origin=server.url, additional_headers=headers,
                                              open_timeout=10))

    def send(self, name, payload):
        self.ws.send(json.dumps([name, payload]))

    def expect(self, name, where=lambda p: True, timeout=5.0):
        deadline = time.monotonic() + timeout
        while True:
            frame = json.loads(self.ws.recv(timeout=max(0.01, deadline - time.monotonic())))
            if frame[0] == name and where(frame[1]):
                return frame[1]

    def join(self, client_type, room_id, **extra):
        self.send("handshake", {"client_type": client_type})
        self.send("join_room", {"room_id": room_id, "request_id": "join", **extra})
        ack = self.expect("ack", lambda p: p["request_id"] == "join")
        assert ack["success"], ack
        return self


@pytest.fixture
def sockets():
    """Open WebSockets, closed at the end of the test."""
    from contextlib import ExitStack

    with ExitStack() as stack:
        yield lambda server, cookie=None: Socket(stack, server, cookie)


@pytest.fixture
def servers(tmp_path, request):
    started = []

    def start(count=1):
        for n in range(count):
            env = subprocess_env(tmp_path / f"data{n}")
            started.append(Daphne(env, tmp_path / f"daphne{n}.log").wait_ready())
        return started

    yield start
    for server in started:
        server.stop()


def test_end_to_end_over_one_real_daphne(servers, sockets, room, song, host):
    (server,) = servers(1)
    viewer = sockets(server).join("viewer", room.id, name="Ann")
    controller = sockets(server, cookie_for(host)).join("controller", room.id)
    controller.send("select_song", {"song_id": song.id})
    assert viewer.expect("song_updated")["title"] == "Amazing Grace"
    controller.send("set_page", {"page": 2})
    assert viewer.expect("page_updated")["current_page"] == 2


@pytest.mark.redis
def test_two_replicas_share_the_redis_channel_layer(servers, sockets, room, song, host):
    a, b = servers(2)
    viewer = sockets(b).join("viewer", room.id, name="Ann")
    controller = sockets(a, cookie_for(host)).join("controller", room.id)
    controller.send("select_song", {"song_id": song.id})
    assert viewer.expect("song_updated")["song_id"] == song.id
    for page in (2, 3, 1):
        controller.send("set_page", {"page": page})
        assert viewer.expect("page_updated")["current_page"] == page  # in commit order
    services_room = services.get_open_room(room.id)
    assert services_room.current_page == 1


def test_a_frame_over_one_mib_gets_the_error_frame_before_the_close(servers, sockets, room):
    from websockets.exceptions import ConnectionClosed

    (server,) = servers(1)
    viewer = sockets(server).join("viewer", room.id, name="Ann")
    viewer.send("pong", {"pad": "x" * (1024 * 1024 + 10)})
    error = viewer.expect("error", timeout=10)
    assert error["message"] == "Message too large." and error["details"]["closing"] is True
    with pytest.raises(ConnectionClosed) as closed:
        viewer.expect("never", timeout=10)
    assert closed.value.rcvd.code == 1009


def test_daphne_stops_promptly_on_sigterm_as_members_leave(servers, room, host):
    """Members leave as the server is told to stop (the usual end of a session, and what a
    rolling deploy does). Each leave broadcasts; that send used to wait on the server's event
    loop from a database thread, forever once the loop had stopped: daphne never exited and
    Kubernetes had to kill it."""
    from contextlib import ExitStack

    (server,) = servers(1)
    with ExitStack() as stack:
        Socket(stack, server, cookie_for(host)).join("controller", room.id)
        for n in range(5):
            Socket(stack, server).join("viewer", room.id, name=f"Viewer {n}")
    started = time.monotonic()  # the sockets just closed; their leaves are in flight
    server.process.terminate()
    server.process.wait(timeout=20)
    assert time.monotonic() - started < 5



def test_answers_a_client_reads_late_arrive_whole_and_in_order(tmp_path, room):
    """A client sends far faster than it reads: daphne's sends meet a full kernel buffer, so
    songhub.write_through hands the rest to Twisted's queue. Every answer still arrives,
    whole, once, in order (sends at once and queued sends never interleave)."""
    import socket
    import threading

    server = Daphne(subprocess_env(tmp_path / "data", ROOMS_MESSAGES_PER_SECOND=100000,
                                   ROOMS_MESSAGE_BURST=100000), tmp_path / "daphne.log")
    try:
        server.wait_ready()
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", server.port))
        with connect(f"ws://127.0.0.1:{server.port}/ws", sock=sock, origin=server.url,
                     open_timeout=10, max_queue=None) as ws:
            count, pad = 250, "x" * 40_000  # ~10 MB of acks, each echoing its request_id
            ids = [f"{n:04d}-{pad}" for n in range(count)]
            sender = threading.Thread(target=lambda: [
                ws.send(json.dumps(["pong", {"request_id": request_id}])) for request_id in ids])
            sender.start()
            time.sleep(4)  # nothing read yet: the server's writes back up
            acks = []
            while len(acks) < count:
                frame = json.loads(ws.recv(timeout=20))
                if frame[0] == "ack":
                    acks.append(frame[1]["request_id"])
            sender.join(10)
        assert acks == ids
    finally:
        server.stop()
