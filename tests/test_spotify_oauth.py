"""Linking a Spotify account end to end through the Django test client and a loopback Spotify."""

from urllib.parse import parse_qs, urlparse

import pytest

from listening.models import Listener

pytestmark = pytest.mark.django_db


def start(client):
    response = client.get("/analytics/login/")
    assert response.status_code == 302
    url = urlparse(response["Location"])
    return url, {k: v[0] for k, v in parse_qs(url.query).items()}


def test_login_redirects_to_spotify_with_scopes_and_a_session_bound_state(client, spotify, settings):
    url, query = start(client)
    assert f"{url.scheme}://{url.netloc}" == spotify.url and url.path == "/authorize"
    assert query["client_id"] == spotify.client_id and query["response_type"] == "code"
    assert query["redirect_uri"] == settings.SPOTIFY_REDIRECT_URI
    assert set(query["scope"].split()) == {"user-read-currently-playing",
                                           "user-read-recently-played", "playlist-read-private"}
    assert client.session["spotify_oauth"]["state"] == query["state"]


def test_the_full_flow_creates_a_user_and_an_encrypted_listener(client, spotify):
    _, query = start(client)
    code = spotify.authorize("alice", "Alice A.")
    response = client.get("/analytics/loginResponse", {"code": code, "state": query["state"]})
    assert response.status_code == 302 and response["Location"] == "/analytics/"
    listener = Listener.objects.get(spotify_id="alice")
    assert listener.display_name == "Alice A." and listener.user.username == "spotify-alice"
    assert listener.refresh_token and listener.refresh_token not in listener.refresh_token_encrypted
    assert listener.app_client_id == spotify.client_id
    assert "Alice A." in client.get("/analytics/").content.decode()  # logged in now
    assert spotify.counts["/api/token"] == 1 and spotify.counts["/v1/me"] == 1


def test_a_logged_in_user_links_their_own_account(client, spotify, django_user_model):
    user = django_user_model.objects.create_user("bob", password="pw-bob-12345")
    client.force_login(user)
    _, query = start(client)
    client.get("/analytics/loginResponse", {"code": spotify.authorize("bob-sp"),
                                            "state": query["state"]})
    assert Listener.objects.get(spotify_id="bob-sp").user == user
    _, query = start(client)  # linking again updates, does not duplicate
    client.get("/analytics/loginResponse", {"code": spotify.authorize("bob-sp"),
                                            "state": query["state"]})
    assert Listener.objects.count() == 1


@pytest.mark.parametrize("params", [{"error": "access_denied"}, {"code": "x", "state": "forged"},
                                    {"code": "x"}])
def test_denied_consent_or_a_bad_state_stores_nothing(client, spotify, params):
    _, query = start(client)
    if "error" in params:
        params = {**params, "state": query["state"]}
    response = client.get("/analytics/loginResponse", params)
    assert response.status_code == 400
    assert b"nothing" in response.content.lower()
    assert not Listener.objects.exists()


def test_a_code_spotify_rejects_stores_nothing(client, spotify):
    _, query = start(client)
    response = client.get("/analytics/loginResponse", {"code": "not-issued",
                                                       "state": query["state"]})
    assert response.status_code == 502 and not Listener.objects.exists()


def test_a_new_listener_goes_to_an_app_with_room(client, spotify, settings):
    settings.SPOTIFY_APP_MAX_USERS = 1
    settings.SPOTIFY_CLIENT_MODE = "development"
    settings.SPOTIFY_APPS = [{"client_id": "second-app", "client_secret": "s2"}]
    Listener.objects.create(spotify_id="existing", app_client_id=spotify.client_id)
    _, query = start(client)
    assert query["client_id"] == "second-app"
    Listener.objects.create(spotify_id="other", app_client_id="second-app")
    full = client.get("/analytics/login/")
    assert full.status_code == 503 and b"maximum number of users" in full.content
