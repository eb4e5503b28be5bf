"""The karaoke display: display tokens and admission, the display's `queue_update` advancing
the queue once per song, lazy video-URL resolution at the head of the queue, the seed's
play_song/pause_song/set_volume events reaching a display, the library's chart entries, the
display page (no inline script, CSP) and CORS for HTTP and the WebSocket origin check."""

import pytest
from channels.security.websocket import OriginValidator
from channels.testing import WebsocketCommunicator
from django.core.cache import cache
from django.test import Client

from charts.models import Chart
from rooms import karaoke, services, sources
from rooms.models import Participant, PlayerState
from tests.test_rooms_consumer import Peer

Role = Participant.Role


def host_client(host) -> Client:
    client = Client()
    client.force_login(host)
    return client


def library_entry(song) -> dict:
    return {"id": f"song:{song.pk}", "source": "library", "song_id": song.pk, "duration": 2}


# --- display tokens -------------------------------------------------------------------------
@pytest.mark.django_db
def test_host_creates_a_display_token_that_admits_a_guest_display_without_the_password(
        host, locked_room):
    response = host_client(host).post(f"/rooms/{locked_room.pk}/display-token", {},
                                      content_type="application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["url"].endswith(f"/rooms/{locked_room.pk}/display?token={body['token']}")
    display = services.join(locked_room.pk, role=Role.DISPLAY, guest_key="tv",
                            display_token=body["token"])
    assert display.role == Role.DISPLAY and display.can_control
    assert display.guest_name == "Display"


@pytest.mark.django_db
def test_a_display_without_token_is_not_admitted_until_the_host_allows_it(host, room, song):
    host_p = services.active_participant(room, user=host)
    display = services.join(room.pk, guest_name="TV", role=Role.DISPLAY, guest_key="tv")
    assert not display.can_control
    karaoke.queue_song(room.pk, host_p, library_entry(song))
    with pytest.raises(services.Forbidden):
        karaoke.song_ended(room.pk, display, {"ended_entry_id": None})
    with pytest.raises(services.Forbidden):
        karaoke.report_player_state(room.pk, display, {"version": 0, "play_state": "playing"},
                                    False)
    display = services.allow_control(room.pk, host_p, display.pk, True)
    karaoke.song_ended(room.pk, display, {"ended_entry_id": None})
    assert PlayerState.objects.get(room=room).entry["id"] == f"song:{song.pk}"


@pytest.mark.django_db
def test_bad_tokens_are_refused(host, room, locked_room, stranger):
    token = services.display_token(room.pk, services.active_participant(room, user=host))
    for room_id, role, value in ((locked_room.pk, Role.DISPLAY, token),  # another room's
                                 (room.pk, Role.VIEWER, token),  # only displays use tokens
                                 (room.pk, Role.DISPLAY, token[:-2] + "xx"),  # forged
                                 (room.pk, Role.DISPLAY, "x" * 500)):
        with pytest.raises(services.Forbidden):
            services.join(room_id, guest_name="TV", role=role, guest_key="tv",
                          display_token=value)
    member = services.join(room.pk, user=stranger, role=Role.CONTROLLER)
    with pytest.raises(services.Forbidden):
        services.display_token(room.pk, member)
    response = Client().post(f"/rooms/{room.pk}/display-token", {},
                             content_type="application/json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


# --- the queue advancing, lazy URLs -----------------------------------------------------------
@pytest.mark.django_db
def test_song_end_advances_the_queue_once_and_resolves_the_url_lazily(host, room, song):
    second = type(song).objects.create(id=2, title="Be Thou My Vision", filename="b.cho",
                                       source_sha="y", page_count=2, image_etag="e2")
    host_p = services.active_participant(room, user=host)
    display = services.join(room.pk, role=Role.DISPLAY, guest_key="tv",
                            display_token=services.display_token(room.pk, host_p))
    karaoke.queue_song(room.pk, host_p, library_entry(song))
    karaoke.queue_song(room.pk, host_p, library_entry(second))
    queued = karaoke.queue_state(room)["items"][0]["entry"]
    assert queued["video_url"] is None  # only the source and the entry id are kept

    karaoke.song_ended(room.pk, display, {"ended_entry_id": None})  # empty player: start
    player = PlayerState.objects.get(room=room)
    assert player.entry["id"] == f"song:{song.pk}" and player.play_state == "loading"
    assert player.entry["video_url"] == f"/songs/{song.pk}/pages/1"  # resolved at the head

    for _ in range(2):  # two displays (or a resend) report the same end: one advance
        karaoke.song_ended(room.pk, display, {"ended_entry_id": f"song:{song.pk}"})
    player.refresh_from_db()
    assert player.entry["id"] == f"song:{second.pk}"
    assert room.queue.count() == 0

    karaoke.song_ended(room.pk, display, {"ended_entry_id": f"song:{second.pk}"})
    player.refresh_from_db()
    assert player.entry is None and player.play_state == "finished"
    with pytest.raises(services.Invalid):
        karaoke.song_ended(room.pk, display, {"ended_entry_id": 5})


@pytest.mark.django_db
def test_an_expired_url_is_resolved_again(host, room, song, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": "display-test"}}
    entry = {"id": f"song:{song.pk}", "source": "library", "video_url": "/stale"}
    assert karaoke.resolve_video_url(entry) == f"/songs/{song.pk}/pages/1"
    type(song).objects.filter(pk=song.pk).update(page_count=0)  # gone from the library
    cache.clear()  # the cached URL expired
    assert karaoke.resolve_video_url(entry) == "/stale"  # the provider has none: keep the old
    assert karaoke.resolve_video_url({"id": "x", "source": "songhub",
                                      "video_url": "/a.ogg"}) == "/a.ogg"


@pytest.mark.django_db
def test_library_offers_charts_with_audio(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": "display-charts"}}
    with_audio = Chart.objects.create(remote_path="Songs/A/Rainbow", title="Rainbow Road",
                                      artist="Band", search_text="rainbow road band",
                                      has_audio=True, audio_files=["song.ogg"],
                                      files=["song.ogg", "notes.chart"], song_length_ms=95000)
    Chart.objects.create(remote_path="Songs/A/Silent", title="Rainbow Silent", artist="Band",
                         search_text="rainbow silent band", has_audio=False)
    entries = [e for e in sources.search("rainbow").entries if e.id.startswith("chart:")]
    assert [(e.id, e.duration) for e in entries] == [(f"chart:{with_audio.pk}", 95.0)]
    assert sources.get_video_url("library", f"chart:{with_audio.pk}") == (
        f"/api/charts/{with_audio.pk}/files/song.ogg")


# --- events reaching a display over the real ASGI stack ------------------------------------
@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_display_receives_play_pause_and_volume_and_advances_the_queue(host, room, song):
    from channels.db import database_sync_to_async as db

    host_p = await db(services.active_participant)(room, user=host)
    token = await db(services.display_token)(room.pk, host_p)
    await db(karaoke.queue_song)(room.pk, host_p, library_entry(song))
    controller = await Peer.open(host, "controller", room.pk)
    display = await Peer.open(None, "display", room.pk, display_token=token)
    try:
        await display.send("queue_update", {"ended_entry_id": None, "request_id": 1})
        await display.expect("ack", lambda p: p["request_id"] == 1 and p["success"])
        state = await display.expect("player_state", lambda p: p["entry"] is not None)
        assert state["entry"]["video_url"] == f"/songs/{song.pk}/pages/1"
        await display.send("update_player_state", {"version": state["version"],
                                                   "play_state": "playing", "duration": 2.0})
        await controller.expect("player_state", lambda p: p["play_state"] == "playing")
        await controller.send("pause_song", {})
        await display.expect("pause_song")
        await controller.send("set_volume", {"volume": 0.25})
        assert (await display.expect("set_volume"))["volume"] == 0.25
        await controller.send("play_song", {})
        await display.expect("play_song")
        await display.send("update_player_state", {"version": 1, "current_time": float("nan")})
        assert (await display.error())["error_type"] == "VALIDATION_ERROR"
    finally:
        await controller.ws.disconnect()
        await display.ws.disconnect()


# --- the page, CORS --------------------------------------------------------------------------
@pytest.mark.django_db
def test_display_page_has_no_inline_script_and_allows_the_youtube_player(room, settings):
    settings.YOUTUBE_IFRAME_API_URL = "http://127.0.0.1:9/iframe_api"
    response = Client().get(f"/rooms/{room.pk}/display?token=abc")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-token="abc"' in html and "<script>" not in html
    assert 'src="/static/js/display.js"' in html
    csp = response["Content-Security-Policy"]
    assert "script-src 'self' http://127.0.0.1:9" in csp
    assert "frame-src" in csp
    assert Client().get("/rooms/999999/display").status_code == 404


@pytest.mark.django_db
def test_cors_is_closed_by_default_and_follows_the_setting(settings):
    origin = "http://tv.example:8080"
    response = Client().get("/rooms/", HTTP_ORIGIN=origin)
    assert "Access-Control-Allow-Origin" not in response
    settings.CORS_ALLOWED_ORIGINS = [origin]
    response = Client().get("/rooms/", HTTP_ORIGIN=origin)
    assert response["Access-Control-Allow-Origin"] == origin


@pytest.mark.asyncio
async def test_websocket_origin_check_follows_cors_allowed_origins(settings):
    from songhub.asgi import websocket_origins

    async def app(scope, receive, send):
        await receive()
        await send({"type": "websocket.accept"})

    async def connects(origin: str) -> bool:
        validator = OriginValidator(app, websocket_origins())
        ws = WebsocketCommunicator(validator, "/ws", headers=[(b"origin", origin.encode())])
        connected, _ = await ws.connect()
        await ws.disconnect()
        return connected

    settings.CORS_ALLOWED_ORIGINS = []
    assert await connects("http://localhost")
    assert not await connects("http://tv.example:8080")
    settings.CORS_ALLOWED_ORIGINS = ["http://tv.example:8080"]
    assert await connects("http://tv.example:8080")
    assert not await connects("http://evil.example:8080")
