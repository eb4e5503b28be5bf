"""HTTP endpoints of the song library: index, PDF, page images, JSON and pages."""

import gzip
import json

import pytest

from ingestion.models import Song
from tests.helpers import sync

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def library(github):
    assert sync().exit_code == 0
    return Song.objects.get(title="It Is Well with My Soul")


def test_song_list_serves_decoded_json_sorted_by_title(client, library, django_assert_num_queries):
    with django_assert_num_queries(0):  # served from songs_list.json.gz, not the table
        response = client.get("/songs/list")
    assert response.status_code == 200 and "Content-Encoding" not in response
    items = json.loads(response.content)
    assert [item["title"] for item in items] == sorted(item["title"] for item in items)
    assert set(items[0]) == {"id", "filename", "title"}


def test_song_list_serves_gzip_bytes_when_accepted(client, library):
    response = client.get("/songs/list", headers={"Accept-Encoding": "gzip, deflate"})
    assert response["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in [v.strip() for v in response["Vary"].split(",")]  # (+ Origin: CORS)
    assert len(json.loads(gzip.decompress(response.content))) == 5


def test_song_list_answers_304_on_a_matching_etag(client, library):
    etag = client.get("/songs/list")["ETag"]
    response = client.get("/songs/list", headers={"If-None-Match": etag})
    assert response.status_code == 304 and response.content == b""
    assert client.get("/songs/list", headers={"If-None-Match": '"stale"'}).status_code == 200


def test_song_list_before_any_sync_is_a_clear_503(client):
    response = client.get("/songs/list")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "index_missing"


def test_pdf_has_etag_cache_control_and_304(client, library):
    response = client.get(f"/songs/{library.id}/pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert "max-age" in response["Cache-Control"]
    etag = response["ETag"]
    assert library.pdf_etag in etag
    assert client.get(f"/songs/{library.id}/pdf", headers={"If-None-Match": etag}).status_code == 304


def test_page_images_are_webp_with_etag(client, library):
    response = client.get(f"/songs/{library.id}/pages/1")
    assert response.status_code == 200 and response["Content-Type"] == "image/webp"
    body = b"".join(response.streaming_content)
    assert body[:4] == b"RIFF" and body[8:12] == b"WEBP"
    again = client.get(f"/songs/{library.id}/pages/1", headers={"If-None-Match": response["ETag"]})
    assert again.status_code == 304


def test_pages_out_of_range_and_unknown_songs_are_404(client, library):
    assert client.get(f"/songs/{library.id}/pages/{library.page_count + 1}").status_code == 404
    assert client.get(f"/songs/{library.id}/pages/0").status_code == 404
    assert client.get("/songs/9999/pdf").status_code == 404
    response = client.get("/api/songs/9999")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_song_api_returns_metadata_and_page_urls(client, library):
    data = client.get(f"/api/songs/{library.id}").json()
    assert data["title"] == "It Is Well with My Soul" and data["key"] == "C"
    assert data["page_count"] == library.page_count
    assert data["pages"][0] == f"/songs/{library.id}/pages/1"
    assert data["metadata"]["composer"] == "Philip P. Bliss (1876)"


def test_song_page_shows_images_with_next_and_previous(client, library):
    html = client.get(f"/songs/{library.id}/").content.decode()
    assert f"/songs/{library.id}/pages/1" in html and 'id="next"' in html and 'id="prev"' in html


def test_song_browser_lists_songs(client, library):
    html = client.get("/songs/").content.decode()
    assert "Amazing Grace" in html and "Doxology" in html
