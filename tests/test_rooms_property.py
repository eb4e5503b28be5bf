"""Property: random JSON sent to every WebSocket command never crashes a command, never puts a
non-finite number in a frame, and leaves the connection answering."""

import itertools
import json

import pytest
from asgiref.sync import async_to_sync
from hypothesis import HealthCheck, given, settings, strategies as st

from rooms import consumers, services
from rooms.models import Participant
from tests.test_rooms_consumer import Peer, db

pytestmark = pytest.mark.django_db(transaction=True)

FIELDS = ["song_id", "page", "entry_id", "position", "mode", "allowed", "volume", "title",
          "duration", "current_time", "play_state", "version", "entry", "transpose", "capo",
          "id", "video_url", "request_id"]
scalars = (st.none() | st.booleans() | st.integers() | st.text(max_size=12)
           | st.floats(allow_nan=True, allow_infinity=True))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=6), inner,
                                        max_size=3), max_leaves=8)
payloads = st.dictionaries(st.sampled_from(FIELDS), values, max_size=5)
COMMANDS = sorted(set(consumers.COMMANDS) - {"leave_room", "close_room"})
screens = itertools.count()
frames = st.lists(st.tuples(st.sampled_from(COMMANDS), payloads), min_size=1, max_size=8)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(batch=frames)
def test_random_json_to_every_command_never_crashes_or_sends_nan(room, song, host, batch):
    async def run():
        controller = await Peer.open(host, "controller", room.id)
        name = f"TV {next(screens)}"
        display = await Peer.open(client_type="display", room_id=room.id, name=name)
        tv = await db(Participant.objects.get, room=room, guest_name=name)
        host_p = await db(Participant.objects.get, room=room, role="host")
        await db(services.allow_control, room.id, host_p, tv.pk, True)
        for name, payload in batch:
            for peer in (controller, display):
                # json.dumps writes NaN/Infinity as a careless client would
                await peer.send_raw(text=json.dumps([name, payload]))
        for peer in (controller, display):
            await peer.send("pong", {"request_id": "still-there"})
            await peer.expect("ack", lambda p: p["request_id"] == "still-there", timeout=30)
            for frame_name, body in peer.seen:
                json.dumps(body, allow_nan=False)  # raises on NaN/Infinity
                if frame_name == "error":  # a rule's refusal, never an unexpected exception
                    assert body["message"] != "The command failed on the server.", body
        await controller.ws.disconnect(timeout=30)
        await display.ws.disconnect(timeout=30)

    async_to_sync(run)()
