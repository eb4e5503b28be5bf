"""The /ws protocol through channels.testing.WebsocketCommunicator and the real ASGI stack
(origin validation, session auth): every command family and every error type."""

import asyncio
import json
import time

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.db import connection, transaction

from rooms import aio, services
from rooms.models import Connection, Participant, Room
from songhub.asgi import application

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


def session_cookie(user) -> bytes:
    from django.test import Client

    client = Client()
    client.force_login(user)
    name = django_settings.SESSION_COOKIE_NAME
    return f"{name}={client.cookies[name].value}".encode()


class Peer:
    """A WebSocket client speaking [name, payload] frames."""

    def __init__(self, cookie: bytes | None = None):
        headers = [(b"origin", b"http://localhost"), (b"host", b"localhost")]
        if cookie is not None:
            headers.append((b"cookie", cookie))
        self.ws = WebsocketCommunicator(application, "/ws", headers=headers)
        self.seen = []  # every frame received, in order
        self.backlog = []  # received but not yet expected

    @classmethod
    async def open(cls, user=None, client_type=None, room_id=None, **join):
        peer = cls(await database_sync_to_async(session_cookie)(user) if user else None)
        connected, _ = await peer.ws.connect()
        assert connected
        if client_type:
            await peer.send("handshake", {"client_type": client_type})
        if room_id is not None:
            await peer.send("join_room", {"room_id": room_id, "request_id": "join", **join})
            await peer.expect("ack", lambda p: p["request_id"] == "join")
        return peer

    async def send(self, name, payload):
        await self.ws.send_to(text_data=json.dumps([name, payload]))

    async def send_raw(self, text=None, data=None):
        await self.ws.send_to(text_data=text, bytes_data=data)

    async def expect(self, name, where=lambda payload: True, timeout=3):
        """The next frame `name` matching `where`; frames skipped on the way stay available."""
        for index, frame in enumerate(self.backlog):
            if frame[0] == name and where(frame[1]):
                return self.backlog.pop(index)[1]
        deadline = time.monotonic() + timeout  # overall: pings must not keep us waiting
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no {name} frame within {timeout} s")
            frame = json.loads(await self.ws.receive_from(timeout=remaining))
            self.seen.append(frame)
            if frame[0] == name and where(frame[1]):
                return frame[1]
            self.backlog.append(frame)

    async def error(self, timeout=3):
        return await self.expect("error", timeout=timeout)

    async def close(self):
        await self.ws.disconnect()


async def db(fn, *args, **kwargs):
    return await database_sync_to_async(fn)(*args, **kwargs)


async def test_a_handshake_comes_first_and_must_name_a_client_type(room):
    peer = await Peer.open()
    await peer.send("join_room", {"room_id": room.id})
    assert (await peer.error())["error_type"] == "HANDSHAKE_FAILED"
    await peer.send("handshake", {"client_type": "toaster"})
    assert (await peer.error())["error_type"] == "HANDSHAKE_FAILED"
    await peer.close()


async def test_bad_frames_get_validation_errors_and_the_connection_survives(room):
    peer = await Peer.open(client_type="viewer")
    await peer.send_raw(text="{not json")
    assert (await peer.error())["message"] == "Malformed JSON."
    await peer.send_raw(text=json.dumps({"name": "x"}))
    assert (await peer.error())["error_type"] == "VALIDATION_ERROR"
    await peer.send_raw(text=json.dumps(["a", "b", "c"]))
    assert (await peer.error())["error_type"] == "VALIDATION_ERROR"
    await peer.send_raw(data=b"\x00\x01")
    assert (await peer.error())["message"] == "Binary frames are not supported."
    await peer.send_raw(text=json.dumps(["pong", {"pad": "x" * 70000}]))
    too_big = await peer.error()
    assert too_big["message"] == "Message too large." and too_big["details"]["limit_bytes"] == 65536
    await peer.send("teleport", {"request_id": 7})
    unknown = await peer.error()
    assert unknown["error_type"] == "INVALID_COMMAND" and unknown["request_id"] == 7
    await peer.send("set_page", {"page": 1})
    assert (await peer.error())["error_type"] == "NOT_IN_ROOM"
    await peer.send("join_room", {"room_id": room.id, "name": "Ann", "request_id": "j"})
    assert (await peer.expect("ack", lambda p: p["request_id"] == "j"))["success"] is True
    await peer.close()


async def test_flooding_is_rate_limited(room, settings):
    settings.ROOMS_MESSAGE_BURST = 5
    settings.ROOMS_MESSAGES_PER_SECOND = 1
    peer = await Peer.open(client_type="viewer")
    for _ in range(8):
        await peer.send("pong", {})
    error = await peer.error()
    assert error["details"] == {"reason": "rate_limited"}
    await peer.close()


async def test_host_song_and_page_reach_viewers_with_acks(room, song, host):
    viewer = await Peer.open(client_type="viewer", room_id=room.id, name="Ann")
    controller = await Peer.open(host, "controller", room.id)
    await controller.send("select_song", {"song_id": song.id, "request_id": "s1"})
    ack = await controller.expect("ack", lambda p: p["request_id"] == "s1")
    assert ack["success"] and ack["result"]["current_page"] == 1
    updated = await viewer.expect("song_updated")
    assert updated == {"song_id": song.id, "title": "Amazing Grace", "artist": "John Newton",
                       "total_pages": 3, "current_page": 1, "image_etag": "etag1-1-k0",
                       "version": 1, "room_version": updated["room_version"]}
    await controller.send("set_page", {"page": 2})
    page = await viewer.expect("page_updated")
    assert page["current_page"] == 2 and page["image_etag"] == "etag1-2-k0" and page["version"] == 2
    await controller.send("set_page", {"page": 9, "request_id": "bad"})
    error = await controller.error()
    assert error["error_type"] == "VALIDATION_ERROR" and error["request_id"] == "bad"
    await viewer.close()
    await controller.close()


async def test_viewers_and_unallowed_controllers_are_forbidden(room, song, guest_user):
    viewer = await Peer.open(client_type="viewer", room_id=room.id, name="Ann")
    await viewer.send("set_page", {"page": 1})
    assert (await viewer.error())["error_type"] == "FORBIDDEN"
    controller = await Peer.open(guest_user, "controller", room.id)
    await controller.send("select_song", {"song_id": song.id})
    forbidden = await controller.error()
    assert forbidden["error_type"] == "FORBIDDEN" and "host" in forbidden["message"]
    participant = await db(Participant.objects.get, room=room, user=guest_user)
    host_p = await db(Participant.objects.get, room=room, role="host")
    await db(services.allow_control, room.id, host_p, participant.pk, True)
    await controller.send("select_song", {"song_id": song.id, "request_id": 1})
    assert (await controller.expect("ack"))["success"] is True  # re-checked per command
    await viewer.close()
    await controller.close()


async def test_a_page_turn_is_refused_once_control_is_revoked_or_the_song_is_gone(room, song,
                                                                                  guest_user):
    """Page turns take a one-statement path (services.turn_page) that checks the permission,
    the room and the page range itself; each refusal still gets set_page's precise error."""
    viewer = await Peer.open(client_type="viewer", room_id=room.id, name="Ann")
    host_p = await db(Participant.objects.get, room=room, role="host")
    await db(services.select_song, room.id, host_p, song.id)
    controller = await Peer.open(guest_user, "controller", room.id)
    participant = await db(Participant.objects.get, room=room, user=guest_user)
    await db(services.allow_control, room.id, host_p, participant.pk, True)
    await controller.send("set_page", {"page": 3, "request_id": "ok"})
    ack = await controller.expect("ack", lambda p: p["request_id"] == "ok")
    page = await viewer.expect("page_updated")
    assert ack["result"] == {key: page[key] for key in ack["result"]}
    assert list(page) == ["song_id", "total_pages", "current_page", "image_etag", "version",
                          "room_version"]
    assert (page["current_page"], page["image_etag"]) == (3, "etag1-3-k0")
    await db(services.allow_control, room.id, host_p, participant.pk, False)
    await controller.send("set_page", {"page": 2, "request_id": "revoked"})
    assert (await controller.error())["error_type"] == "FORBIDDEN"
    await controller.send("set_page", {"page": True, "request_id": "bool"})
    assert (await controller.error())["error_type"] in ("FORBIDDEN", "VALIDATION_ERROR")
    assert (await db(Room.objects.get, pk=room.pk)).current_page == 3
    await viewer.close()
    await controller.close()


async def test_a_page_turn_is_one_statement(room, song):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def turns():
        host_p = Participant.objects.get(room=room, role="host")
        services.select_song(room.id, host_p, song.id)
        with CaptureQueriesContext(connection) as queries:
            state = services.turn_page(room.id, host_p.pk, 2)
        assert len(queries) == 1 and state["current_page"] == 2
        assert services.turn_page(room.id, host_p.pk, 99) is None  # set_page will say why
        assert Room.objects.get(pk=room.pk).current_page == 2

    await db(turns)


@pytest.mark.postgres
async def test_page_turns_and_pongs_commit_asynchronously_and_leave_the_session_as_it_was(
        room, song):
    """Their transaction does not wait for its WAL to reach the disk (services.ASYNC_COMMIT);
    the setting ends with that transaction, so a pooled session never keeps it."""
    def check():
        host_p = Participant.objects.get(room=room, role="host")
        services.select_song(room.id, host_p, song.id)
        services.connect(room.id, host_p, "ws.async-commit", "controller")
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit = on")  # whatever the server's default
            try:
                for sql, params in (
                        (services.TURN_PAGES,
                         services.turn_pages_params([(room.id, host_p.pk, 2)])),
                        (services.TOUCH_ASYNC_COMMIT, services.touch_params("ws.async-commit"))):
                    with transaction.atomic():  # to look inside the statement's own transaction
                        cursor.execute(sql, params)
                        assert cursor.rowcount == 1
                        cursor.execute("SHOW synchronous_commit")
                        assert cursor.fetchone()[0] == "off"
                    cursor.execute("SHOW synchronous_commit")
                    assert cursor.fetchone()[0] == "on"
            finally:
                cursor.execute("RESET synchronous_commit")
        with transaction.atomic():  # it would make this whole transaction asynchronous
            assert services.turn_page(room.id, host_p.pk, 3) is None
        assert services.turn_page(room.id, host_p.pk, 3)["current_page"] == 3

    await db(check)


@pytest.mark.postgres
async def test_with_async_commit_off_page_turns_and_pongs_keep_the_sessions_commit_setting(
        room, song, settings):
    """ROOMS_ASYNC_COMMIT=false: for a site that must not lose a page turn in a crash, the
    statements commit as the session (or its role) says."""
    settings.ROOMS_ASYNC_COMMIT = False

    def check():
        host_p = Participant.objects.get(room=room, role="host")
        services.select_song(room.id, host_p, song.id)
        services.connect(room.id, host_p, "ws.sync-commit", "controller")
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit = remote_write")  # not the default
            try:
                for sql, params in (
                        (services.TURN_PAGES,
                         services.turn_pages_params([(room.id, host_p.pk, 2)])),
                        (services.TOUCH_ASYNC_COMMIT, services.touch_params("ws.sync-commit"))):
                    with transaction.atomic():
                        cursor.execute(sql, params)
                        assert cursor.rowcount == 1
                        cursor.execute("SHOW synchronous_commit")
                        assert cursor.fetchone()[0] == "remote_write"
            finally:
                cursor.execute("RESET synchronous_commit")
        assert services.turn_page(room.id, host_p.pk, 3)["current_page"] == 3
        return host_p

    host_p = await db(check)
    # the event loop's prepared statements take the NULL mode too (one prepared form)
    await aio.hold()
    try:
        for n in range(7):  # past psycopg's prepare threshold
            assert (await aio.turn_page(room.id, host_p.pk, 1 + n % 2))["current_page"] == 1 + n % 2
    finally:
        await aio.release()


@pytest.mark.postgres
async def test_a_lost_connection_in_a_rooms_thread_is_an_outage_and_a_failed_statement_not():
    """After an outage every socket resyncs (rooms.aio: outages); a statement that fails on a
    live connection is no outage."""
    from django.db import DatabaseError

    from rooms.consumers import room_db

    def run(sql):
        with connection.cursor() as cursor:
            cursor.execute(sql)

    before = aio.outages()
    with pytest.raises(DatabaseError):
        await room_db(run)("SELECT no_such_column FROM rooms_room")
    assert aio.outages() == before
    with pytest.raises(DatabaseError):
        await room_db(run)("SELECT pg_terminate_backend(pg_backend_pid())")
    assert aio.outages() == before + 1
    await room_db(run)("SELECT 1")  # the pool hands out a working connection again


@pytest.mark.postgres
async def test_page_turns_run_on_the_event_loop_without_a_database_thread(room, song, host,
                                                                          monkeypatch):
    """rooms.aio: page turns and pongs never reach the thread path (made to fail here), the
    event still reaches everyone, and whatever the statement refuses falls back to set_page."""
    viewer = await Peer.open(client_type="viewer", room_id=room.id, name="Ann")
    # joining opened the statements' pool, so the first page turn does not wait for a new
    # connection to PostgreSQL
    pool = aio._pools[asyncio.get_running_loop()]
    await asyncio.wait_for(pool.wait(), 5)
    assert pool.get_stats()["pool_size"] >= 1
    controller = await Peer.open(host, "controller", room.id)
    host_p = await db(Participant.objects.get, room=room, role="host")
    await db(services.select_song, room.id, host_p, song.id)

    def no_thread(*args, **kwargs):
        raise AssertionError("a page turn took the thread path")

    monkeypatch.setattr(services, "turn_page", no_thread)
    for page in (2, 3, 1):
        await controller.send("set_page", {"page": page, "request_id": page})
        ack = await controller.expect("ack", lambda p, page=page: p["request_id"] == page)
        assert ack["success"] and ack["result"]["current_page"] == page
        assert (await viewer.expect("page_updated"))["current_page"] == page
    assert (await db(Room.objects.get, pk=room.pk)).current_page == 1
    assert await aio.turn_page(room.id, host_p.pk, 99) is None  # out of range: set_page says
    assert await aio.turn_page(room.id, host_p.pk, True) is None
    await controller.send("set_page", {"page": 99, "request_id": "far"})
    assert (await controller.error())["error_type"] == "VALIDATION_ERROR"

    # every client's pong and periodic version check are single statements on the loop too
    monkeypatch.setattr(services, "touch", no_thread)
    monkeypatch.setattr(services, "room_version", no_thread)
    connection = await db(lambda: Connection.objects.get(participant=host_p))
    await controller.send("pong", {"request_id": "alive"})
    assert (await controller.expect("ack", lambda p: p["request_id"] == "alive"))["success"]
    assert (await db(Connection.objects.get, pk=connection.pk)).last_seen > connection.last_seen
    version = (await db(Room.objects.get, pk=room.pk)).version
    assert await aio.room_version(room.id) == version
    assert await aio.room_version(room.id + 1000) is None
    await viewer.close()
    await controller.close()
    assert asyncio.get_running_loop() not in aio._pools  # the last socket closed the pool


@pytest.mark.postgres
async def test_rooms_turning_pages_at_once_share_one_statement_and_each_room_keeps_order(
        room, song, host):
    """rooms.aio.PageTurns: turns that arrive while a statement runs go to PostgreSQL together
    in the next; a room's second turn waits for the statement after, so it lands second."""
    rooms = [room] + [await db(services.create_room, host, f"Room {n}") for n in range(5)]
    hosts = []
    for each in rooms:
        host_p = await db(Participant.objects.get, room=each, role="host")
        await db(services.select_song, each.id, host_p, song.id)
        hosts.append(await Peer.open(host, "controller", each.id))
    await asyncio.sleep(0.1)  # the joins' own statements are done
    turns = aio.page_turns()
    before = turns.calls
    for peer in hosts:  # all at once: nothing awaited between the frames
        await peer.send("set_page", {"page": 2, "request_id": "two"})
    await hosts[0].send("set_page", {"page": 3, "request_id": "three"})
    for peer in hosts:
        assert (await peer.expect("ack", lambda p: p["request_id"] == "two"))["success"]
    three = await hosts[0].expect("ack", lambda p: p["request_id"] == "three")
    # the first turn at once, the five that arrived meanwhile together, the first room's
    # second turn in a statement after its first: far fewer statements than the seven turns
    assert 2 <= turns.calls - before <= 3
    pages = [(await db(Room.objects.get, pk=each.pk)).current_page for each in rooms]
    assert pages == [3, 2, 2, 2, 2, 2]
    assert (await hosts[0].expect("page_updated"))["current_page"] == 2
    assert (await hosts[0].expect("page_updated"))["current_page"] == 3
    assert three["result"]["version"] == (await db(Room.objects.get, pk=room.pk)).state_version
    for peer in hosts:
        await peer.close()


@pytest.mark.postgres
async def test_a_page_turn_whose_socket_went_away_while_it_waited_is_not_run(room, song):
    """A turn queued behind a running statement, then cancelled (its socket closed), is
    dropped: run anyway, it would change the page with no event to anyone."""
    host_p = await db(Participant.objects.get, room=room, role="host")
    await db(services.select_song, room.id, host_p, song.id)
    turns = aio.PageTurns()
    turns.busy = True  # as while another statement runs
    gone = asyncio.ensure_future(turns.turn(room.id, host_p.pk, 3))
    stays = asyncio.ensure_future(turns.turn(room.id + 1000, host_p.pk, 2))
    await asyncio.sleep(0)
    gone.cancel()
    await asyncio.sleep(0)
    await turns._drain()  # what runs once the other statement is done
    assert await stays is None  # no such room: refused, but its statement ran
    assert turns.calls == 1 and not turns.busy
    assert (await db(Room.objects.get, pk=room.pk)).current_page == 1
    await aio.release()


@pytest.mark.postgres
async def test_a_prepared_page_turn_a_schema_change_broke_heals_on_a_fresh_connection(
        room, song, monkeypatch, settings):
    """The loop path's statements are prepared. When a schema change makes the prepared one
    fail ("cached plan must not change result type"), that turn takes the thread path and
    its connection is replaced, so later turns prepare afresh instead of failing forever."""
    host_p = await db(Participant.objects.get, room=room, role="host")
    await db(services.select_song, room.id, host_p, song.id)
    monkeypatch.setattr(aio, "COOL_DOWN_SECONDS", 0.0)
    await aio.hold()
    pool = aio._pools[asyncio.get_running_loop()]
    for n in range(14):  # psycopg prepares a statement on its fifth run (per connection)
        assert (await aio.turn_page(room.id, host_p.pk, 2 + n % 2))["current_page"] == 2 + n % 2

    def alter(column_type):
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {Room._meta.db_table} "
                           f"ALTER COLUMN state_version TYPE {column_type}")

    await db(alter, "bigint")
    try:
        replaced = pool.get_stats().get("returns_bad", 0)
        refused = 0  # each pooled connection had prepared it: each fails once, then is replaced
        while await aio.turn_page(room.id, host_p.pk, 3 - refused % 2) is None:
            refused += 1
            assert refused <= settings.ROOMS_ASYNC_DB_CONNECTIONS
        assert refused >= 1  # the schema change did break the prepared statement
        assert pool.get_stats().get("returns_bad", 0) == replaced + refused  # closed, not kept
        for page in (1, 2, 3, 1, 2, 3):
            assert (await aio.turn_page(room.id, host_p.pk, page))["current_page"] == page
    finally:
        await db(alter, "integer")
        await aio.release()


@pytest.mark.postgres
async def test_prepared_statements_can_be_turned_off_for_a_pooler(settings):
    """ROOMS_PREPARED_STATEMENTS=false (a PgBouncer without max_prepared_statements) keeps
    Django's choice: nothing is prepared."""
    for prepared, threshold in ((False, None), (True, 5)):
        settings.ROOMS_PREPARED_STATEMENTS = prepared
        await aio.hold()
        try:
            async with aio._pools[asyncio.get_running_loop()].connection() as conn:
                assert conn.prepare_threshold == threshold
        finally:
            await aio.release()


@pytest.mark.postgres
async def test_a_new_connection_has_the_room_statements_ready_before_the_first_page_turn(
        settings):
    """The first page turns after the pool opened used to wait for PostgreSQL's first parse,
    plan and catalog reads: the pool's connections run each statement before anyone waits."""
    for prepared in (True, False):
        settings.ROOMS_PREPARED_STATEMENTS = prepared
        await aio.hold()
        try:
            async with aio._pools[asyncio.get_running_loop()].connection() as conn:
                rows = await (await conn.execute(
                    "SELECT statement, parameter_types::text[], generic_plans + custom_plans"
                    " FROM pg_prepared_statements")).fetchall()
        finally:
            await aio.release()
        if not prepared:
            assert rows == []  # a pooler without prepared statements: nothing left behind
            continue
        # PostgreSQL shows them with $n placeholders: tell them apart by their first words
        ready = {sql: [(types, runs) for statement, types, runs in rows
                       if statement.strip().startswith(sql.strip()[:30])]
                 for sql in (services.TURN_PAGES, services.ROOM_VERSION,
                             services.TOUCH_ASYNC_COMMIT)}
        assert all(len(forms) == 1 for forms in ready.values()), ready
        turn_types, turn_runs = ready[services.TURN_PAGES][0]
        # one prepared form whatever the ids' size: every int goes out as bigint (then the
        # commit mode, ASYNC_COMMIT's text)
        assert turn_types == ["bigint[]", "bigint[]", "bigint[]", "text"]
        assert turn_runs > 5  # past PostgreSQL's five custom plans: its plan choice is made


@pytest.mark.postgres
async def test_a_statement_that_fails_to_warm_up_leaves_the_connection_usable(
        monkeypatch, caplog):
    """E.g. a schema not yet migrated: the pool still gets its connections (the statement
    fails again when used, into the thread path), instead of retrying them forever."""
    monkeypatch.setattr(services, "ROOM_VERSION", "SELECT no_such_column FROM rooms_room")
    await aio.hold()
    try:
        async with aio._pools[asyncio.get_running_loop()].connection(timeout=5) as conn:
            assert await (await conn.execute("SELECT 1")).fetchone() == (1,)
    finally:
        await aio.release()
    assert "warming a room statement failed" in caplog.text


@pytest.mark.postgres
async def test_page_turns_take_the_thread_path_when_the_loop_path_is_off_or_failing(
        room, song, host, settings, monkeypatch):
    viewer = await Peer.open(client_type="viewer", room_id=room.id, name="Ann")
    controller = await Peer.open(host, "controller", room.id)
    host_p = await db(Participant.objects.get, room=room, role="host")
    await db(services.select_song, room.id, host_p, song.id)
    settings.ROOMS_ASYNC_DB_CONNECTIONS = 0
    assert await aio.turn_page(room.id, host_p.pk, 2) is None
    await controller.send("set_page", {"page": 2, "request_id": "off"})
    assert (await controller.expect("ack", lambda p: p["request_id"] == "off"))["success"]
    assert (await viewer.expect("page_updated"))["current_page"] == 2

    settings.ROOMS_ASYNC_DB_CONNECTIONS = 2
    attempts = []

    async def unreachable():
        attempts.append(1)
        raise OSError("connection refused")

    monkeypatch.setattr(aio, "_pool", unreachable)
    await controller.send("set_page", {"page": 3, "request_id": "away"})
    assert (await controller.expect("ack", lambda p: p["request_id"] == "away"))["success"]
    assert (await viewer.expect("page_updated"))["current_page"] == 3
    await controller.send("set_page", {"page": 1, "request_id": "cooling"})
    assert (await controller.expect("ack", lambda p: p["request_id"] == "cooling"))["success"]
    assert attempts == [1]  # after a failure, the thread path for COOL_DOWN_SECONDS
    await viewer.close()
    await controller.close()


async def test_a_signed_in_host_is_known_and_frames_skip_the_session_savers_send(
        room, song, host, monkeypatch):
    """Sockets read the session (the host is recognised) but never save it, so their frames
    go straight to the server instead of through Channels' session-saving `send`."""
    from channels.sessions import InstanceSessionWrapper

    wrapped = []
    plain_send = InstanceSessionWrapper.send

    async def counted(self, message):
        wrapped.append(message["type"])
        return await plain_send(self, message)

    monkeypatch.setattr(InstanceSessionWrapper, "send", counted)
    controller = await Peer.open(host, "controller", room.id)
    await controller.send("select_song", {"song_id": song.id, "request_id": "s"})
    # only the host may choose the song: the session told the socket who it is
    assert (await controller.expect("ack", lambda p: p["request_id"] == "s"))["success"]
    assert wrapped == []
    await controller.close()


async def test_wrong_password_is_forbidden(host):
    locked = await db(services.create_room, host, "Locked", "secret")
    peer = await Peer.open(client_type="viewer")
    await peer.send("join_room", {"room_id": locked.id, "name": "Ann", "password": "nope"})
    assert (await peer.error())["error_type"] == "FORBIDDEN"
    await peer.send("join_room", {"room_id": locked.id, "name": "Ann", "password": "secret",
                                  "request_id": 1})
    assert (await peer.expect("ack"))["success"] is True
    await peer.close()


async def test_queue_fair_rotation_play_next_and_stale_versions(room, host):
    controller = await Peer.open(host, "controller", room.id)
    await controller.send("set_guests_can_queue", {"allowed": True})
    await controller.expect("queue_update", lambda p: p["guests_can_queue"])
    singers = {name: await Peer.open(client_type="viewer", room_id=room.id, name=name)
               for name in ("Ann", "Bob", "Cy")}
    for title, singer in (("A1", "Ann"), ("A2", "Ann"), ("B1", "Bob"), ("A3", "Ann"), ("C1", "Cy")):
        await singers[singer].send("queue_song", {"title": title, "singer": "Zed", "id": title})
        queue = await controller.expect("queue_update", lambda p, t=title: any(
            i["id"] == t for i in p["items"]))
    assert {i["singer"] for i in queue["items"]} == {"Ann", "Bob", "Cy"}  # who queued it
    assert [i["id"] for i in queue["items"]] == ["A1", "B1", "C1", "A2", "A3"]
    await controller.send("set_queue_mode", {"mode": "fifo"})
    queue = await controller.expect("queue_update", lambda p: p["mode"] == "fifo")
    assert [i["id"] for i in queue["items"]] == ["A1", "A2", "B1", "A3", "C1"]
    await controller.send("queue_next_song", {"entry_id": "C1"})
    queue = await controller.expect("queue_update", lambda p: p["items"] and p["items"][0]["id"] == "C1")
    await controller.send("remove_song", {"entry_id": "A2"})
    queue = await controller.expect("queue_update", lambda p: len(p["items"]) == 4)
    await controller.send("queue_song", {"title": "Late", "version": queue["version"] - 1})
    stale = await controller.error()
    assert stale["error_type"] == "VALIDATION_ERROR" and stale["details"]["current"]["version"] == \
        queue["version"]
    await controller.send("play_next", {})
    player = await controller.expect("player_state", lambda p: p["entry"] is not None)
    assert player["entry"]["id"] == "C1" and player["play_state"] == "loading"
    await controller.send("clear_queue", {})
    assert (await controller.expect("queue_update", lambda p: p["items"] == []))["items"] == []
    await controller.send("play_next", {"request_id": "empty"})
    assert (await controller.error())["message"] == "The queue is empty."
    await controller.close()
    for peer in singers.values():
        await peer.close()


async def test_player_state_versions_and_display_reports(room, host):
    controller = await Peer.open(host, "controller", room.id)
    display = await Peer.open(client_type="display", room_id=room.id, name="TV")
    start = await display.expect("player_state")
    tv = await db(Participant.objects.get, room=room, guest_name="TV")
    await db(services.allow_control, room.id, await db(Participant.objects.get, room=room,
                                                        role="host"), tv.pk, True)
    await display.send("update_player_state", {"play_state": "playing", "current_time": 12.5,
                                                "version": start["version"], "request_id": 1})
    assert (await display.expect("ack"))["success"] is True
    seen = await controller.expect("player_state", lambda p: p["play_state"] == "playing")
    assert seen["current_time"] == 12.5 and seen["version"] == start["version"] + 1
    await display.send("video_loaded", {"play_state": "paused", "version": start["version"]})
    stale = await display.error()
    assert stale["error_type"] == "VALIDATION_ERROR"
    assert stale["details"]["current"]["version"] == start["version"] + 1
    await display.send("set_volume", {"volume": 0.5})
    assert (await display.error())["error_type"] == "FORBIDDEN"  # displays report, not control
    await controller.send("set_volume", {"volume": 1.5})
    assert (await controller.error())["error_type"] == "VALIDATION_ERROR"
    await controller.send("pause_song", {})
    assert (await display.expect("player_state", lambda p: p["play_state"] == "paused"))
    await controller.send("play_song", {})
    assert (await display.expect("player_state", lambda p: p["play_state"] == "playing"))
    await controller.send("set_volume", {"volume": 0.25})
    assert (await display.expect("player_state", lambda p: p["volume"] == 0.25))
    current = await controller.expect("player_state", lambda p: p["volume"] == 0.25)
    await controller.send("player_state", {"current_time": 60, "version": current["version"],
                                           "request_id": "seek"})
    assert (await controller.expect("ack", lambda p: p["request_id"] == "seek"))["success"]
    assert (await display.expect("player_state", lambda p: p["current_time"] == 60))
    await controller.close()
    await display.close()


async def test_leadership_passes_on_when_the_leader_leaves(room, host, guest_user, settings):
    settings.ROOMS_PRESENCE_COALESCE_SECONDS = 0.05
    leader = await Peer.open(host, "controller", room.id)
    assert (await leader.expect("leader_status")) == {"is_leader": True}
    other = await Peer.open(guest_user, "controller", room.id)
    assert (await other.expect("leader_status")) == {"is_leader": False}
    assert (await other.expect("client_count", lambda n: n == 2)) == 2
    await leader.close()
    assert (await other.expect("leader_status")) == {"is_leader": True}
    assert (await other.expect("client_count", lambda n: n == 1)) == 1
    await other.close()


async def test_a_reconnecting_client_gets_the_full_state_first(room, song, host):
    controller = await Peer.open(host, "controller", room.id)
    await controller.send("select_song", {"song_id": song.id})
    await controller.expect("song_updated")
    await controller.send("set_page", {"page": 3})
    await controller.expect("page_updated")
    await controller.send("queue_song", {"title": "Next one"})
    await controller.expect("queue_update", lambda p: p["items"])
    viewer = await Peer.open(client_type="viewer")
    await viewer.send("handshake", {"client_type": "viewer"})
    await viewer.send("join_room", {"room_id": room.id, "name": "Late Larry"})
    state = await viewer.expect("room_state")
    assert viewer.seen[0][0] == "room_state"  # before any other event
    assert state["song"]["current_page"] == 3 and state["queue"]["items"][0]["entry"]["title"] == \
        "Next one"
    assert {p["name"] for p in state["participants"]} == {"host", "Late Larry"}
    await viewer.close()
    await controller.close()


async def test_pings_go_out_and_silent_clients_are_dropped(room, settings):
    settings.ROOMS_PING_SECONDS = 0.2
    settings.ROOMS_CLIENT_TIMEOUT_SECONDS = 0.6
    peer = await Peer.open(client_type="viewer", room_id=room.id, name="Sleepy")
    ping = await peer.expect("ping")
    assert ping["timestamp"] > 0
    output = await peer.ws.receive_output(timeout=3)
    while output["type"] != "websocket.close":
        output = await peer.ws.receive_output(timeout=3)
    assert output["code"] == 4002
    await peer.close()  # the server hears the socket close, as daphne tells it


async def test_the_host_leaving_closes_the_room_for_everyone(room, host):
    viewer = await Peer.open(client_type="viewer", room_id=room.id, name="Ann")
    controller = await Peer.open(host, "controller", room.id)
    await controller.send("leave_room", {"request_id": "bye"})
    assert (await controller.expect("ack"))["result"] == {"room_closed": True}
    assert (await viewer.expect("room_closed"))["room_id"] == room.id
    closed = await db(Room.objects.get, pk=room.id)
    assert closed.closed_at is not None
    late = await Peer.open(client_type="viewer")
    await late.send("handshake", {"client_type": "viewer"})
    await late.send("join_room", {"room_id": room.id, "name": "Late"})
    assert (await late.error())["error_type"] == "COMMAND_EXECUTION_FAILED"
    await late.close()


async def test_personal_key_is_stored_per_participant(room):
    viewer = await Peer.open(client_type="viewer", room_id=room.id, name="Alto")
    await viewer.send("set_key", {"transpose": -3, "capo": 2, "request_id": 1})
    result = (await viewer.expect("ack"))["result"]
    assert (result["transpose"], result["capo"]) == (-3, 2)
    await viewer.send("set_key", {"transpose": 14})
    assert (await viewer.error())["error_type"] == "VALIDATION_ERROR"
    await viewer.close()


async def test_a_foreign_origin_is_refused(room):
    ws = WebsocketCommunicator(application, "/ws", headers=[(b"origin", b"http://evil.example")])
    connected, _ = await ws.connect()
    assert not connected
