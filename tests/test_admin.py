"""The admin as curators use it: lists, search, filters, preview, sync and re-render."""

import pytest

from ingestion.models import Song, SyncRun
from tests.helpers import sync

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def admin_client(client, curator):
    client.force_login(curator)
    return client


def test_song_changelist_searches_and_filters(admin_client, github, django_assert_max_num_queries):
    sync()
    with django_assert_max_num_queries(12):
        page = admin_client.get("/admin/ingestion/song/", {"q": "grace"})
    html = page.content.decode()
    assert page.status_code == 200 and "Amazing Grace" in html and "Doxology" not in html
    filtered = admin_client.get("/admin/ingestion/song/", {"key": "D"}).content.decode()
    assert "Holy, Holy, Holy" in filtered and "Amazing Grace" not in filtered


def test_song_change_page_shows_preview_and_source(admin_client, github):
    sync()
    song = Song.objects.get(title="Doxology")
    html = admin_client.get(f"/admin/ingestion/song/{song.id}/change/").content.decode()
    assert f'src="/songs/{song.id}/pages/1"' in html
    assert "{title: Doxology}" in html


def test_rerender_action_rebuilds_the_selected_songs(admin_client, github, settings):
    from ingestion.tasks import rerender_songs

    sync()
    song = Song.objects.get(title="Doxology")
    response = admin_client.post("/admin/ingestion/song/", {
        "action": "rerender", "_selected_action": [song.id]}, follow=True)
    assert "Re-rendering 1 song(s)" in response.content.decode()
    rerender_songs([song.id])  # what the worker runs
    run = SyncRun.objects.latest("pk")
    assert run.trigger == "admin" and run.rendered == 1 and run.status == "succeeded"


def test_sync_now_queues_a_run_for_the_workers(admin_client):
    response = admin_client.post("/admin/ingestion/syncrun/sync-now/", follow=True)
    assert "queued" in response.content.decode()
    run = SyncRun.objects.get()
    assert run.status == "queued" and run.trigger == "admin"
    assert "Sync songs now" in admin_client.get("/admin/ingestion/syncrun/").content.decode()


def test_every_admin_changelist_loads(admin_client):
    for url in ("/admin/ingestion/song/", "/admin/ingestion/syncrun/", "/admin/workers/worker/"):
        assert admin_client.get(url).status_code == 200, url
