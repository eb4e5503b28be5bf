"""Song search: substring, fuzzy (trigram), full-text, lyrics, and `auto` which merges them.

On PostgreSQL every mode is one indexed SQL query (pg_trgm GIN indexes, tsvector GIN indexes;
see search_infra). On SQLite, the embedded default, the same API works on a documented
fallback: case-insensitive LIKE for substring and word matches, and trigram similarity
computed in Python (pg_trgm's definition) over at most SQLITE_FUZZY_LIMIT rows.

`auto` ranks, best first: exact title, title prefix, title/artist full-text (by ts_rank),
substring or trigram similarity (by similarity), lyrics (by ts_rank). Ties break on title, id.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from django.conf import settings
from django.db import connection
from django.db.models import Q

from . import search_infra
from .models import Song

MODES = ("auto", "substring", "fuzzy", "fulltext", "lyrics")
MAX_QUERY_LENGTH = 200
MAX_LIMIT = 100
SQLITE_FUZZY_LIMIT = 20000

TIER_EXACT, TIER_PREFIX, TIER_FULLTEXT, TIER_SIMILAR, TIER_LYRICS = 5, 4, 3, 2, 1
# `auto` adds typo-tolerant trigram matches from this query length on: shorter queries share a
# trigram with a large part of any library, so the index cannot narrow them down (25 ms vs 2 ms
# at 100,000 songs) and their prefix/substring/word matches are what people mean anyway.
AUTO_FUZZY_MIN_LENGTH = 6


class SearchError(ValueError):
    """A query the API answers with 400."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass
class Hit:
    id: int
    title: str
    artist: str
    key: str
    page_count: int
    image_etag: str
    score: float

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class SearchPage:
    query: str
    mode: str
    count: int  # all matches, not just this page
    hits: list[Hit]


def validate(q: str | None, mode: str | None, limit, offset) -> tuple[str, str, int, int]:
    query = (q or "").strip()
    if not query:
        raise SearchError("empty_query", "Type something to search for (q is empty).")
    if len(query) > MAX_QUERY_LENGTH:
        raise SearchError("query_too_long",
                          f"The query is {len(query)} characters; the limit is {MAX_QUERY_LENGTH}.")
    mode = (mode or "auto").strip().lower()
    if mode not in MODES:
        raise SearchError("bad_mode", f"mode must be one of {', '.join(MODES)}.")
    try:
        limit = 20 if limit in (None, "") else int(limit)
        offset = 0 if offset in (None, "") else int(offset)
    except (TypeError, ValueError):
        raise SearchError("bad_paging", "limit and offset must be whole numbers.") from None
    if limit < 1 or offset < 0:
        raise SearchError("bad_paging", "limit must be at least 1 and offset at least 0.")
    return query, mode, min(limit, MAX_LIMIT), offset


def search(q: str, mode: str = "auto", limit: int = 20, offset: int = 0) -> SearchPage:
    query, mode, limit, offset = validate(q, mode, limit, offset)
    if connection.vendor == "postgresql":
        hits, count = _postgres(query, mode, limit, offset)
    else:
        hits, count = _fallback(query, mode, limit, offset)
    return SearchPage(query, mode, count, hits)


# --- PostgreSQL ----------------------------------------------------------------------------
def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _vectors() -> tuple[str, str]:
    if search_infra.fts_layout() == "column":
        return "ts", "search_doc"
    return f"({search_infra.TITLE_ARTIST_TSV})", f"({search_infra.SEARCH_DOC_TSV})"


def _postgres_sql(mode: str, fuzzy_in_auto: bool = True) -> str:
    ts, doc = _vectors()
    similarity = "greatest(similarity(title, %(q)s), similarity(artist, %(q)s))"
    substring = "(title ILIKE %(like)s OR artist ILIKE %(like)s)"
    fuzzy = "(title %% %(q)s OR artist %% %(q)s)"
    auto_similar = f"({substring} OR {fuzzy})" if fuzzy_in_auto else substring
    fulltext = f"({ts} @@ websearch_to_tsquery('simple', %(q)s))"
    lyrics = f"({doc} @@ websearch_to_tsquery('simple', %(q)s))"
    rank = f"least(ts_rank({ts}, websearch_to_tsquery('simple', %(q)s)), 0.999)"
    lyrics_rank = f"least(ts_rank({doc}, websearch_to_tsquery('simple', %(q)s)), 0.999)"
    where, score = {
        "substring": (substring, similarity),
        "fuzzy": (fuzzy, similarity),
        "fulltext": (fulltext, rank),
        "lyrics": (lyrics, lyrics_rank),
        "auto": (
            f"({auto_similar} OR {fulltext} OR {lyrics})",
            f"""CASE
                 WHEN lower(title) = lower(%(q)s) THEN {TIER_EXACT} + {similarity} / 10
                 WHEN title ILIKE %(prefix)s THEN {TIER_PREFIX} + {similarity}
                 WHEN {fulltext} THEN {TIER_FULLTEXT} + {rank}
                 WHEN {auto_similar} THEN {TIER_SIMILAR} + least({similarity}, 0.999)
                 ELSE {TIER_LYRICS} + {lyrics_rank}
               END""",
        ),
    }[mode]
    return f"""
        SELECT id, title, artist, key, page_count, image_etag, {score} AS score,
               count(*) OVER () AS total
          FROM songs
         WHERE {where}
         ORDER BY score DESC, title, id
         LIMIT %(limit)s OFFSET %(offset)s"""


def _postgres(query: str, mode: str, limit: int, offset: int) -> tuple[list[Hit], int]:
    params = {"q": query, "like": f"%{escape_like(query)}%", "prefix": f"{escape_like(query)}%",
              "limit": limit, "offset": offset}
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('pg_trgm.similarity_threshold', %s, false)",
                       [str(settings.SEARCH_SIMILARITY_THRESHOLD)])
        cursor.execute(_postgres_sql(mode, len(query) >= AUTO_FUZZY_MIN_LENGTH), params)
        rows = cursor.fetchall()
    hits = [Hit(*row[:6], score=round(float(row[6]), 4)) for row in rows]
    return hits, (rows[0][7] if rows else _count_beyond(query, mode, offset))


def _count_beyond(query, mode, offset) -> int:
    """A page past the end has no rows to carry the total; count it once."""
    if offset == 0:
        return 0
    hits, count = _postgres(query, mode, 1, 0)
    return count


# --- SQLite fallback -----------------------------------------------------------------------
_WORD = re.compile(r"\w+", re.UNICODE)


def trigrams(text: str) -> set[str]:
    """pg_trgm's trigrams: lower-cased words padded with two spaces in front, one behind."""
    grams: set[str] = set()
    for word in _WORD.findall(text.lower()):
        padded = f"  {word} "
        grams.update(padded[i:i + 3] for i in range(len(padded) - 2))
    return grams


def similarity(a: str, b: str) -> float:
    ta, tb = trigrams(a), trigrams(b)
    if not ta or not tb:
        return 0.0
    return len(ta & tb) / len(ta | tb)


def _words_match(words: list[str], fields: tuple[str, ...]) -> Q:
    condition = Q()
    for word in words:
        any_field = Q()
        for field in fields:
            any_field |= Q(**{f"{field}__icontains": word})
        condition &= any_field
    return condition


def _fallback(query: str, mode: str, limit: int, offset: int) -> tuple[list[Hit], int]:
    columns = ("id", "title", "artist", "key", "page_count", "image_etag")
    words = _WORD.findall(query) or [query]
    threshold = settings.SEARCH_SIMILARITY_THRESHOLD
    songs = Song.objects.order_by()
    found: dict[int, tuple] = {}

    def consider(row, score):
        if row[0] not in found or found[row[0]][1] < score:
            found[row[0]] = (row, score)

    def take(queryset, tier, scorer):
        for row in queryset.values_list(*columns):
            consider(row, tier + min(scorer(row), 0.999))

    sim = lambda row: max(similarity(row[1], query), similarity(row[2], query))  # noqa: E731
    lowered = query.lower()

    if mode in ("substring", "auto"):
        qs = songs.filter(Q(title__icontains=query) | Q(artist__icontains=query))
        take(qs, TIER_SIMILAR if mode == "auto" else 0, sim)
    if mode == "fuzzy" or (mode == "auto" and len(query) >= AUTO_FUZZY_MIN_LENGTH):
        base = TIER_SIMILAR if mode == "auto" else 0
        for row in songs.values_list(*columns)[:SQLITE_FUZZY_LIMIT]:
            score = sim(row)
            if score >= threshold:
                consider(row, base + min(score, 0.999))
    if mode in ("fulltext", "auto"):
        take(songs.filter(_words_match(words, ("title", "artist"))),
             TIER_FULLTEXT if mode == "auto" else 0, lambda row: 0.1)
    if mode in ("lyrics", "auto"):
        take(songs.filter(_words_match(words, ("title", "artist", "lyrics"))),
             TIER_LYRICS if mode == "auto" else 0, lambda row: 0.05)
    if mode == "auto":
        for song_id, (row, score) in list(found.items()):
            if row[1].lower() == lowered:
                found[song_id] = (row, TIER_EXACT + sim(row) / 10)
            elif row[1].lower().startswith(lowered):
                found[song_id] = (row, TIER_PREFIX + sim(row))
    ranked = sorted(found.values(), key=lambda item: (-item[1], item[0][1], item[0][0]))
    page = ranked[offset:offset + limit]
    return [Hit(*row, score=round(score, 4)) for row, score in page], len(ranked)
