"""Spotify's two API dialects (issue #16): every listening job against a loopback Spotify
playing Development Mode (2026) and Extended Quota in turn, app modes and caps, the per-id
switch, the linker's requests, and a 429 in the middle of a playlist scan."""

import io
import json
import logging
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from listening import linker
from listening.local_ids import export_artist_id
from listening.models import Artist, Listener, Playlist, PlaylistTrack, SpotifyApp, Track
from listening.playlists import scan_playlists
from listening.polling import poll_history, poll_realtime
from listening.spotify import SpotifyClient, app_with_room, configured_apps
from listening.spotify_apps import normalize

pytestmark = pytest.mark.django_db


def tid(n):
    return f"{n:022d}"


def make_listener(spotify, spotify_id="alice"):
    refresh = spotify.add_user(spotify_id)
    listener = Listener(spotify_id=spotify_id, app_client_id=spotify.client_id)
    listener.set_tokens("stale", refresh, timezone.now() - timedelta(minutes=1))
    listener.save()
    return listener


def client_for(listener):
    return SpotifyClient(Listener.objects.get(pk=listener.pk))


def seed(spotify, count, start=0):
    for n in range(start, start + count):
        spotify.add_track(tid(n), f"Song {n}", [(f"artist{n % 7:015d}", f"Artist {n % 7}")])


# --- configuration -------------------------------------------------------------------------
@pytest.mark.parametrize("entries, message", [
    ({"client_id": "a"}, "JSON list"),
    (["x"], "must be an object"),
    ([{"client_id": "a"}], "client_secret"),
    ([{"client_id": "a", "client_secret": "s", "mode": "dev"}], "mode must be one of"),
    ([{"client_id": "a", "client_secret": "s", "max_users": 0}], "positive integer"),
    ([{"client_id": "a", "client_secret": "s", "max_users": "5"}], "positive integer"),
    ([{"client_id": "a", "client_secret": "s", "max_users": True}], "positive integer"),
    ([{"client_id": "a", "client_secret": "s", "maxusers": 3}], "unknown keys"),
    ([{"client_id": "a", "client_secret": "s"}, {"client_id": "a", "client_secret": "t"}],
     "listed twice"),
])
def test_spotify_apps_are_validated_strictly(entries, message):
    with pytest.raises(ValueError, match=message):
        normalize(entries, 5)


def test_modes_and_caps_default_by_mode():
    apps = normalize([{"client_id": "d", "client_secret": "s"},
                      {"client_id": "e", "client_secret": "s", "mode": "extended"},
                      {"client_id": "f", "client_secret": "s", "mode": "extended",
                       "max_users": 100}], 5)
    assert [(a["mode"], a["max_users"]) for a in apps] == [
        ("development", 5), ("extended", None), ("extended", 100)]


def test_a_bad_mode_stops_start_up(tmp_path):
    from tests.test_foundation import subprocess_env
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "manage.py", "check"], capture_output=True,
                            text=True, env=subprocess_env(tmp_path, SPOTIFY_APPS=json.dumps(
                                [{"client_id": "a", "client_secret": "s", "mode": "devel"}])))
    assert result.returncode != 0 and "mode must be one of" in result.stderr


def test_oauth_offers_only_apps_with_room(client, settings, spotify):
    settings.SPOTIFY_CLIENT_MODE = "development"
    settings.SPOTIFY_APPS = [{"client_id": "dev2", "client_secret": "s", "max_users": 2},
                             {"client_id": "ext", "client_secret": "s", "mode": "extended"}]
    for n in range(5):
        Listener.objects.create(spotify_id=f"d{n}", app_client_id=spotify.client_id)
    assert app_with_room().client_id == "dev2"  # the first app is full at 5
    Listener.objects.create(spotify_id="x1", app_client_id="dev2")
    Listener.objects.create(spotify_id="x2", app_client_id="dev2")
    for n in range(50):  # an extended app has no cap
        Listener.objects.create(spotify_id=f"e{n}", app_client_id="ext")
    assert app_with_room().client_id == "ext"
    settings.SPOTIFY_APPS = settings.SPOTIFY_APPS[:1]
    full = client.get("/analytics/login/")
    assert full.status_code == 503 and b"maximum number of users" in full.content


def test_without_any_app_link_explains_what_is_missing(client, settings):
    settings.SPOTIFY_CLIENT_ID, settings.SPOTIFY_APPS = "", []
    assert configured_apps() == []
    response = client.get("/analytics/login/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "not configured" in body and "SPOTIFY_CLIENT_ID" in body and "docs/listening.md" in body
    assert "full" not in body
    page = client.get("/analytics/").content.decode()
    assert 'id="spotify-missing"' in page and 'id="link-spotify"' not in page


# --- polling: artists are stored at poll time -----------------------------------------------
def test_history_and_realtime_store_artists_in_both_dialects(spotify_both):
    spotify = spotify_both
    listener = make_listener(spotify)
    seed(spotify, 3)
    spotify.play("alice", tid(0), "2026-11-20T10:00:00.000Z")
    spotify.play("alice", tid(1), "2026-11-20T10:05:00.000Z")
    assert poll_history(client_for(listener), listener) == 2
    listener.mode = Listener.Mode.REALTIME
    spotify.now_playing("alice", {"is_playing": True, "progress_ms": 60_000,
                                  "currently_playing_type": "track", "timestamp": 1795300000000,
                                  "item": spotify.shape(spotify.tracks[tid(2)])})
    assert poll_realtime(client_for(listener), listener) == 1
    for n in range(3):
        assert Track.objects.get(pk=tid(n)).artists.get().name == f"Artist {n}"
    spotify.counts.clear()
    report = linker.link_artists(pace_seconds=0)
    assert report.total_processed == 0 and spotify.counts == {}  # nothing left to link


def test_a_poll_replaces_the_provisional_artist_from_an_export(spotify_both):
    spotify = spotify_both
    listener = make_listener(spotify)
    seed(spotify, 1)
    provisional = Artist.objects.create(id=export_artist_id("Artist 0"), name="Artist 0")
    Track.objects.create(id=tid(0), name="Song 0").artists.add(provisional)
    spotify.play("alice", tid(0), "2026-11-20T10:00:00.000Z")
    poll_history(client_for(listener), listener)
    assert list(Track.objects.get(pk=tid(0)).artists.values_list("id", flat=True)) == \
        [f"artist{0:015d}"]


def test_a_listener_whose_polls_fail_shows_an_error_not_running(spotify_both, client,
                                                                  django_user_model):
    from listening.spotify import AuthError

    spotify = spotify_both
    listener = make_listener(spotify)
    user = django_user_model.objects.create_user("al", password="pw-al-123456")
    Listener.objects.filter(pk=listener.pk).update(user=user)
    client.force_login(user)
    spotify.users.clear()  # the refresh token is revoked
    with pytest.raises(AuthError):
        poll_history(client_for(listener), listener)
    status = client.get("/analytics/status/").json()
    assert status["status"] == "error" and status["color"] == "#E10000"
    assert "refused the refresh token" in status["error"]
    refresh = spotify.add_user("alice")
    stored = Listener.objects.get(pk=listener.pk)
    stored.set_tokens("stale", refresh, timezone.now() - timedelta(minutes=1))
    stored.save()
    poll_history(client_for(listener), listener)  # works again: the error clears
    assert client.get("/analytics/status/").json()["status"] == "running"


# --- playlists ------------------------------------------------------------------------------
def test_playlist_scan_reads_the_dialect_s_path_and_shape(spotify_both):
    spotify = spotify_both
    listener = make_listener(spotify)
    seed(spotify, 130)
    spotify.add_playlist("alice", "p1", "Big", [tid(n) for n in range(130)])
    spotify.add_playlist("alice", "p2", "Small", [tid(0), tid(1)])
    assert scan_playlists(client_for(listener), listener) == 2
    assert PlaylistTrack.objects.filter(playlist_id="p1").count() == 130
    assert Track.objects.get(pk=tid(129)).artists.get().name == "Artist 3"
    if spotify.mode == "development":
        assert spotify.counts["/v1/playlists/p1/items"] == 2
        assert spotify.counts["/v1/playlists/p1/tracks"] == 0
    else:
        assert spotify.counts["/v1/playlists/p1/tracks"] == 2
        assert spotify.counts["/v1/playlists/p1/items"] == 0


def test_an_extended_app_falls_back_to_items_when_tracks_is_refused(spotify):
    listener = make_listener(spotify)
    seed(spotify, 3)
    spotify.add_playlist("alice", "p1", "Mix", [tid(0), tid(1), tid(2)])
    spotify.inject(403, path_prefix="/v1/playlists/p1/tracks")
    assert scan_playlists(client_for(listener), listener) == 1
    assert PlaylistTrack.objects.filter(playlist_id="p1").count() == 3
    assert spotify.counts["/v1/playlists/p1/items"] == 1


def test_a_429_mid_scan_waits_and_continues(spotify_both):
    spotify = spotify_both
    listener = make_listener(spotify)
    seed(spotify, 5)
    for n in range(3):
        spotify.add_playlist("alice", f"p{n}", f"List {n}", [tid(n), tid(n + 1)])
    path = "/v1/playlists/p1/" + ("items" if spotify.mode == "development" else "tracks")
    spotify.inject(429, {"Retry-After": "2"}, path)
    slept = []
    assert scan_playlists(client_for(listener), listener, sleep=slept.append) == 3
    assert slept == [2.0]
    assert set(Playlist.objects.values_list("id", flat=True)) == {"p0", "p1", "p2"}
    assert Listener.objects.get(pk=listener.pk).last_playlist_scan is not None


def test_a_long_retry_after_still_stops_the_scan(spotify):
    from listening.spotify import RateLimited

    listener = make_listener(spotify)
    seed(spotify, 2)
    spotify.add_playlist("alice", "p0", "List", [tid(0)])
    spotify.inject(429, {"Retry-After": "3600"}, "/v1/playlists/p0/")
    with pytest.raises(RateLimited):
        scan_playlists(client_for(listener), listener, sleep=lambda s: None)


# --- the linker -----------------------------------------------------------------------------
def test_the_linker_uses_the_dialect_s_requests(spotify_both):
    spotify = spotify_both
    make_listener(spotify)
    seed(spotify, 60)
    for n in range(60):
        Track.objects.create(id=tid(n), name=f"Song {n}")
    spotify.per_id_delay = 0.05  # long enough for the waves to overlap on a loaded machine
    report = linker.link_artists(pace_seconds=0)
    assert report.success and report.successful_links == 60
    app = report.summary()["apps"][spotify.client_id]
    if spotify.mode == "development":
        assert app == {"mode": "development", "method": "per-id", "requests": 60}
        assert spotify.counts["/v1/tracks/{id}"] == 60 and spotify.counts["/v1/tracks"] == 0
        assert 1 < spotify.max_in_flight <= linker.CONCURRENCY
    else:
        assert app == {"mode": "extended", "method": "batch", "requests": 2}
        assert spotify.counts["/v1/tracks"] == 2 and spotify.counts["/v1/tracks/{id}"] == 0


def test_a_403_from_the_batch_endpoint_switches_the_app_to_per_id(spotify, caplog):
    make_listener(spotify)
    seed(spotify, 70)
    for n in range(70):
        Track.objects.create(id=tid(n), name=f"Song {n}")
    spotify.inject(403, path_prefix="/v1/tracks", times=1)
    with caplog.at_level(logging.WARNING, logger="listening.spotify"):
        report = linker.link_artists(pace_seconds=0)
    assert report.success and report.successful_links == 70
    assert report.apps[spotify.client_id]["method"] == "per-id"
    assert spotify.counts["/v1/tracks"] == 1 and spotify.counts["/v1/tracks/{id}"] == 70
    row = SpotifyApp.objects.get(pk=spotify.client_id)
    assert row.per_id_since is not None and "403" in row.per_id_reason
    Track.objects.create(id=tid(70), name="Later")
    seed(spotify, 1, start=70)
    linker.link_artists(pace_seconds=0)  # remembered: no batch request is tried again
    assert spotify.counts["/v1/tracks"] == 1
    assert sum("switching to per-id" in r.getMessage() for r in caplog.records) == 1


def test_the_switch_is_visible_in_admin(spotify, admin_client):
    SpotifyApp.objects.create(client_id=spotify.client_id, per_id_since=timezone.now(),
                              per_id_reason="GET /v1/tracks answered 403")
    page = admin_client.get("/admin/listening/spotifyapp/").content.decode()
    assert spotify.client_id in page and "answered 403" in page and "extended" in page


def test_a_429_stops_a_per_id_run_which_resumes_where_it_stopped(settings):
    from tests.fakes.spotify import FakeSpotify

    spotify = FakeSpotify(mode="development")
    settings.SPOTIFY_ACCOUNTS_URL = settings.SPOTIFY_API_URL = spotify.url
    settings.SPOTIFY_CLIENT_ID, settings.SPOTIFY_CLIENT_SECRET = (spotify.client_id,
                                                                  spotify.client_secret)
    settings.SPOTIFY_CLIENT_MODE = "development"
    try:
        listener = make_listener(spotify)
        seed(spotify, 40)
        for n in range(40):
            Track.objects.create(id=tid(n), name=f"Song {n}")
        spotify.per_id_429_after = 12  # three waves of 4 pass, the fourth is rate limited
        report = linker.link_artists(pace_seconds=0)
        assert not report.success and "retry after 30" in report.error.lower()
        assert Track.objects.filter(artists__isnull=False).distinct().count() == 12
        backoff = Listener.objects.get(pk=listener.pk).backoff_until
        assert backoff > timezone.now() + timedelta(seconds=25)  # Retry-After recorded
        asked = spotify.counts["/v1/tracks/{id}"]
        assert asked == 16
        assert not linker.link_artists(pace_seconds=0).success  # too early: nothing asked
        assert spotify.counts["/v1/tracks/{id}"] == asked
        Listener.objects.filter(pk=listener.pk).update(backoff_until=None)  # time passes
        spotify.per_id_429_after = None
        report = linker.link_artists(pace_seconds=0)
        assert report.success and report.total_processed == 28  # only what was left
        assert spotify.counts["/v1/tracks/{id}"] - asked == 28
    finally:
        spotify.stop()


def test_the_command_s_summary_names_mode_and_requests(spotify_both):
    spotify = spotify_both
    make_listener(spotify)
    seed(spotify, 3)
    for n in range(3):
        Track.objects.create(id=tid(n), name=f"Song {n}")
    out = io.StringIO()
    call_command("link_artists", "--pace", "0", stdout=out)
    summary = json.loads(out.getvalue())
    expected = {"development": {"mode": "development", "method": "per-id", "requests": 3},
                "extended": {"mode": "extended", "method": "batch", "requests": 1}}
    assert summary["apps"] == {spotify.client_id: expected[spotify.mode]}


def test_oauth_links_in_both_dialects(client, spotify_both):
    spotify = spotify_both
    response = client.get("/analytics/login/")
    state = response["Location"].split("state=")[1]
    code = spotify.authorize("zoe", "Zoe")
    response = client.get("/analytics/loginResponse", {"code": code, "state": state})
    assert response.status_code == 302
    assert Listener.objects.get(spotify_id="zoe").display_name == "Zoe"


# --- the seed's remaining gaps --------------------------------------------------------------
def test_the_authentication_check(client, django_user_model):
    response = client.get("/analytics/authenticated")
    assert response.status_code == 401 and response.json()["authenticated"] is False
    user = django_user_model.objects.create_user("ann", password="pw-ann-123456")
    client.force_login(user)
    body = client.get("/analytics/authenticated").json()
    assert body == {"authenticated": True, "user": "ann", "spotify_linked": False,
                    "spotify_id": None, "service": None}
    Listener.objects.create(spotify_id="ann-sp", user=user)
    body = client.get("/analytics/authenticated").json()
    assert body["spotify_linked"] is True and body["service"]["status"] == "running"
    assert body["service"]["color"] == "#1db954"


def test_sessions_last_24_hours_by_default(client, django_user_model, tmp_path):
    import subprocess
    import sys

    from tests.test_foundation import subprocess_env

    user = django_user_model.objects.create_user("ann", password="pw-ann-123456")
    client.force_login(user)
    assert 86_390 <= client.session.get_expiry_age() <= 86_400
    result = subprocess.run(
        [sys.executable, "-c", "import django, os; os.environ['DJANGO_SETTINGS_MODULE']="
         "'songhub.settings'; django.setup(); from django.conf import settings; "
         "print(settings.SESSION_COOKIE_AGE)"],
        capture_output=True, text=True, env=subprocess_env(tmp_path, SESSION_COOKIE_AGE="3600"))
    assert result.stdout.strip() == "3600", result.stderr


def test_a_second_spotify_account_for_the_same_user_is_a_400(client, spotify,
                                                             django_user_model):
    user = django_user_model.objects.create_user("bo", password="pw-bo-1234567")
    client.force_login(user)
    for spotify_id, expected in (("bo-first", 302), ("bo-second", 400)):
        state = client.get("/analytics/login/")["Location"].split("state=")[1]
        response = client.get("/analytics/loginResponse",
                              {"code": spotify.authorize(spotify_id), "state": state})
        assert response.status_code == expected
    assert "already linked to the Spotify account" in response.content.decode()
    assert list(Listener.objects.values_list("spotify_id", flat=True)) == ["bo-first"]


def _css_colors(theme: str) -> dict:
    """The colour custom properties in effect for `theme` in static/css/songhub.css: the
    `:root` blocks (light), overridden by the `[data-theme="dark"]` blocks for dark."""
    import re
    from pathlib import Path

    blocks = re.findall(r"([^{}]+)\{([^{}]*)\}", Path("static/css/songhub.css").read_text())
    values: dict = {}
    for wanted in (":root", '[data-theme="dark"]')[:1 if theme == "light" else 2]:
        for selector, body in blocks:
            if wanted in selector:
                values.update(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})", body))
    return values


def _contrast(a: str, b: str) -> float:
    def luminance(color):
        channels = [int(color[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        r, g, b = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_status_colours_are_the_seed_s_with_contrast_in_both_themes(theme):
    colors = _css_colors(theme)
    assert colors["run"].lower() == "#1db954" and colors["stop"].upper() == "#E10000"
    assert _contrast(colors["run"], "#000000") >= 4.5  # badge: black on green
    assert _contrast(colors["stop"], "#ffffff") >= 4.5  # badge: white on red
    for text in ("run-text", "stop-text"):  # settings-menu text on the menu's surface
        assert _contrast(colors[text], colors["surface"]) >= 4.5, (theme, text)
