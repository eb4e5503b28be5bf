"""Page images in a follower's own key: rendered by a real Celery worker (never in the web
process), for logged-in users and members of a room showing the song only, capped, cached,
same page numbers."""

import io
import time

import pytest
from django.test import Client
from PIL import Image

from ingestion import pipeline, transposed
from ingestion.models import Song
from rooms import services
from tests.conftest import DEMO_SONGS
from tests.helpers import CeleryWorker, subprocess_env

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def song():
    pipeline.run_sync(pipeline.SyncOptions(source="dir", source_dir=str(DEMO_SONGS),
                                           concurrency=1))
    return Song.objects.get(title="It Is Well with My Soul")


@pytest.fixture
def no_renders_in_flight(song):
    """Render slots live in the shared cache (Redis) and test databases reuse song ids."""
    from django.core.cache import cache

    def clear():
        cache.delete_many([f"transpose:slot:{n}" for n in range(10)] + [
            transposed._pending_key(song, k) for k in range(-22, 23)])

    clear()
    yield
    clear()


@pytest.fixture
def worker(tmp_path, settings, no_renders_in_flight):
    """A real `celery worker` on the default queue, sharing the test's data folder."""
    process = CeleryWorker(subprocess_env(settings.SONG_DATA_DIR), tmp_path / "worker.log",
                           name="keys")
    yield process
    process.stop()


@pytest.fixture
def user_client(django_user_model):
    client = Client()
    client.force_login(django_user_model.objects.create_user("alto", password="pw-alto-123"))
    return client


def page(client, song, n=1, timeout=60, **params):
    """The page image, waiting (as room.js does) while the worker renders it."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"/songs/{song.id}/pages/{n}", params)
        if response.status_code == 200:
            return response, b"".join(response.streaming_content)
        assert response.status_code == 202 and response["Retry-After"], response
        assert time.monotonic() < deadline, "the worker never rendered the key"
        time.sleep(0.2)


def test_a_transposed_page_is_rendered_by_the_worker_cached_and_keeps_page_numbers(
        user_client, song, settings, worker):
    _, original = page(user_client, song)
    first = user_client.get(f"/songs/{song.id}/pages/1", {"transpose": 2})
    assert first.status_code == 202  # queued for the worker pool, not rendered here
    response, up_two = page(user_client, song, transpose=2)
    assert up_two != original and Image.open(io.BytesIO(up_two)).format == "WEBP"
    assert response["ETag"] != page(user_client, song)[0]["ETag"]
    cache_dirs = list((settings.SONG_DATA_DIR / "songs_img" / str(song.id)).glob("key+2-*"))
    assert len(cache_dirs) == 1
    assert len(list(cache_dirs[0].glob("page_*.webp"))) == song.page_count  # same page count
    mtime = (cache_dirs[0] / "page_1.webp").stat().st_mtime_ns
    page(user_client, song, transpose=2)
    assert (cache_dirs[0] / "page_1.webp").stat().st_mtime_ns == mtime  # served from cache


def test_capo_shapes_and_nonsense_keys(user_client, song, worker):
    _, shapes = page(user_client, song, transpose=2, capo=2)  # capo 2 in D plays C shapes
    _, original = page(user_client, song)
    assert shapes == original
    _, ignored = page(user_client, song, transpose="banana")
    assert ignored == original
    _, ignored = page(user_client, song, transpose=40)
    assert ignored == original


def test_anonymous_visitors_cannot_start_renders_but_room_members_can(song, host,
                                                                    no_renders_in_flight):
    stranger = Client()
    refused = stranger.get(f"/songs/{song.id}/pages/1", {"transpose": 3})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    room = services.create_room(host, "Practice")
    host_p = services.active_participant(room, user=host)
    guest = Client()
    assert guest.post(f"/rooms/{room.id}/join", {"name": "Ann"},
                      content_type="application/json").status_code == 200
    assert guest.get(f"/songs/{song.id}/pages/1", {"transpose": 3}).status_code == 403  # no song
    services.select_song(room.id, host_p, song.id)
    assert guest.get(f"/songs/{song.id}/pages/1", {"transpose": 3}).status_code == 202


def test_renders_in_flight_are_capped(user_client, song, settings, no_renders_in_flight):
    settings.TRANSPOSE_RENDERS_IN_FLIGHT = 2  # no worker runs: the slots stay taken
    codes = [user_client.get(f"/songs/{song.id}/pages/1", {"transpose": k}).status_code
             for k in (1, 1, 2, 3)]
    assert codes == [202, 202, 202, 503]  # the repeat shares its pending render


def test_a_render_lost_on_the_way_frees_its_slot_by_itself(user_client, song, settings,
                                                           monkeypatch, no_renders_in_flight):
    settings.TRANSPOSE_RENDERS_IN_FLIGHT = 1
    monkeypatch.setattr(transposed, "RENDER_TIMEOUT", 1)  # no worker: the task never runs
    assert user_client.get(f"/songs/{song.id}/pages/1", {"transpose": 4}).status_code == 202
    assert user_client.get(f"/songs/{song.id}/pages/1", {"transpose": 5}).status_code == 503
    time.sleep(1.5)
    assert user_client.get(f"/songs/{song.id}/pages/1", {"transpose": 5}).status_code == 202
