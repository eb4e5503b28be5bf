"""Page images in a follower's own key: rendered on demand, cached, same page numbers."""

import io

import pytest
from PIL import Image

from ingestion import pipeline
from ingestion.models import Song
from tests.conftest import DEMO_SONGS

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def song():
    pipeline.run_sync(pipeline.SyncOptions(source="dir", source_dir=str(DEMO_SONGS),
                                           concurrency=1))
    return Song.objects.get(title="It Is Well with My Soul")


def page(client, song, n=1, **params):
    response = client.get(f"/songs/{song.id}/pages/{n}", params)
    assert response.status_code == 200, response
    return response, b"".join(response.streaming_content)


def test_a_transposed_page_differs_is_cached_and_keeps_page_numbers(client, song, settings):
    _, original = page(client, song)
    response, up_two = page(client, song, transpose=2)
    assert up_two != original and Image.open(io.BytesIO(up_two)).format == "WEBP"
    assert response["ETag"] != page(client, song)[0]["ETag"]
    cache_dirs = list((settings.SONG_DATA_DIR / "songs_img" / str(song.id)).glob("key+2-*"))
    assert len(cache_dirs) == 1
    assert len(list(cache_dirs[0].glob("page_*.webp"))) == song.page_count  # same page count
    mtime = (cache_dirs[0] / "page_1.webp").stat().st_mtime_ns
    page(client, song, transpose=2)
    assert (cache_dirs[0] / "page_1.webp").stat().st_mtime_ns == mtime  # served from cache


def test_capo_shapes_and_nonsense_keys(client, song):
    _, shapes = page(client, song, transpose=2, capo=2)  # capo 2 in D plays C shapes
    _, original = page(client, song)
    assert shapes == original
    _, ignored = page(client, song, transpose="banana")
    assert ignored == original
    _, ignored = page(client, song, transpose=40)
    assert ignored == original
