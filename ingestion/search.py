"""Song search: substring, fuzzy (trigram), full-text, lyrics, and `auto` which merges them.

`fuzzy` compares the query with the best-matching stretch of "title artist" (pg_trgm's word
similarity, one trigram index over both), so a misspelt title, artist or "title artist" is found.

Every mode ignores case and accents ("cafe" finds "Café Niño"). On PostgreSQL every mode is one
indexed SQL query over accent-folded generated columns (pg_trgm GIN indexes, tsvector GIN
indexes; see search_infra). On SQLite, the embedded default, the same API works on a documented
fallback: case-insensitive LIKE on folded text for substring and word matches, and trigram
similarity computed in Python (pg_trgm's definition) over at most SQLITE_FUZZY_LIMIT rows.

`auto` ranks, best first: exact title, title prefix, title/artist full-text (by ts_rank),
substring (by similarity), lyrics (by ts_rank). Ties break on title, id. Only when none of that
matches does `auto` try typo-tolerant matches: `fuzzy` from 6 characters on, and for
shorter queries the titles with a word at most TYPO_MAX_EDITS edits away, at most
TYPO_MAX_RESULTS of them. A hit matched only by its lyrics carries an HTML-safe `snippet` with
the matched words in <mark>.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.db.models import F, Func, Q
from django.db.models.functions import Lower

from . import search_infra
from .models import Song
from .textfold import fold

MODES = ("auto", "substring", "fuzzy", "fulltext", "lyrics")
MAX_QUERY_LENGTH = 200
MAX_LIMIT = 100
MAX_OFFSET = 10_000  # nobody pages 500 screens deep; bigger values only cost the database
SQLITE_FUZZY_LIMIT = 20000

TIER_EXACT, TIER_PREFIX, TIER_FULLTEXT, TIER_SIMILAR, TIER_LYRICS = 5, 4, 3, 2, 1
# Trigram similarity needs 6+ characters to narrow anything down: a shorter query shares a
# trigram with a large part of any library. Short typos use word similarity + edit distance.
AUTO_FUZZY_MIN_LENGTH = 6
TYPO_WORD_SIMILARITY = 0.5  # pg_trgm word_similarity: "grase" ~ "Amazing Grace" is 0.5
TYPO_MAX_EDITS = 2
TYPO_MAX_RESULTS = 10
TYPO_MAX_CANDIDATES = 1000  # bounds the edit-distance pass however common the trigrams are
TYPO_MIN_LENGTH = 3  # one or two letters are a prefix, not a typo
TYPO_TITLE_WORDS = 8  # words of a title compared by edit distance
MARK_START, MARK_STOP = "\x02", "\x03"  # ts_headline markers; never in escaped text
HEADLINE_OPTIONS = (f'StartSel="{MARK_START}", StopSel="{MARK_STOP}", '
                    "MaxWords=14, MinWords=5, ShortWord=2")


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
    snippet: str | None = None  # HTML: escaped lyric text, matched words in <mark>

    def as_dict(self) -> dict:
        return dict(vars(self))  # flat fields: dataclasses.asdict's deep copy costs 30x more


@dataclass
class SearchPage:
    query: str
    mode: str
    count: int  # all matches, not just this page
    hits: list[Hit]


def _whole_number(name: str, value, default: int) -> int:
    if value in (None, ""):
        return default
    text = str(value).strip()
    if not re.fullmatch(r"[+-]?[0-9]{1,9}", text):  # also refuses 1e400, 1.5 and 10**30
        raise SearchError("bad_paging", f"{name} must be a whole number, got {text[:20]!r}.")
    return int(text)


def validate(q: str | None, mode: str | None, limit, offset) -> tuple[str, str, int, int]:
    query = (q or "").strip()
    if not query:
        raise SearchError("empty_query", "Type something to search for (q is empty).")
    if len(query) > MAX_QUERY_LENGTH:
        raise SearchError("query_too_long",
                          f"The query is {len(query)} characters; the limit is {MAX_QUERY_LENGTH}.")
    if "\x00" in query:
        raise SearchError("bad_query", "q contains a NUL character.")
    mode = (mode or "auto").strip().lower()
    if mode not in MODES:
        raise SearchError("bad_mode", f"mode must be one of {', '.join(MODES)}.")
    limit = _whole_number("limit", limit, 20)
    offset = _whole_number("offset", offset, 0)
    if limit < 1 or offset < 0:
        raise SearchError("bad_paging", "limit must be at least 1 and offset at least 0.")
    if offset > MAX_OFFSET:
        raise SearchError("bad_paging", f"offset can be at most {MAX_OFFSET}; refine the query.")
    return query, mode, min(limit, MAX_LIMIT), offset


def search(q: str, mode: str = "auto", limit: int = 20, offset: int = 0) -> SearchPage:
    query, mode, limit, offset = validate(q, mode, limit, offset)
    if connection.vendor == "postgresql":
        hits, count = _postgres(query, mode, limit, offset)
    else:
        hits, count = _fallback(query, mode, limit, offset)
    return SearchPage(query, mode, count, hits)


def snippet_html(marked: str) -> str:
    """ts_headline output (or the fallback's) -> HTML: text escaped, markers become <mark>."""
    text = " / ".join(line.strip() for line in marked.splitlines() if line.strip())
    return (html.escape(text).replace(MARK_START, "<mark>").replace(MARK_STOP, "</mark>"))


# --- PostgreSQL ----------------------------------------------------------------------------
def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _vectors() -> tuple[str, str]:
    if search_infra.fts_layout() == "column":
        return "ts", "search_doc"
    return f"({search_infra.TITLE_ARTIST_TSV})", f"({search_infra.SEARCH_DOC_TSV})"


FOLDED_Q = f"lower({search_infra.FOLD_FUNCTION}(%(q)s))"  # folded once, at plan time
TSQUERY = f"websearch_to_tsquery('{search_infra.FOLD_CONFIG}', %(q)s)"


def _postgres_sql(mode: str) -> str:
    """One page of `mode`'s matches with the total count; lyric-only hits get a headline."""
    ts, doc = _vectors()
    fold_fn = search_infra.FOLD_FUNCTION
    title_similarity = f"similarity(title_folded, {FOLDED_Q})"
    artist_similarity = f"similarity(artist_folded, {FOLDED_Q})"
    similarity = f"greatest({title_similarity}, {artist_similarity})"
    like = f"lower({fold_fn}(%(like)s))"
    substring = f"(title_folded LIKE {like} OR artist_folded LIKE {like})"
    fuzzy = f"({FOLDED_Q} <%% {search_infra.NAME_FOLDED})"
    name_similarity = f"word_similarity({FOLDED_Q}, {search_infra.NAME_FOLDED})"
    fulltext = f"({ts} @@ {TSQUERY})"
    lyrics = f"({doc} @@ {TSQUERY})"
    rank = f"least(ts_rank({ts}, {TSQUERY}), 0.999)"
    lyrics_rank = f"least(ts_rank({doc}, {TSQUERY}), 0.999)"
    where, score, lyric_only_row = {
        "substring": (substring, similarity, "false"),
        "fuzzy": (fuzzy, name_similarity, "false"),
        "fulltext": (fulltext, rank, "false"),
        "lyrics": (lyrics, lyrics_rank, f"NOT {fulltext}"),
        "auto": (
            f"({substring} OR {fulltext} OR {lyrics})",
            f"""CASE
                 WHEN title_folded = {FOLDED_Q} THEN {TIER_EXACT} + {similarity} / 10
                 WHEN title_folded LIKE lower({fold_fn}(%(prefix)s)) THEN {TIER_PREFIX} + {similarity}
                 WHEN {fulltext} THEN {TIER_FULLTEXT} + {rank}
                 WHEN title_folded LIKE {like} THEN {TIER_SIMILAR} + least({title_similarity}, 0.999)
                 WHEN artist_folded LIKE {like} THEN {TIER_SIMILAR} + least({artist_similarity}, 0.999)
                 ELSE {TIER_LYRICS} + {lyrics_rank}
               END""",
            None,  # the tier says it
        ),
    }[mode]
    # Lyric-only hits of the page get a headline: `auto` knows them by their tier; the other
    # modes flag each row in the inner query, where the row's columns are at hand.
    inner_flag, lyric_only = "", f"score < {TIER_SIMILAR}"
    if lyric_only_row is not None:
        inner_flag, lyric_only = f", {lyric_only_row} AS lyric_only", "lyric_only"
    return f"""
        SELECT id, title, artist, key, page_count, image_etag, score, total,
               CASE WHEN {lyric_only} THEN (
                 SELECT ts_headline('{search_infra.FOLD_CONFIG}',
                                    translate(s.lyrics, E'\\x02\\x03', ''), {TSQUERY},
                                    %(headline)s)
                   FROM songs s WHERE s.id = page.id) END AS snippet
          FROM (SELECT id, title, artist, key, page_count, image_etag, {score} AS score,
                       count(*) OVER () AS total{inner_flag}
                  FROM songs
                 WHERE {where}
                 ORDER BY score DESC, title, id
                 LIMIT %(limit)s OFFSET %(offset)s) page
         ORDER BY score DESC, title, id"""


def _typo_sql() -> str:
    """Short queries that matched nothing: titles with a word within TYPO_MAX_EDITS edits,
    found through the trigram index (word similarity), fewest edits first, strictly limited.
    Word similarity only finds candidates: it is computed once per row, by the index recheck."""
    # the first TYPO_TITLE_WORDS words, without a set-returning function per candidate row
    edits = ", ".join(f"levenshtein_less_equal(split_part(title_folded, ' ', {n}), {FOLDED_Q}, "
                      f"{TYPO_MAX_EDITS + 1})" for n in range(1, TYPO_TITLE_WORDS + 1))
    return f"""
        SELECT id, title, artist, key, page_count, image_etag, score, count(*) OVER () AS total,
               NULL AS snippet
          FROM (SELECT c.*, round(0.999 / (1 + c.edits), 4) AS score
                  FROM (SELECT id, title, artist, key, page_count, image_etag, title_folded,
                               least({edits}) AS edits
                          FROM songs
                         WHERE {FOLDED_Q} <%% title_folded
                         LIMIT {TYPO_MAX_CANDIDATES}) c
                 WHERE c.edits <= {TYPO_MAX_EDITS}
                 ORDER BY score DESC, title, id
                 LIMIT {TYPO_MAX_RESULTS}) typo
         ORDER BY score DESC, title, id"""


def _run(sql: str, params: dict, word_similarity: float | None = None) -> tuple[list[Hit], int]:
    """`word_similarity`: the threshold of pg_trgm's `<%` for this query (fuzzy, typos)."""
    with connection.cursor() as cursor:
        if word_similarity is not None:
            cursor.execute("SELECT set_config('pg_trgm.word_similarity_threshold', %s, false)",
                           [str(word_similarity)])
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    hits = [Hit(*row[:6], score=round(float(row[6]), 4),
                snippet=snippet_html(row[8]) if row[8] else None) for row in rows]
    return hits, (rows[0][7] if rows else 0)


def _postgres(query: str, mode: str, limit: int, offset: int) -> tuple[list[Hit], int]:
    params = {"q": query, "like": f"%{escape_like(query)}%", "prefix": f"{escape_like(query)}%",
              "limit": limit, "offset": offset, "headline": HEADLINE_OPTIONS}
    threshold = settings.SEARCH_SIMILARITY_THRESHOLD if mode == "fuzzy" else None
    hits, count = _run(_postgres_sql(mode), params, threshold)
    if not hits and offset:  # a page past the end has no rows to carry the total
        count = _run(_postgres_sql(mode), dict(params, limit=1, offset=0), threshold)[1]
    if count == 0 and mode == "auto":  # nothing matched as typed: try it as a typo
        if len(query) >= AUTO_FUZZY_MIN_LENGTH:
            hits, count = _run(_postgres_sql("fuzzy"), params, settings.SEARCH_SIMILARITY_THRESHOLD)
        elif offset == 0 and len(query) >= TYPO_MIN_LENGTH:
            hits, count = _run(_typo_sql(), params, TYPO_WORD_SIMILARITY)
    return hits, count


# --- SQLite fallback -----------------------------------------------------------------------
_WORD = re.compile(r"\w+", re.UNICODE)


def _word_trigrams(word: str) -> list[str]:
    padded = f"  {word} "
    return [padded[i:i + 3] for i in range(len(padded) - 2)]


def trigrams(text: str) -> set[str]:
    """pg_trgm's trigrams: lower-cased words padded with two spaces in front, one behind."""
    return {gram for word in _WORD.findall(text.lower()) for gram in _word_trigrams(word)}


def similarity(a: str, b: str) -> float:
    ta, tb = trigrams(a), trigrams(b)
    if not ta or not tb:
        return 0.0
    return len(ta & tb) / len(ta | tb)


def word_similarity(query: str, text: str) -> float:
    """pg_trgm's word_similarity: the best trigram similarity of `query` with a stretch of
    `text`'s trigrams, in order ("grase" vs "amazing grace": the stretch "  g", " gr", "gra"
    shares 3 of the query's 6 trigrams and adds none, 0.5). Stretches start and end on a
    trigram the query has: any other only adds to the union."""
    grams = trigrams(query)
    sequence = [gram for word in _WORD.findall(text.lower()) for gram in _word_trigrams(word)]
    shared_at = [i for i, gram in enumerate(sequence) if gram in grams]
    best = 0.0
    for n, start in enumerate(shared_at):
        shared: set[str] = set()
        extra: set[str] = set()
        position = start
        for end in shared_at[n:]:
            for gram in sequence[position:end + 1]:
                (shared if gram in grams else extra).add(gram)
            position = end + 1
            best = max(best, len(shared) / (len(grams) + len(extra)))
    return best


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (what fuzzystrmatch's levenshtein computes)."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _folded(field: str):
    return Lower(Func(F(field), function=search_infra.FOLD_FUNCTION))


def _words_match(words: list[str], fields: tuple[str, ...]) -> Q:
    condition = Q()
    for word in words:
        any_field = Q()
        for field in fields:
            any_field |= Q(**{f"{field}_folded__contains": word})
        condition &= any_field
    return condition


def _marked_snippet(lyrics: str, words: list[str], size: int = 12) -> str | None:
    """The fallback's ts_headline: a window of `size` words around the first match."""
    tokens = list(_WORD.finditer(lyrics))
    hits = [i for i, m in enumerate(tokens) if fold(m.group()) in words]
    if not hits:
        return None
    first = max(0, min(hits[0] - 3, len(tokens) - size))
    window = tokens[first:first + size]
    out, cursor = [], window[0].start()
    for i, m in enumerate(window, start=first):
        out.append(lyrics[cursor:m.start()])
        out.append(f"{MARK_START}{m.group()}{MARK_STOP}" if i in hits else m.group())
        cursor = m.end()
    return "".join(out)


def _fallback(query: str, mode: str, limit: int, offset: int) -> tuple[list[Hit], int]:
    columns = ("id", "title", "artist", "key", "page_count", "image_etag")
    folded_query = fold(query)
    words = [fold(w) for w in _WORD.findall(query)] or [folded_query]
    threshold = settings.SEARCH_SIMILARITY_THRESHOLD
    songs = Song.objects.order_by().annotate(
        title_folded=_folded("title"), artist_folded=_folded("artist"),
        lyrics_folded=_folded("lyrics"))
    found: dict[int, tuple] = {}
    lyric_only: set[int] = set()

    def consider(row, score):
        if row[0] not in found or found[row[0]][1] < score:
            found[row[0]] = (row, score)

    def take(queryset, tier, scorer):
        for row in queryset.values_list(*columns):
            consider(row, tier + min(scorer(row), 0.999))

    def sim(row):
        return max(similarity(fold(row[1]), folded_query), similarity(fold(row[2]), folded_query))

    def fuzzy(base):
        for row in songs.values_list(*columns)[:SQLITE_FUZZY_LIMIT]:
            score = word_similarity(folded_query, f"{fold(row[1])} {fold(row[2])}")
            if score >= threshold:
                consider(row, base + min(score, 0.999))

    title_match = Q(title_folded__contains=folded_query) | Q(artist_folded__contains=folded_query)
    if mode in ("substring", "auto"):
        take(songs.filter(title_match), TIER_SIMILAR if mode == "auto" else 0, sim)
    if mode == "fuzzy":
        fuzzy(0)
    if mode in ("fulltext", "auto"):
        take(songs.filter(_words_match(words, ("title", "artist"))),
             TIER_FULLTEXT if mode == "auto" else 0, lambda row: 0.1)
    if mode in ("lyrics", "auto"):
        lyric_rows = songs.filter(_words_match(words, ("title", "artist", "lyrics")))
        take(lyric_rows, TIER_LYRICS if mode == "auto" else 0, lambda row: 0.05)
        by_words = set(songs.filter(_words_match(words, ("title", "artist")))
                       .values_list("id", flat=True))
        lyric_only = set(lyric_rows.values_list("id", flat=True)) - by_words
        if mode == "auto":
            lyric_only -= set(songs.filter(title_match).values_list("id", flat=True))
    if mode == "auto":
        for song_id, (row, score) in list(found.items()):
            title = fold(row[1])
            if title == folded_query:
                found[song_id] = (row, TIER_EXACT + sim(row) / 10)
            elif title.startswith(folded_query):
                found[song_id] = (row, TIER_PREFIX + sim(row))
        if not found and len(query) >= AUTO_FUZZY_MIN_LENGTH:
            fuzzy(0)
        elif not found and offset == 0 and len(query) >= TYPO_MIN_LENGTH:
            return _fallback_typos(songs, columns, folded_query)
    ranked = sorted(found.values(), key=lambda item: (-item[1], item[0][1], item[0][0]))
    page = ranked[offset:offset + limit]
    lyrics = dict(Song.objects.filter(id__in=[row[0] for row, _ in page if row[0] in lyric_only])
                  .values_list("id", "lyrics"))
    hits = []
    for row, score in page:
        marked = _marked_snippet(lyrics[row[0]], words) if row[0] in lyrics else None
        hits.append(Hit(*row, score=round(score, 4),
                        snippet=snippet_html(marked) if marked else None))
    return hits, len(ranked)


def _fallback_typos(songs, columns, folded_query) -> tuple[list[Hit], int]:
    scored = []
    for row in songs.values_list(*columns)[:SQLITE_FUZZY_LIMIT]:
        title = fold(row[1])
        if word_similarity(folded_query, title) < TYPO_WORD_SIMILARITY:
            continue
        edits = min((edit_distance(w, folded_query) for w in title.split(" ")[:TYPO_TITLE_WORDS]),
                    default=99)
        if edits <= TYPO_MAX_EDITS:
            scored.append((row, round(0.999 / (1 + edits), 4)))
    scored.sort(key=lambda item: (-item[1], item[0][1], item[0][0]))
    page = scored[:TYPO_MAX_RESULTS]
    return [Hit(*row, score=score) for row, score in page], len(page)
