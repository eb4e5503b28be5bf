"""Issue #11 (rooms): player poisoning, one password limiter, bad input, password-room privacy,
one image tag, one close path, versioned events. Real PostgreSQL, Redis and ASGI stack."""

import json
import math

import pytest
from django.db import connection, transaction
from django.db.models import F
from channels.layers import get_channel_layer

from rooms import aio, events, services
from rooms.models import Participant, PlayerState, Room
from tests.test_rooms_consumer import Peer, db

pytestmark = pytest.mark.django_db(transaction=True)


def post(client, url, data=None, raw=None):
    return client.post(url, raw if raw is not None else json.dumps(data or {}),
                       content_type="application/json")


def strict(frame_text: str):
    """Parse as a browser would: NaN/Infinity are not JSON."""
    return json.loads(frame_text, parse_constant=lambda c: pytest.fail(f"{c} in a frame"))


async def admitted_display(room, name="TV"):
    display = await Peer.open(client_type="display", room_id=room.id, name=name)
    start = await display.expect("player_state")
    tv = await db(Participant.objects.get, room=room, guest_name=name)
    host = await db(Participant.objects.get, room=room, role="host")
    await db(services.allow_control, room.id, host, tv.pk, True)
    return display, start


# --- #11.3 player poisoning -----------------------------------------------------------------
@pytest.mark.asyncio
async def test_a_display_the_host_did_not_admit_cannot_change_play_state(room):
    display = await Peer.open(client_type="display", room_id=room.id, name="Rogue")
    start = await display.expect("player_state")
    await display.send("update_player_state", {"play_state": "playing",
                                                "version": start["version"]})
    error = await display.error()
    assert error["error_type"] == "FORBIDDEN" and "admitted" in error["message"]
    player = await db(PlayerState.objects.get, room=room)
    assert player.play_state == "paused" and player.version == start["version"]
    await display.close()


@pytest.mark.asyncio
@pytest.mark.parametrize("bad", ["NaN", "Infinity", "-Infinity", "1e400", "-1", "86401", "true",
                                 '"12"'])
async def test_non_finite_or_out_of_range_player_numbers_are_refused(room, bad):
    display, start = await admitted_display(room)
    await display.send_raw(text=f'["update_player_state", {{"current_time": {bad}, '
                                f'"version": {start["version"]}}}]')
    assert (await display.error())["error_type"] == "VALIDATION_ERROR"
    await display.send_raw(text=f'["update_player_state", {{"duration": {bad}, '
                                f'"version": {start["version"]}}}]')
    assert (await display.error())["error_type"] == "VALIDATION_ERROR"
    player = await db(PlayerState.objects.get, room=room)
    assert math.isfinite(player.current_time) and player.version == start["version"]
    await display.close()


@pytest.mark.asyncio
async def test_queue_durations_must_be_finite(room, host):
    controller = await Peer.open(host, "controller", room.id)
    for bad in ("NaN", "Infinity", "1e400", "-5"):
        await controller.send_raw(text=f'["queue_song", {{"title": "T{bad}", "duration": {bad}}}]')
        assert (await controller.error())["error_type"] == "VALIDATION_ERROR"
    await controller.send("queue_song", {"title": "Fine", "duration": 200.5, "request_id": 1})
    assert (await controller.expect("ack"))["result"]["items"][0]["entry"]["duration"] == 200.5
    await controller.close()


def test_rest_bodies_with_non_finite_numbers_are_400_and_frames_never_carry_nan(client, host,
                                                                              room, song):
    client.force_login(host)
    for raw in ('{"page": NaN}', '{"page": Infinity}', '{"song_id": 1e400}'):
        url = f"/rooms/{room.id}/page" if "page" in raw else f"/rooms/{room.id}/song"
        response = post(client, url, raw=raw)
        assert response.status_code == 400 and response.json()["error"]["code"] == "bad_json"
    with pytest.raises(ValueError):
        events.encode("player_state", {"current_time": float("nan")})


# --- #11.4 one password limiter ---------------------------------------------------------------
def test_join_verify_and_websocket_share_one_password_limiter(client, locked_room, settings):
    from asgiref.sync import async_to_sync

    settings.ROOMS_VERIFY_ATTEMPTS_PER_MINUTE = 6
    for _ in range(2):
        assert post(client, f"/rooms/{locked_room.id}/join",
                    {"name": "Eve", "password": "guess"}).status_code == 403
        assert post(client, f"/rooms/{locked_room.id}/verify",
                    {"password": "guess"}).json() == {"valid": False}

    async def ws_guesses():
        peer = Peer()
        peer.ws.scope["client"] = ["127.0.0.1", 50000]  # the same client as the REST calls
        assert (await peer.ws.connect())[0]
        await peer.send("handshake", {"client_type": "viewer"})
        answers = []
        for _ in range(3):
            await peer.send("join_room", {"room_id": locked_room.id, "name": "Eve",
                                          "password": "guess"})
            answers.append(await peer.error())
        await peer.close()
        return answers

    answers = async_to_sync(ws_guesses)()
    assert [a["error_type"] for a in answers] == ["FORBIDDEN", "FORBIDDEN", "VALIDATION_ERROR"]
    assert answers[-1]["details"] == {"reason": "rate_limited"}
    # the right password no longer helps, on any of the three paths
    right = post(client, f"/rooms/{locked_room.id}/join", {"name": "Eve",
                                                            "password": "hallelujah"})
    assert right.status_code == 429 and right.json()["error"]["code"] == "rate_limited"
    assert post(client, f"/rooms/{locked_room.id}/verify",
                {"password": "hallelujah"}).status_code == 429


# --- #11.11 bad input -------------------------------------------------------------------------
@pytest.mark.parametrize("name", [123, [], {}, None, "", " " * 3, "x" * 121, "Jam\x00"])
def test_room_names_that_are_not_text_get_400(client, host, name):
    client.force_login(host)
    response = post(client, "/rooms/", {"name": name})
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid"


@pytest.mark.parametrize("name", [123, [], {"a": 1}, True])
def test_guest_names_that_are_not_text_get_400(client, room, name):
    response = post(client, f"/rooms/{room.id}/join", {"name": name})
    assert response.status_code == 400 and "name must be text" in \
        response.json()["error"]["message"]


@pytest.mark.asyncio
async def test_websocket_guest_name_123_is_a_validation_error(room):
    peer = await Peer.open(client_type="viewer")
    await peer.send("join_room", {"room_id": room.id, "name": 123})
    assert (await peer.error())["error_type"] == "VALIDATION_ERROR"
    await peer.send("join_room", {"room_id": 10**30, "name": "Ann"})
    assert (await peer.error())["message"].startswith("No room")
    await peer.close()


@pytest.mark.asyncio
async def test_a_nul_character_in_queue_text_is_a_validation_error_not_a_failed_command(room,
                                                                                        host):
    """PostgreSQL's text cannot hold NUL: the statement used to fail (found by
    tests/test_rooms_property.py)."""
    controller = await Peer.open(host, "controller", room.id)
    await controller.send("queue_song", {"entry": {"title": "Song\x00", "id": "e1"}})
    assert (await controller.error())["error_type"] == "VALIDATION_ERROR"
    for command in ("remove_song", "queue_next_song", "move_song"):
        await controller.send(command, {"entry_id": "e\x00", "position": 0})
        error = await controller.error()
        assert error["message"].startswith("No queue entry"), (command, error)
    await controller.close()


def test_huge_song_ids_are_400_or_404_not_500(client, host, room):
    client.force_login(host)
    for song_id in (10**30, "99999999999999999999", [1], 1.5):
        response = post(client, f"/rooms/{room.id}/song", {"song_id": song_id})
        assert response.status_code in (400, 404), song_id


# --- #11.13 password-protected rooms ---------------------------------------------------------
def test_password_rooms_show_their_song_to_members_only(client, locked_room, host, song):
    from django.test import Client

    member = Client()
    member.force_login(host)
    assert post(member, f"/rooms/{locked_room.id}/song", {"song_id": song.id}).status_code == 200
    assert post(member, f"/rooms/{locked_room.id}/page", {"page": 2}).status_code == 200

    anonymous = client.get(f"/rooms/{locked_room.id}", headers={"Accept": "application/json"})
    assert anonymous.json()["song"] is None and "state" not in anonymous.json()
    listing = client.get("/rooms/", headers={"Accept": "application/json"}).json()["rooms"]
    assert listing[0]["song"] is None
    for url in ("/rooms/", f"/rooms/{locked_room.id}"):
        html = client.get(url, headers={"Accept": "text/html"}).content.decode()
        assert "Amazing Grace" not in html
    mine = member.get(f"/rooms/{locked_room.id}", headers={"Accept": "application/json"}).json()
    assert mine["song"]["title"] == "Amazing Grace" and mine["song"]["current_page"] == 2


# --- #11.15 one image tag ---------------------------------------------------------------------
def test_the_events_image_etag_revalidates_the_page_image(client, host, room, song):
    client.force_login(host)
    event_tag = post(client, f"/rooms/{room.id}/song", {"song_id": song.id}).json()["image_etag"]
    response = client.get(f"/songs/{song.id}/pages/1", headers={"If-None-Match": f'"{event_tag}"'})
    assert response.status_code == 304


# --- #11.16 one close path --------------------------------------------------------------------
def test_the_admin_close_action_closes_like_the_host(admin_client, room):
    guest = services.join(room.id, guest_name="Ann")
    response = admin_client.post("/admin/rooms/room/", {"action": "close_rooms",
                                                        "_selected_action": [room.id]})
    assert response.status_code == 302
    assert Room.objects.get(pk=room.id).closed_at is not None
    assert Participant.objects.get(pk=guest.pk).left_at is not None  # nobody stays "in"
    assert Room.objects.get(pk=room.id).version > 0  # room_closed went out through emit


# --- #11.17 versions --------------------------------------------------------------------------
@pytest.mark.asyncio
async def test_every_event_carries_the_room_version_and_nothing_older_than_the_snapshot(
        room, song, host):
    controller = await Peer.open(host, "controller", room.id)
    await controller.send("select_song", {"song_id": song.id})
    await controller.expect("song_updated", lambda p: "room_version" in p)
    viewer = await Peer.open(client_type="viewer")
    await viewer.send("handshake", {"client_type": "viewer"})
    await viewer.send("join_room", {"room_id": room.id, "name": "Late"})
    state = await viewer.expect("room_state")
    seen = state["room_version"]
    # a stale event (as a slow broadcast would deliver it) must not reach the client
    layer = get_channel_layer()
    stale = {"type": "room.event", "name": "page_updated", "room_version": seen,
             "frame": events.encode("page_updated", {"current_page": 3, "room_version": seen})}
    await layer.group_send(events.room_group(room.id), stale)
    await controller.send("set_page", {"page": 2})
    page = await viewer.expect("page_updated")
    assert page["current_page"] == 2 and page["room_version"] > seen
    assert all(f[1].get("room_version", seen + 1) > seen for f in viewer.seen
               if f[0] != "room_state" and isinstance(f[1], dict))
    assert not any(f[0] == "page_updated" and f[1]["current_page"] == 3 for f in viewer.seen)
    await viewer.close()
    await controller.close()


@pytest.mark.asyncio
async def test_an_event_that_skips_a_version_brings_a_fresh_snapshot(room, song, host, settings):
    settings.ROOMS_PING_SECONDS = 0.3
    controller = await Peer.open(host, "controller", room.id)
    viewer = await Peer.open(client_type="viewer", room_id=room.id, name="Viewer")
    await controller.send("select_song", {"song_id": song.id})
    await viewer.expect("song_updated")
    # a committed change whose event never reached this process (Redis was down when another
    # process sent it); the room's version is then no further than the next event's
    await db(lambda: Room.objects.filter(pk=room.id).update(version=F("version") + 1,
                                                            name="Renamed"))
    await controller.send("set_page", {"page": 2})
    assert (await viewer.expect("page_updated"))["current_page"] == 2
    resent = await viewer.expect("room_state", lambda s: s["name"] == "Renamed", timeout=10)
    assert resent["song"]["current_page"] == 2
    await viewer.close()
    await controller.close()


@pytest.mark.asyncio
async def test_a_room_version_that_went_back_brings_a_fresh_snapshot(room, song, host, settings):
    """The database lost its last commits (a crash under asynchronous commit, a failover to a
    replica that was behind): every event up to the old version would be dropped as stale."""
    settings.ROOMS_PING_SECONDS = 0.3
    controller = await Peer.open(host, "controller", room.id)
    viewer = await Peer.open(client_type="viewer", room_id=room.id, name="Viewer")
    await controller.send("select_song", {"song_id": song.id})
    await viewer.expect("song_updated")
    for page in (2, 3, 2):
        await controller.send("set_page", {"page": page})
        await viewer.expect("page_updated", lambda p, page=page: p["current_page"] == page)
    await db(lambda: Room.objects.filter(pk=room.id).update(version=F("version") - 3,
                                                            current_page=1, name="Restored"))
    resent = await viewer.expect("room_state", lambda s: s["name"] == "Restored", timeout=10)
    assert resent["song"]["current_page"] == 1
    await controller.send("set_page", {"page": 3})
    page = await viewer.expect("page_updated", lambda p: p["current_page"] == 3)
    assert page["room_version"] == resent["room_version"] + 1
    await viewer.close()
    await controller.close()


@pytest.mark.asyncio
@pytest.mark.postgres
async def test_after_a_lost_connection_sockets_resync_even_where_versions_were_reused(
        room, song, host, settings):
    """A crash under asynchronous commit loses the last commits and the room moves on with the
    same version numbers: no version comparison tells. Meeting a broken connection does, and
    every socket of the process resyncs at its next check. (Here the lost commits are written
    over first and the connections cut after, so the next check finds both.)"""
    settings.ROOMS_PING_SECONDS = 0.3
    controller = await Peer.open(host, "controller", room.id)
    viewer = await Peer.open(client_type="viewer", room_id=room.id, name="Viewer")
    await controller.send("select_song", {"song_id": song.id})
    await viewer.expect("song_updated")
    for page in (2, 3):
        await controller.send("set_page", {"page": page})
        await viewer.expect("page_updated", lambda p, page=page: p["current_page"] == page)

    def history_rewritten():
        actor = Participant.objects.get(room=room, role="host")
        with transaction.atomic():
            Room.objects.filter(pk=room.id).update(version=F("version") - 2, name="Rewritten")
            services.set_page(room.id, actor, 1)
            services.set_page(room.id, actor, 2)  # back at the version the viewer has seen

    def cut_the_loop_pool():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE application_name = 'songhub-rooms' "
                           "AND datname = current_database()")  # not other xdist workers'
            return cursor.rowcount

    await db(history_rewritten)
    outages = aio.outages()
    assert await db(cut_the_loop_pool) >= 1
    resent = await viewer.expect("room_state", lambda s: s["name"] == "Rewritten", timeout=10)
    assert resent["song"]["current_page"] == 2 and aio.outages() > outages
    await viewer.close()
    await controller.close()


@pytest.mark.asyncio
async def test_a_failed_sync_check_does_not_stop_the_pings(room, monkeypatch, settings):
    """With the database away the check raises; the socket keeps pinging and checking."""
    settings.ROOMS_PING_SECONDS = 0.2
    failing = True

    async def version_or_outage(room_id):
        if failing:
            raise aio.Unavailable("test")
        return await real_version(room_id)

    def thread_version(room_id):
        if failing:
            raise services.RoomError("the database is away")
        return real_thread_version(room_id)

    real_version, real_thread_version = aio.room_version, services.room_version
    monkeypatch.setattr(aio, "room_version", version_or_outage)
    monkeypatch.setattr(services, "room_version", thread_version)
    viewer = await Peer.open(client_type="viewer", room_id=room.id, name="Viewer")
    await viewer.expect("ping", timeout=3)
    await viewer.expect("ping", timeout=3)  # a check after this one failed, too
    failing = False
    await viewer.expect("ping", timeout=3)
    await viewer.close()


@pytest.mark.asyncio
async def test_participant_events_carry_versions(room):
    watcher = await Peer.open(client_type="viewer", room_id=room.id, name="Watcher")
    joiner = await Peer.open(client_type="viewer", room_id=room.id, name="Joiner")
    joined = await watcher.expect("participant_joined", lambda p: p["name"] == "Joiner")
    assert joined["room_version"] > 0
    await joiner.close()
    left = await watcher.expect("participant_left")
    assert left["room_version"] > joined["room_version"]
    await watcher.close()


def test_room_version_increases_with_every_event(room, song, host):
    actor = Participant.objects.get(room=room, user=host)
    before = Room.objects.get(pk=room.id).version
    services.select_song(room.id, actor, song.id)
    services.set_page(room.id, actor, 2)
    assert Room.objects.get(pk=room.id).version == before + 2
