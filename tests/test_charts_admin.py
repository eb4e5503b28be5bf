"""Chart admin: filters work, and the metadata editor writes song.ini through the service."""

import pytest

from charts import sync
from charts.models import Chart
from tests.charts_support import make_song_folder

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def library(webdav):
    songs = webdav.files / "Songs"
    make_song_folder(songs / "Band" / "Fire_aaaa", "Fire", "Band", notes=32)
    make_song_folder(songs / "Band" / "Mute_bbbb", "Mute", "Band", notes=8, audio=None)
    sync.run()
    return songs


def test_changelist_filters_by_instrument_and_issue(admin_client, library):
    page = admin_client.get("/admin/charts/chart/", {"issue": "noAudio"}).content.decode()
    assert "Mute" in page and ">Fire<" not in page
    page = admin_client.get("/admin/charts/chart/", {"instrument": "drums"}).content.decode()
    assert "0 charts" in page
    assert admin_client.get("/admin/charts/chart/", {"q": "fire"}).status_code == 200


def test_admin_edit_rewrites_song_ini(admin_client, library):
    chart = Chart.objects.get(title="Fire")
    response = admin_client.post(f"/admin/charts/chart/{chart.pk}/change/", {
        "title": "Fire!", "artist": "Band", "album": "", "genre": "Rock", "year": "1999",
        "charter": "Someone"})
    assert response.status_code == 302
    ini = (library / "Band" / "Fire_aaaa" / "song.ini").read_text()
    assert "name = Fire!" in ini and "genre = Rock" in ini and "year = 1999" in ini
    chart.refresh_from_db()
    assert (chart.title, chart.genre) == ("Fire!", "Rock")


def test_admin_delete_removes_the_folder(admin_client, library):
    chart = Chart.objects.get(title="Mute")
    admin_client.post(f"/admin/charts/chart/{chart.pk}/delete/", {"post": "yes"})
    assert not (library / "Band" / "Mute_bbbb").exists() and not Chart.objects.filter(
        pk=chart.pk).exists()
