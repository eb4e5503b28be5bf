"""Analytics from the data export alone (issue #12.7): no Spotify app, a listener made from the
Extended Streaming History ZIP, a dashboard with artists from the export, and linking Spotify
later keeps the same listener. Also the sample export and the demo listener (#12.9)."""

import json
import zipfile
from datetime import timedelta

import pytest
from django.utils import timezone

from listening import history_import as hi
from listening.models import Artist, ImportJob, ListeningEvent, Listener, Track

pytestmark = pytest.mark.django_db


def export(path, plays):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("Spotify Extended Streaming History/Streaming_History_Audio_2026.json",
                         json.dumps(plays))
    return path


def play(days_ago, track, artist, ms=200_000, minutes=0):
    ts = (timezone.now() - timedelta(days=days_ago, minutes=minutes)).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    return {"ts": ts, "ms_played": ms, "master_metadata_track_name": f"Song {track}",
            "master_metadata_album_artist_name": artist,
            "master_metadata_album_album_name": "LP",
            "spotify_track_uri": f"spotify:track:{track:022d}"}


@pytest.fixture
def no_spotify_app(settings):
    settings.SPOTIFY_CLIENT_ID, settings.SPOTIFY_APPS = "", []


@pytest.fixture
def dana(client, django_user_model):
    user = django_user_model.objects.create_user("dana", password="pw-dana-12345")
    client.force_login(user)
    return user


def upload(client, path, kind):
    url = {"analyze": "/analytics/analyzeHistoricalImport/",
           "import": "/analytics/executeHistoricalImport/"}[kind]
    with open(path, "rb") as handle:
        response = client.post(url, {"file": handle})
    assert response.status_code == 202, response.content
    hi.run_job(response.json()["job_id"])  # the worker's part
    return client.get(response.json()["status_url"]).json()


def test_the_dashboard_works_from_an_export_alone(client, dana, no_spotify_app, tmp_path):
    page = client.get("/analytics/").content.decode()
    assert 'id="start-from-export"' in page
    assert client.post("/analytics/fromExport/").status_code == 302
    listener = Listener.objects.get(user=dana)
    assert listener.spotify_id is None and not listener.enabled
    plays = [play(n % 20, n % 4, ["Choir", "Band", "Band", "Solo"][n % 4], minutes=30 * n)
             for n in range(40)]
    status = upload(client, export(tmp_path / "e.zip", plays), "import")
    assert status["status"] == "done" and status["done"] == 40
    top = client.get("/analytics/top/?days=30").json()
    assert [(a["name"], a["plays"]) for a in top["artists"]] == [("Band", 20), ("Choir", 10),
                                                                ("Solo", 10)]
    assert sum(map(sum, client.get("/analytics/heatmap/?days=30").json()["grid"])) == 40
    assert sum(d["plays"] for d in client.get("/analytics/playsPerDay/").json()["days"]) == 40
    status = client.get("/analytics/status/").json()
    assert status["status"] == "not linked" and status["linked"] is False
    assert client.post("/analytics/service/start").status_code == 302
    assert not Listener.objects.get(pk=listener.pk).enabled  # nothing to poll without a link


def test_an_import_alone_creates_the_listener(client, dana, no_spotify_app, tmp_path):
    status = upload(client, export(tmp_path / "e.zip", [play(1, 1, "Band")]), "analyze")
    assert status["stats"]["to_import"] == 1
    assert Listener.objects.get(user=dana).spotify_id is None


def test_imported_tracks_get_the_export_s_artist_and_the_linker_still_sees_them(
        client, dana, tmp_path):
    from listening.linker import tracks_without_artists

    upload(client, export(tmp_path / "e.zip", [play(1, 1, "Band"), play(2, 2, "")]), "import")
    assert Track.objects.get(pk=f"{1:022d}").artists.get().name == "Band"
    assert not Track.objects.get(pk=f"{2:022d}").artists.exists()  # no name, no artist
    assert tracks_without_artists() == [f"{1:022d}", f"{2:022d}"]  # provisional: still asked


def test_linking_spotify_later_keeps_the_same_listener(client, dana, spotify, tmp_path):
    from listening.polling import poll_history
    from listening.spotify import SpotifyClient

    upload(client, export(tmp_path / "e.zip", [play(3, 1, "Band")]), "import")
    listener = Listener.objects.get(user=dana)
    state = client.get("/analytics/login/")["Location"].split("state=")[1]
    response = client.get("/analytics/loginResponse",
                          {"code": spotify.authorize("dana-sp", "Dana"), "state": state})
    assert response.status_code == 302
    linked = Listener.objects.get(user=dana)
    assert linked.pk == listener.pk and linked.spotify_id == "dana-sp" and linked.enabled
    assert ListeningEvent.objects.filter(listener=linked).count() == 1  # imports kept
    spotify.add_track(f"{1:022d}", "Song 1", [("a" * 22, "Band")])
    # after the export's play (3 days ago): polling reads only what came after the last play
    spotify.play("dana-sp", f"{1:022d}",
                 (timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z"))
    poll_history(SpotifyClient(linked), linked)
    assert list(Track.objects.get(pk=f"{1:022d}").artists.values_list("id", flat=True)) == \
        ["a" * 22]  # Spotify's artist replaced the export's name
    assert client.get("/analytics/status/").json()["status"] == "running"


def test_an_empty_range_is_reported_as_empty(client, dana, tmp_path):
    upload(client, export(tmp_path / "e.zip", [play(300, 1, "Band")]), "import")
    assert client.get("/analytics/top/?days=7").json() == {"tracks": [], "artists": []}
    assert client.get("/analytics/playsPerDay/?days=7").json() == {"days": []}
    page = client.get("/analytics/").content.decode()
    assert page.count('class="empty muted"') == 4  # one truthful note per chart


def test_the_sample_export_loads_a_demo_listener(tmp_path):
    from listening import demo

    path = demo.write_sample_export(tmp_path / "sample.zip", plays=600, seed=7)
    assert path.stat().st_size < 200_000
    listener = demo.load_demo_listener(path)
    assert listener.spotify_id is None and listener.user.username == demo.DEMO_USERNAME
    assert ListeningEvent.objects.filter(listener=listener).count() == 600
    assert Artist.objects.filter(id__startswith=":").count() >= 5
    assert demo.load_demo_listener(path).pk == listener.pk  # twice: nothing added
    assert ListeningEvent.objects.filter(listener=listener).count() == 600
    assert not ImportJob.objects.exists()


def test_bootstrap_demo_can_load_demo_analytics(django_user_model, settings):
    import io

    from django.core.management import call_command

    django_user_model.objects.create_superuser("admin", "", "pw-admin-12345")
    out = io.StringIO()
    call_command("bootstrap_demo", "--demo-analytics", stdout=out)
    listener = Listener.objects.get(user__username="admin")
    assert listener.events.count() > 1000 and "sample plays loaded" in out.getvalue()
    call_command("bootstrap_demo", "--demo-analytics", stdout=io.StringIO())
    assert Listener.objects.get(pk=listener.pk).events.count() == listener.events.count()


def test_the_command_imports_for_a_user_without_spotify(django_user_model, tmp_path):
    import io

    from django.core.management import CommandError, call_command

    user = django_user_model.objects.create_user("cli", password="pw-cli-123456")
    out = io.StringIO()
    call_command("import_streaming_history", str(export(tmp_path / "e.zip", [play(1, 1, "B")])),
                 "--user", "cli", stdout=out)
    assert "Imported 1 plays." in out.getvalue()
    assert Listener.objects.get(user=user).spotify_id is None
    with pytest.raises(CommandError, match="No songhub user"):
        call_command("import_streaming_history", str(tmp_path / "e.zip"), "--user", "nobody")
