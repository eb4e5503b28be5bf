"""Hostile input against every HTTP endpoint (issue #11, "Hostile input"): hypothesis feeds
random query parameters, path ids and JSON bodies to each route of the URLconf as a logged-in
user and asserts no 5xx and no non-finite number (bare NaN/Infinity, which browsers'
JSON.parse rejects) in any JSON response. The routes are enumerated from the URLconf, so a new
endpoint is covered without editing this file."""

import json

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestion import pipeline
from ingestion.models import Song
from ingestion.store import SongStore
from rooms import services

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

SKIPPED = ("admin/", "accounts/logout/", "static/")  # Django's admin; logging out ends the run
PARAMS = ["q", "mode", "limit", "offset", "page", "days", "transpose", "capo", "state", "code",
          "error", "name", "password", "song_id", "role", "queue_mode", "allowed", "format",
          "tz", "year", "from", "to", "kind"]
EXAMPLES = 15  # per route and run; hypothesis explores new inputs on every run
NASTY_TEXT = ["", "0", "-1", "1e400", "nan", "NaN", "Infinity", "-0", "99999999999999999999",
              "2147483648", "\x00", "a\x00b", "☃", "%", "' OR 1=1 --", "[]", "{}", "null",
              "true", " ", "1.5", "x" * 5000]


def routes() -> list[tuple[str, list[tuple[str, str]]]]:
    """(route template, [(parameter, converter)]) for every URL pattern."""
    found = []

    def walk(patterns, prefix, converters):
        for item in patterns:
            route = prefix + str(item.pattern)
            convs = converters + [(name, type(conv).__name__)
                                  for name, conv in item.pattern.converters.items()]
            if isinstance(item, URLResolver):
                walk(item.url_patterns, route, convs)
            elif isinstance(item, URLPattern) and not route.startswith(SKIPPED):
                found.append((route, convs))

    walk(get_resolver().url_patterns, "", [])
    return found


ROUTES = routes()


def fill(route: str, convs, values) -> str:
    path = route
    for (name, converter), value in zip(convs, values):
        token = next(part for part in path.split("<")[1:] if part.split(">")[0].endswith(name))
        path = path.replace("<" + token.split(">")[0] + ">", str(value))
    return "/" + path


def path_value(converter: str):
    if converter == "IntConverter":
        return st.one_of(st.sampled_from([1, 2, 0]), st.integers(0, 10**25))
    return st.one_of(st.sampled_from(["start", "stop", "delete", "x"]),
                     st.text(alphabet=st.characters(blacklist_categories=["Cs"],
                                                    blacklist_characters="/?#"), min_size=1,
                             max_size=20))


json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70),
                         st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=40),
                         st.sampled_from(NASTY_TEXT))
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=12)
json_bodies = st.one_of(
    st.fixed_dictionaries({}, optional={name: json_values for name in PARAMS}),
    json_values)
query = st.dictionaries(st.sampled_from(PARAMS),
                        st.one_of(st.sampled_from(NASTY_TEXT), st.text(max_size=30)), max_size=5)


def refuse_constant(name):
    raise ValueError(f"non-finite number {name} in a JSON response")


def check(response, what):
    assert response.status_code < 500, f"{what} -> {response.status_code}: {response.content[:500]!r}"
    if "json" in response.get("Content-Type", "") and response.content:
        json.loads(response.content, parse_constant=refuse_constant)


@pytest.fixture
def world(django_user_model, settings):
    """A user, a song with the song index written, a room, and a Spotify app to link to (so
    the deliberate 503s for "no index yet" and "no Spotify app" do not apply)."""
    user = django_user_model.objects.create_user("fuzzer", password="pw-fuzzer-123")
    Song.objects.create(id=1, title="Fuzz Hymn", filename="f.cho", source_sha="x", page_count=2)
    pipeline.write_song_index(SongStore(settings.SONG_DATA_DIR))
    services.create_room(user, "Fuzz room")
    settings.SPOTIFY_CLIENT_ID, settings.SPOTIFY_CLIENT_SECRET = "fuzz-app", "fuzz-secret"
    return user


def route_id(route):
    return route[0] or "/"


@pytest.mark.parametrize("route", ROUTES, ids=[route_id(r) for r in ROUTES])
def test_no_endpoint_answers_5xx_or_non_finite_json_to_random_input(route, world, request):
    template, convs = route
    client = Client(raise_request_exception=False)
    client.force_login(world)

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture,
                                     HealthCheck.too_slow])
    @given(values=st.tuples(*[path_value(c) for _, c in convs]), params=query, body=json_bodies,
           method=st.sampled_from(["GET", "POST"]))
    def probe(values, params, body, method):
        path = fill(template, convs, values)
        if method == "GET":
            response = client.get(path, params, HTTP_ACCEPT="application/json")
        else:
            response = client.post(path, json.dumps(body), content_type="application/json",
                                   HTTP_ACCEPT="application/json")
        check(response, f"{method} {path} params={params!r} body={body!r}"[:600])

    probe()


def test_the_route_list_covers_the_json_api():
    templates = {r[0] for r in ROUTES}
    assert {"api/songs/search", "rooms/<room_id>/page", "analytics/top/",
            "health"} <= templates
