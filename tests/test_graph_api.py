"""The graph API on PostgreSQL: shapes, ranking, Camelot flags, errors, query budgets, and the
artist rule at the database and API layers, each proven on its own."""

import pytest
from django.db import connection

from graph import etl
from graph.models import Artist, Track, TrackArtist, Transition
from graph.parsers import parse

pytestmark = [pytest.mark.postgres, pytest.mark.django_db, pytest.mark.usefixtures("graph_fast")]


def imp(text, external_id):
    return etl.import_setlist(parse(text, "text"), source="file", payload=text, fmt="text",
                              external_id=external_id)


@pytest.fixture
def sets():
    imp("DJ: One\nA - Alpha\nB - Beta\nC - Gamma\n", "1")
    imp("DJ: Two\nA - Alpha\nB - Beta\nD - Delta\n", "2")
    imp("DJ: Two\nA - Alpha\nB - Beta\n", "3")
    imp("DJ: Three\nA - Alpha\nD - Delta\nD - Delta\nE - Epsilon\n", "4")
    return {t.title: t.pk for t in Track.objects.all()}


def smuggle_invalid_node(next_to: int) -> int:
    """Write an "Unknown Artist" track and its edge straight into gold, past the ETL."""
    bad = Track.objects.create(title="Mystery", artist_key="unknown artist", title_key="mystery")
    TrackArtist.objects.create(track=bad, role="primary",
                               artist=Artist.objects.create(name="Unknown Artist",
                                                            name_key="unknown artist"))
    Transition.objects.create(from_track_id=next_to, to_track=bad, occurrences=9, setlists=9,
                              djs=9, first_seen="2020-01-01", last_seen="2020-01-01")
    return bad.pk


def test_graph_returns_nodes_and_edges_around_a_seed(client, sets):
    body = client.get("/api/graph", {"seed": sets["Alpha"], "depth": 1}).json()
    assert {n["title"] for n in body["nodes"]} == {"Alpha", "Beta", "Delta"}
    alpha = next(n for n in body["nodes"] if n["title"] == "Alpha")
    assert alpha["artists"] == [{"name": "A", "role": "primary"}] and alpha["degree"] == 2
    edge = next(e for e in body["edges"] if e["from"] == sets["Alpha"] and e["to"] == sets["Beta"])
    assert (edge["occurrences"], edge["setlists"], edge["djs"]) == (3, 3, 2)


def test_the_graph_answer_has_the_documented_shape(client, sets):
    """/api/graph is encoded without ninja's output validation: its shape is checked here."""
    from graph.api import GraphOut

    response = client.get("/api/graph", {"seed": sets["Alpha"], "depth": 2})
    assert response["Content-Type"] == "application/json; charset=utf-8"
    body = response.json()
    assert GraphOut.model_validate(body).model_dump(mode="json") == body
    assert {"from", "to", "occurrences", "setlists", "djs"} == set(body["edges"][0])


def test_depth_two_reaches_further_and_min_count_prunes(client, sets):
    body = client.get("/api/graph", {"seed": sets["Alpha"], "depth": 2}).json()
    assert {n["title"] for n in body["nodes"]} == {"Alpha", "Beta", "Gamma", "Delta", "Epsilon"}
    body = client.get("/api/graph", {"seed": sets["Alpha"], "depth": 2, "min_count": 2}).json()
    assert {n["title"] for n in body["nodes"]} == {"Alpha", "Beta"}


def test_limit_caps_the_nodes(client, sets):
    body = client.get("/api/graph", {"seed": sets["Alpha"], "depth": 3, "limit": 2}).json()
    assert len(body["nodes"]) == 2 and all(
        {e["from"], e["to"]} <= {n["id"] for n in body["nodes"]} for e in body["edges"])


def test_graph_without_seed_returns_the_strongest_edges(client, sets):
    body = client.get("/api/graph", {"limit": 2}).json()
    assert body["edges"][0]["from"] == sets["Alpha"] and body["edges"][0]["to"] == sets["Beta"]


def test_next_ranks_by_setlists_then_occurrences_with_camelot(client, sets):
    Track.objects.filter(pk=sets["Alpha"]).update(camelot="8A")
    Track.objects.filter(pk=sets["Beta"]).update(camelot="9A")
    Track.objects.filter(pk=sets["Delta"]).update(camelot="3B")
    body = client.get(f"/api/graph/tracks/{sets['Alpha']}/next").json()
    assert [(i["track"]["title"], i["setlists"], i["camelot_compatible"]) for i in body["next"]] == \
        [("Beta", 3, True), ("Delta", 1, False)]


def test_search_uses_words_in_any_order(client, sets):
    items = client.get("/api/graph/tracks/search", {"q": "delta d"}).json()["items"]
    assert [i["title"] for i in items] == ["Delta"]


def test_setlists_list_filter_and_detail(client, sets):
    body = client.get("/api/graph/setlists", {"track": sets["Gamma"]}).json()
    assert body["total"] == 1 and body["items"][0]["dj"] == "One"
    assert body["items"][0]["entries"] == 3  # the whole setlist, not the matching entry
    detail = client.get(f"/api/graph/setlists/{body['items'][0]['id']}").json()
    assert [e["title"] for e in detail["entries"]] == ["Alpha", "Beta", "Gamma"]
    assert client.get("/api/graph/setlists/999999").status_code == 404


def test_stats(client, sets):
    body = client.get("/api/graph/stats").json()
    assert (body["nodes"], body["setlists"], body["sources"]) == (5, 4, {"file": 4})
    assert body["enrichment"]["dead_letters"] == 0


@pytest.mark.parametrize("params,code", [({"depth": 4}, "bad_parameter"),
                                         ({"limit": "x"}, "bad_parameter"),
                                         ({"seed": 0}, "bad_parameter")])
def test_bad_parameters_get_a_clear_json_error(client, params, code):
    response = client.get("/api/graph", params)
    assert response.status_code == 400 and response.json()["error"]["code"] == code


def test_unknown_seed_is_404(client, sets):
    assert client.get("/api/graph", {"seed": 987654}).json()["error"]["code"] == "not_found"


def test_graph_query_budget(client, sets, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        client.get("/api/graph", {"seed": sets["Alpha"], "depth": 3})


# -- the artist rule, layer by layer -------------------------------------------------------
def test_database_layer_views_never_return_an_invalid_node(sets):
    bad = smuggle_invalid_node(sets["Alpha"])
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM graph_nodes WHERE id = %s", [bad])
        assert cursor.fetchone()[0] == 0
        cursor.execute("SELECT count(*) FROM graph_edges WHERE to_track_id = %s", [bad])
        assert cursor.fetchone()[0] == 0
        cursor.execute("SELECT count(*) FROM graph_node_artists WHERE name = 'Unknown Artist'")
        assert cursor.fetchone()[0] == 0


def test_database_layer_hides_a_track_with_one_invalid_primary_artist(sets):
    TrackArtist.objects.create(track_id=sets["Beta"], role="primary",
                               artist=Artist.objects.create(name="VA", name_key="va"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM graph_nodes WHERE id = %s", [sets["Beta"]])
        assert cursor.fetchone()[0] == 0


def test_api_layer_filters_even_when_the_views_let_an_invalid_node_through(client, sets):
    """Replace the views with permissive ones (inside this test's transaction) to show the
    API's own check of the rule; the test fails if the API trusted the view alone."""
    bad = smuggle_invalid_node(sets["Alpha"])
    with connection.cursor() as cursor:
        cursor.execute("CREATE OR REPLACE VIEW graph_node_artists AS SELECT ta.track_id, "
                       "a.id AS artist_id, a.name, ta.role, ta.position FROM graph_trackartist ta "
                       "JOIN graph_artist a ON a.id = ta.artist_id")
        cursor.execute("CREATE OR REPLACE VIEW graph_nodes AS SELECT t.id, t.title, t.version, "
                       "t.camelot, t.bpm, t.key, t.spotify_id, t.isrc, t.degree FROM graph_track t")
        cursor.execute("CREATE OR REPLACE VIEW graph_edges AS SELECT tr.id, tr.from_track_id, "
                       "tr.to_track_id, tr.occurrences, tr.setlists, tr.djs, tr.first_seen, "
                       "tr.last_seen FROM graph_transition tr")
        cursor.execute("SELECT count(*) FROM graph_nodes WHERE id = %s", [bad])
        assert cursor.fetchone()[0] == 1  # the control: the database layer is now open
    body = client.get("/api/graph", {"seed": sets["Alpha"], "depth": 2}).json()
    assert bad not in {n["id"] for n in body["nodes"]}
    assert all(bad not in (e["from"], e["to"]) for e in body["edges"])
    assert bad not in {i["track"]["id"] for i in
                       client.get(f"/api/graph/tracks/{sets['Alpha']}/next").json()["next"]}
    assert client.get(f"/api/graph/tracks/{bad}/next").status_code == 404
    assert client.get("/api/graph/tracks/search", {"q": "mystery"}).json()["items"] == []


def test_the_attribution_flag_cannot_be_forced(sets):
    bad = smuggle_invalid_node(sets["Alpha"])
    Track.objects.filter(pk=bad).update(attributed=True)  # recomputed by the trigger
    assert not Track.objects.get(pk=bad).attributed
    Artist.objects.filter(name="Unknown Artist").update(name="Real Name")  # fixed upstream
    assert Track.objects.get(pk=bad).attributed


def test_no_parameter_shows_invalid_nodes(client, sets):
    bad = smuggle_invalid_node(sets["Alpha"])
    for params in ({"seed": sets["Alpha"], "include_unknown": 1}, {"show_all": "true"},
                   {"seed": bad}):
        body = client.get("/api/graph", params).json()
        assert bad not in {n["id"] for n in body.get("nodes", [])}
