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


def join_then_send(server: Daphne, room_id: int, last: str, until_close=10.0) -> list:
    """Join `room_id` as a viewer, send `last`, and return every frame the server sent, read
    to the end over a plain socket with websockets' sans-I/O protocol. (Its threaded client
    drops frames it has just read when its own close reply meets the server's reset: "If
    self.send_data raised an exception, then events are lost", websockets.sync.connection. A
    frame the server does not read to the end causes that reset.) `last` goes from a thread:
    the server may stop reading it."""
    import socket
    import threading

    from websockets.client import ClientProtocol
    from websockets.frames import Opcode
    from websockets.uri import parse_uri

    protocol = ClientProtocol(parse_uri(f"ws://127.0.0.1:{server.port}/ws"),
                              origin=server.url, max_size=None)
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=until_close)
    frames = []

    def read(until=lambda frame: False):
        while data := sock.recv(65536):
            protocol.receive_data(data)
            for frame in protocol.events_received():
                frames.append(frame)
                if until(frame):
                    return

    protocol.send_request(protocol.connect())
    sock.sendall(b"".join(protocol.data_to_send()))
    while not protocol.events_received():  # the handshake's response
        protocol.receive_data(sock.recv(65536))
    protocol.send_text(json.dumps(["handshake", {"client_type": "viewer"}]).encode())
    protocol.send_text(json.dumps(["join_room", {"room_id": room_id, "request_id": "join",
                                                 "name": "Ann"}]).encode())
    sock.sendall(b"".join(protocol.data_to_send()))
    read(until=lambda frame: frame.opcode is Opcode.TEXT and json.loads(frame.data)[0] == "ack")
    protocol.send_text(last.encode())
    data = b"".join(protocol.data_to_send())

    def send_last():
        try:
            sock.sendall(data)
        except OSError:  # the server closed the connection before reading all of it
            pass

    sender = threading.Thread(target=send_last)
    sender.start()
    try:
        read()
    except ConnectionResetError:  # Linux hands over what arrived before the reset first
        pass
    finally:
        sender.join(until_close)
        sock.close()
    return frames


def test_a_frame_over_one_mib_gets_the_error_frame_before_the_close(servers, room):
    from websockets.frames import Close, Opcode

    (server,) = servers(1)
    frames = join_then_send(server, room.id, json.dumps(["pong", {"pad": "x" * (1024 * 1024 + 10)}]))
    texts = [json.loads(frame.data) for frame in frames if frame.opcode is Opcode.TEXT]
    assert ["ack", {"request_id": "join", "success": True}] in [
        [name, {key: payload.get(key) for key in ("request_id", "success")}]
        for name, payload in texts], texts  # joined
    assert texts[-1][0] == "error", texts  # the last message before the close
    assert texts[-1][1]["message"] == "Message too large."
    assert texts[-1][1]["details"]["closing"] is True
    assert frames[-1].opcode is Opcode.CLOSE and Close.parse(frames[-1].data).code == 1009


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
