"""Song search: every mode on PostgreSQL and on the SQLite fallback, plus the API contract."""

import pytest
from django.db import connection

from ingestion import search
from ingestion.models import Song

pytestmark = pytest.mark.django_db

CATALOGUE = [
    (1, "Amazing Grace", "John Newton", "G", "I once was lost but now am found\nwas blind"),
    (2, "Amazing Love", "Charles Wesley", "D", "and can it be that I should gain"),
    (3, "Grace Alone", "Scott Dyer", "C", "every promise we can make"),
    (4, "Holy, Holy, Holy", "Reginald Heber", "D", "early in the morning our song shall rise"),
    (5, "It Is Well with My Soul", "Horatio Spafford", "C", "when peace like a river"),
    (6, "100% Yours", "Band_One", "E", "all of me"),
    (7, "Under_score Song", "Nobody", "A", "la la"),
    (8, "Great Is Thy Faithfulness", "Thomas Chisholm", "D", "morning by morning new mercies"),
    (9, "Be Thou My Vision", "Traditional", "Eb", "naught be all else to me"),
    (10, "Morning Has Broken", "Eleanor Farjeon", "C", "blackbird has spoken"),
]


@pytest.fixture
def catalogue():
    Song.objects.bulk_create([
        Song(id=i, title=t, artist=a, key=k, lyrics=lyr, filename=f"{i}.cho", source_sha="x",
             page_count=1, image_etag=f"e{i}") for i, t, a, k, lyr in CATALOGUE])


@pytest.fixture(params=[pytest.param("postgres", marks=pytest.mark.postgres), "fallback"])
def engine(request, catalogue, monkeypatch):
    """Run a test against PostgreSQL's SQL and against the SQLite fallback (pure ORM, so it
    also runs on PostgreSQL: CI covers both implementations)."""
    if request.param == "fallback":
        monkeypatch.setattr(search, "_postgres", search._fallback)
    return request.param


def titles(q, mode="auto", **kw):
    return [hit.title for hit in search.search(q, mode, **kw).hits]


def test_substring_is_case_insensitive_on_title_and_artist(engine):
    assert set(titles("GRACE", "substring")) == {"Amazing Grace", "Grace Alone"}
    assert titles("wesley", "substring") == ["Amazing Love"]


def test_substring_escapes_like_wildcards(engine):
    assert titles("%", "substring") == ["100% Yours"]
    assert titles("_", "substring") == ["100% Yours", "Under_score Song"]


def test_fuzzy_finds_typos_ranked_by_similarity(engine):
    assert titles("Amazng Grace", "fuzzy")[0] == "Amazing Grace"
    assert titles("Horatio Spaford", "fuzzy") == ["It Is Well with My Soul"]


def test_fulltext_ignores_word_order(engine):
    assert titles("grace amazing", "fulltext") == ["Amazing Grace"]
    assert titles("thy great", "fulltext") == ["Great Is Thy Faithfulness"]


def test_lyrics_finds_a_remembered_line(engine):
    assert titles("once was lost", "lyrics") == ["Amazing Grace"]
    assert titles("blackbird", "lyrics") == ["Morning Has Broken"]


def test_auto_ranks_exact_then_prefix_then_fulltext_then_similar_then_lyrics(engine):
    assert titles("Amazing Grace")[0] == "Amazing Grace"
    assert set(titles("amazing")[:2]) == {"Amazing Grace", "Amazing Love"}  # title prefix
    morning = titles("morning")
    assert morning[0] == "Morning Has Broken"  # title prefix
    # lyric-only matches come after every title match
    assert morning.index("Holy, Holy, Holy") > morning.index("Morning Has Broken")
    assert set(morning) >= {"Great Is Thy Faithfulness", "Holy, Holy, Holy"}
    found = titles("found")
    assert found == ["Amazing Grace"]


def test_auto_has_no_duplicates_and_a_stable_order(engine):
    first = search.search("grace", "auto")
    assert len({h.id for h in first.hits}) == len(first.hits) == first.count
    assert [h.id for h in search.search("grace", "auto").hits] == [h.id for h in first.hits]
    scores = [h.score for h in first.hits]
    assert scores == sorted(scores, reverse=True)


def test_paging_counts_all_matches(engine):
    page = search.search("a", "substring", limit=3, offset=0)
    assert len(page.hits) == 3 and page.count > 3
    rest = search.search("a", "substring", limit=100, offset=3)
    assert len(rest.hits) == page.count - 3
    assert not {h.id for h in page.hits} & {h.id for h in rest.hits}


def test_trigram_similarity_matches_pg_trgm_definition():
    assert search.similarity("word", "word") == 1.0
    assert search.similarity("", "word") == 0.0
    assert search.similarity("Amazing Grace", "Amazng Grace") == 0.6875  # pg_trgm's value


@pytest.mark.postgres
def test_python_similarity_equals_pg_trgm():
    pairs = [("Amazing Grace", "Amazng Grace"), ("Horatio Spafford", "Horatio Spaford"),
             ("morning has broken", "morning"), ("Café Olé", "cafe"), ("C'est la vie!", "vie")]
    with connection.cursor() as cursor:
        for a, b in pairs:
            cursor.execute("SELECT similarity(%s, %s)", [a, b])
            assert search.similarity(a, b) == pytest.approx(cursor.fetchone()[0], abs=1e-6), (a, b)


# --- the HTTP API ---------------------------------------------------------------------------
def test_api_returns_the_documented_shape(client, catalogue):
    data = client.get("/api/songs/search", {"q": "grace"}).json()
    assert data["query"] == "grace" and data["mode"] == "auto" and data["count"] == 2
    hit = data["results"][0]
    assert set(hit) == {"id", "title", "artist", "key", "page_count", "score", "thumbnail_url"}
    assert hit["thumbnail_url"] == f"/songs/{hit['id']}/pages/1?v=e{hit['id']}"


@pytest.mark.parametrize("params, code", [
    ({"q": ""}, "empty_query"),
    ({"q": "   "}, "empty_query"),
    ({}, "empty_query"),
    ({"q": "x" * 201}, "query_too_long"),
    ({"q": "grace", "mode": "telepathy"}, "bad_mode"),
    ({"q": "grace", "limit": "ten"}, "bad_paging"),
    ({"q": "grace", "offset": "-1"}, "bad_paging"),
])
def test_api_rejects_bad_queries_with_a_clear_400(client, catalogue, params, code):
    response = client.get("/api/songs/search", params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == code and error["message"]


def test_api_caps_limit_at_100(client):
    Song.objects.bulk_create([Song(id=i, title=f"Song {i}", filename=f"{i}.cho", source_sha="x")
                              for i in range(1, 131)])
    data = client.get("/api/songs/search", {"q": "song", "mode": "substring", "limit": 500}).json()
    assert len(data["results"]) == 100 and data["count"] == 130


def test_api_accepts_200_characters(client, catalogue):
    assert client.get("/api/songs/search", {"q": "x" * 200}).status_code == 200


def test_auto_tolerates_typos_from_six_characters_on(engine):
    assert titles("Amazng Grace")[0] == "Amazing Grace"
    assert titles("Hloy") == []  # too short for trigram matching: no noise either
