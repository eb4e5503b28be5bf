"""Song search: every mode on PostgreSQL and on the SQLite fallback, plus the API contract."""

import random

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


@pytest.mark.postgres
def test_python_word_similarity_equals_pg_trgm():
    """The fallback's fuzzy mode and short typos use word_similarity; pg_trgm defines it."""
    rng = random.Random(5)
    pairs = [("grase", "Amazing Grace"), ("word", "two words"), ("abc def", "abc zzzz def"),
             ("amazng grace", "amazing grace john newton"), ("grace john", "Amazing Grace x John"),
             ("", "anything"), ("x", ""), ("Horatio Spaford", "It Is Well Horatio Spafford")]
    pairs += [(" ".join(rng.choice(["ab", "abc", "bca", "cab", "a", "ba"]) for _ in range(2)),
               " ".join(rng.choice(["abc", "cab", "ab", "bcab", "c", "abca"]) for _ in range(4)))
              for _ in range(200)]
    with connection.cursor() as cursor:
        for a, b in pairs:
            cursor.execute("SELECT word_similarity(%s, %s)", [a, b])
            assert search.word_similarity(a, b) == pytest.approx(cursor.fetchone()[0], abs=1e-6), \
                (a, b)


# --- the HTTP API ---------------------------------------------------------------------------
def test_api_returns_the_documented_shape(client, catalogue):
    data = client.get("/api/songs/search", {"q": "grace"}).json()
    assert data["query"] == "grace" and data["mode"] == "auto" and data["count"] == 2
    hit = data["results"][0]
    assert set(hit) == {"id", "title", "artist", "key", "page_count", "score", "thumbnail_url",
                        "snippet"}
    assert hit["snippet"] is None  # matched by its title: no lyric snippet
    assert hit["thumbnail_url"] == f"/songs/{hit['id']}/pages/1?v=e{hit['id']}"


@pytest.mark.parametrize("params, code", [
    ({"q": ""}, "empty_query"),
    ({"q": "   "}, "empty_query"),
    ({}, "empty_query"),
    ({"q": "x" * 201}, "query_too_long"),
    ({"q": "grace", "mode": "telepathy"}, "bad_mode"),
    ({"q": "grace", "limit": "ten"}, "bad_paging"),
    ({"q": "grace", "offset": "-1"}, "bad_paging"),
    ({"q": "a\x00b"}, "bad_query"),
    ({"q": "grace", "offset": "99999999999999999999"}, "bad_paging"),
    ({"q": "grace", "offset": "9223372036854775808"}, "bad_paging"),
    ({"q": "grace", "offset": str(search.MAX_OFFSET + 1)}, "bad_paging"),
    ({"q": "grace", "offset": "1e400"}, "bad_paging"),
    ({"q": "grace", "limit": "1e400"}, "bad_paging"),
    ({"q": "grace", "limit": "2.5"}, "bad_paging"),
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
    assert titles("Hloy") == []  # shares too few trigrams with "Holy": no noise either


def test_api_answers_a_huge_offset_on_every_mode_with_400_not_500(client, catalogue):
    for mode in search.MODES:
        response = client.get("/api/songs/search", {"q": "grace", "mode": mode,
                                                    "offset": str(2 ** 63)})
        assert response.status_code == 400, mode
        assert "offset" in response.json()["error"]["message"]


# --- accents (#12.13) -----------------------------------------------------------------------
@pytest.fixture
def accented(catalogue):
    Song.objects.create(id=20, title="Café Niño Olé", artist="Zoë Ærøskøbing", key="G",
                        lyrics="un café crème à Zürich\nsous le soleil", filename="20.cho",
                        source_sha="x", page_count=1, image_etag="e20")


@pytest.mark.parametrize("mode, query", [
    ("substring", "cafe nino"), ("substring", "CAFÉ"), ("substring", "zoe"),
    ("fuzzy", "Cafe Nino Ole"), ("fulltext", "nino cafe"), ("lyrics", "creme zurich"),
    ("auto", "cafe"), ("auto", "Cafe Nino Ole"), ("auto", "aeroskobing"),
])
def test_accents_are_ignored_in_every_mode(engine, accented, mode, query):
    assert titles(query, mode)[:1] == ["Café Niño Olé"], (mode, query)


def test_accents_in_the_query_are_ignored_too(engine, accented):
    assert titles("Ámazing Gráce")[0] == "Amazing Grace"
    exact = search.search("cafe nino ole").hits[0]
    assert exact.title == "Café Niño Olé" and exact.score >= search.TIER_EXACT


# --- short typos (#12.14) -------------------------------------------------------------------
@pytest.fixture
def distractors(catalogue):
    """Titles that share "grase"'s first trigrams but are two edits away, more than the limit."""
    Song.objects.bulk_create([Song(id=100 + i, title=f"Grand Hall {i}", filename=f"g{i}.cho",
                                   source_sha="x") for i in range(30)])


def test_a_short_typo_finds_the_closest_titles_with_a_strict_limit(engine, distractors):
    page = search.search("grase")
    assert [h.title for h in page.hits[:2]] == ["Amazing Grace", "Grace Alone"]
    assert page.count == len(page.hits) == search.TYPO_MAX_RESULTS
    assert [h.score for h in page.hits] == sorted((h.score for h in page.hits), reverse=True)
    assert titles("Gráse")[:2] == ["Amazing Grace", "Grace Alone"]


def test_the_typo_fallback_stays_out_when_something_matched(engine, distractors):
    assert set(titles("grace")) == {"Amazing Grace", "Grace Alone"}
    assert titles("grand")[0].startswith("Grand Hall")  # exact words, no typo neighbours
    assert "Amazing Grace" not in titles("grand", limit=100)


# --- lyric snippets (#12.15) ----------------------------------------------------------------
def test_a_lyric_only_match_carries_a_highlighted_snippet(engine, accented):
    hit = search.search("blackbird").hits[0]
    assert hit.title == "Morning Has Broken"
    assert "<mark>blackbird</mark> has spoken" in hit.snippet
    creme = search.search("creme", "lyrics").hits[0]
    assert "<mark>crème</mark>" in creme.snippet  # highlighted as written, found unaccented
    assert search.search("Amazing", "auto").hits[0].snippet is None


def test_snippets_escape_the_lyrics(engine):
    Song.objects.create(id=30, title="Markup", lyrics="<img src=x onerror=alert(1)> & zebra <b>",
                        filename="30.cho", source_sha="x")
    snippet = search.search("zebra").hits[0].snippet
    assert "<img" not in snippet and "<b>" not in snippet
    assert "onerror=alert(1)&gt; &amp; <mark>zebra</mark>" in snippet


def test_api_returns_the_snippet(client, catalogue):
    hit = client.get("/api/songs/search", {"q": "blackbird"}).json()["results"][0]
    assert "<mark>blackbird</mark>" in hit["snippet"]
