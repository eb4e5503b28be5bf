"""PostgreSQL search infrastructure for the `songs` table, created idempotently.

- extensions pg_trgm, unaccent and fuzzystrmatch;
- accent folding: `songhub_unaccent(text)`, an IMMUTABLE wrapper around `unaccent` (which is
  only STABLE, so it cannot appear in generated columns or indexes), and the text search
  configuration `songhub_fold` (`simple` with the `unaccent` dictionary in front);
- generated stored columns `title_folded`, `artist_folded` (lower-cased, accents removed) with
  GIN trigram indexes (substring search, short typos); a GIN trigram index on both together,
  `NAME_FOLDED` (fuzzy search: one index scan instead of two); a B-tree on title;
- title/artist full-text: `fts_mode="column"` adds a generated stored tsvector `ts` with a GIN
  index, `"expression"` a GIN expression index on the same expression, `"off"` nothing;
- lyrics full-text: a weighted document (title A, artist B, lyrics C), as a generated column
  `search_doc` or an expression index, following the same mode.

Full-text uses the `songhub_fold` configuration rather than the wrapper so that `ts_headline`
over the original (accented) lyrics highlights "Café" for the query "cafe". A database made
before accent folding is upgraded in place: a generated column or index whose definition lacks
the folding is dropped and rebuilt (one table rewrite for the columns).

Concurrent mode (`CREATE INDEX CONCURRENTLY`, outside any transaction) keeps `songs` writable
while indexes build; an invalid index left by a failed concurrent build is dropped and rebuilt.
The same statements ship for operators as `ingestion/sql/enable_pg_trgm.sql`.
"""

from __future__ import annotations

import functools
import logging
import os
from dataclasses import dataclass

from django.db import connection

logger = logging.getLogger(__name__)

FOLD_FUNCTION = "songhub_unaccent"
FOLD_CONFIG = "songhub_fold"
TITLE_ARTIST_TSV = (f"to_tsvector('{FOLD_CONFIG}', coalesce(title, '') || ' ' || "
                    "coalesce(artist, ''))")
SEARCH_DOC_TSV = (
    f"setweight(to_tsvector('{FOLD_CONFIG}', coalesce(title, '')), 'A') || "
    f"setweight(to_tsvector('{FOLD_CONFIG}', coalesce(artist, '')), 'B') || "
    f"setweight(to_tsvector('{FOLD_CONFIG}', coalesce(lyrics, '')), 'C')"
)
# "title artist": fuzzy search compares the query with the best-matching stretch of it
NAME_FOLDED = "(title_folded || ' ' || artist_folded)"
FTS_MODES = ("column", "expression", "off")
EXTENSIONS = ("pg_trgm", "unaccent", "fuzzystrmatch")


@dataclass(frozen=True)
class IndexSpec:
    name: str
    definition: str  # what follows `ON songs`
    marker: str = ""  # must appear in pg_get_indexdef, else the index predates accent folding


BASE_INDEXES = [
    IndexSpec("songs_title_trgm", "USING gin (title_folded gin_trgm_ops)", "title_folded"),
    IndexSpec("songs_artist_trgm", "USING gin (artist_folded gin_trgm_ops)", "artist_folded"),
    IndexSpec("songs_name_trgm", f"USING gin ({NAME_FOLDED} gin_trgm_ops)", "artist_folded"),
    IndexSpec("songs_title_btree", "USING btree (title)"),
]
FTS_INDEXES = {
    "column": [IndexSpec("songs_ts_gin", "USING gin (ts)"),
               IndexSpec("songs_search_doc_gin", "USING gin (search_doc)")],
    "expression": [IndexSpec("songs_ts_expr_gin", f"USING gin (({TITLE_ARTIST_TSV}))", FOLD_CONFIG),
                   IndexSpec("songs_search_doc_expr_gin", f"USING gin (({SEARCH_DOC_TSV}))",
                             FOLD_CONFIG)],
    "off": [],
}
# column -> (type, expression, what its stored expression must mention)
FOLDED_COLUMNS = {
    "title_folded": ("text", f"lower({FOLD_FUNCTION}(coalesce(title, '')))", FOLD_FUNCTION),
    "artist_folded": ("text", f"lower({FOLD_FUNCTION}(coalesce(artist, '')))", FOLD_FUNCTION),
}
GENERATED_COLUMNS = {"ts": ("tsvector", TITLE_ARTIST_TSV, FOLD_CONFIG),
                     "search_doc": ("tsvector", SEARCH_DOC_TSV, FOLD_CONFIG)}


def _env_flag(name: str) -> bool | None:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return None
    return raw in ("1", "true", "yes", "on")


def concurrent_by_default(allow_blocking: bool) -> bool:
    """CONCURRENT_RUN (default: ENVPROD) or the absence of --allow-blocking means concurrent."""
    concurrent_run = _env_flag("CONCURRENT_RUN")
    if concurrent_run is None:
        concurrent_run = bool(_env_flag("ENVPROD"))
    return concurrent_run or not allow_blocking


def ensure(fts_mode: str = "column", allow_blocking: bool = False,
           concurrent: bool | None = None) -> list[str]:
    """Create whatever is missing; returns one line per action (empty when all was there)."""
    if fts_mode not in FTS_MODES:
        raise ValueError(f"fts_mode must be one of {FTS_MODES}, got {fts_mode!r}")
    if connection.vendor != "postgresql":
        return ["skipped: search indexes need PostgreSQL (SQLite uses the built-in fallback)"]
    if concurrent is None:
        concurrent = concurrent_by_default(allow_blocking)
    if concurrent and connection.in_atomic_block:
        raise RuntimeError("concurrent index builds cannot run inside a transaction")
    actions: list[str] = []
    with connection.cursor() as cursor:
        for extension in EXTENSIONS:
            cursor.execute("SELECT 1 FROM pg_extension WHERE extname = %s", [extension])
            if cursor.fetchone() is None:
                cursor.execute(f"CREATE EXTENSION IF NOT EXISTS {extension}")
                actions.append(f"created extension {extension}")
        actions += _ensure_folding(cursor)
        columns = dict(FOLDED_COLUMNS, **(GENERATED_COLUMNS if fts_mode == "column" else {}))
        changes = []
        for column, (kind, expression, marker) in columns.items():
            stored = _column_expression(cursor, column)
            if stored is not None and marker in stored:
                continue
            if stored is not None:
                changes.append(f"DROP COLUMN {column}")
                actions.append(f"dropped generated column {column} (no accent folding)")
            changes.append(f"ADD COLUMN {column} {kind} GENERATED ALWAYS AS ({expression}) STORED")
            actions.append(f"added generated column {column}")
        if changes:  # one table rewrite under lock; concurrent mode cannot avoid it
            cursor.execute(f"ALTER TABLE songs {', '.join(changes)}")
        for index in BASE_INDEXES + FTS_INDEXES[fts_mode]:
            state = _index_state(cursor, index)
            if state == "valid":
                continue
            keyword = "CONCURRENTLY " if concurrent else ""
            if state in ("invalid", "stale"):
                cursor.execute(f"DROP INDEX {keyword}IF EXISTS {index.name}")
                actions.append(f"dropped {state} index {index.name}")
            cursor.execute(f"CREATE INDEX {keyword}IF NOT EXISTS {index.name} "
                           f"ON songs {index.definition}")
            actions.append(f"created index {index.name}" + (" concurrently" if concurrent else ""))
    fts_layout.cache_clear()
    for line in actions:
        logger.info("search infra: %s", line)
    return actions


def _ensure_folding(cursor) -> list[str]:
    """The IMMUTABLE unaccent wrapper and the `songhub_fold` text search configuration.

    Both name the unaccent extension's schema explicitly, so they fold the same way whatever
    the caller's search_path (pg_dump restores and autovacuum run with an empty one)."""
    actions = []
    cursor.execute("SELECT quote_ident(n.nspname) FROM pg_extension e "
                   "JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'unaccent'")
    schema = cursor.fetchone()[0]
    cursor.execute("SELECT 1 FROM pg_proc WHERE proname = %s "
                   "AND pronamespace = current_schema()::regnamespace", [FOLD_FUNCTION])
    if cursor.fetchone() is None:
        cursor.execute(
            f"CREATE FUNCTION {FOLD_FUNCTION}(text) RETURNS text "
            f"LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT "
            f"AS $$ SELECT {schema}.unaccent('{schema}.unaccent'::regdictionary, $1) $$")
        actions.append(f"created function {FOLD_FUNCTION}")
    cursor.execute("SELECT 1 FROM pg_ts_config WHERE cfgname = %s "
                   "AND cfgnamespace = current_schema()::regnamespace", [FOLD_CONFIG])
    if cursor.fetchone() is None:
        cursor.execute(f"CREATE TEXT SEARCH CONFIGURATION {FOLD_CONFIG} (COPY = pg_catalog.simple)")
        cursor.execute(f"ALTER TEXT SEARCH CONFIGURATION {FOLD_CONFIG} ALTER MAPPING FOR "
                       f"word, hword, hword_part, numword, numhword, hword_numpart "
                       f"WITH {schema}.unaccent, pg_catalog.simple")
        actions.append(f"created text search configuration {FOLD_CONFIG}")
    return actions


def _column_expression(cursor, column: str) -> str | None:
    """A generated column's stored expression, '' for a plain column, None when missing."""
    cursor.execute(
        "SELECT coalesce(pg_get_expr(d.adbin, d.adrelid), '') FROM pg_attribute a "
        "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
        "WHERE a.attrelid = 'songs'::regclass AND a.attname = %s AND NOT a.attisdropped",
        [column])
    row = cursor.fetchone()
    return None if row is None else row[0]


def _has_column(cursor, column: str) -> bool:
    return _column_expression(cursor, column) is not None


def _index_state(cursor, index: IndexSpec) -> str:
    """'missing', 'valid', 'invalid' (left behind by a failed CREATE INDEX CONCURRENTLY) or
    'stale' (built before accent folding)."""
    cursor.execute(
        "SELECT i.indisvalid, pg_get_indexdef(c.oid) FROM pg_class c "
        "JOIN pg_index i ON i.indexrelid = c.oid "
        "WHERE c.relname = %s AND c.relnamespace = current_schema()::regnamespace", [index.name])
    row = cursor.fetchone()
    if row is None:
        return "missing"
    if not row[0]:
        return "invalid"
    return "valid" if index.marker in row[1] else "stale"


@functools.lru_cache(maxsize=1)
def fts_layout() -> str:
    """How full-text search is laid out in this database: 'column' when the generated
    columns exist, else 'expression' (queries then use the indexed expressions)."""
    if connection.vendor != "postgresql":
        return "off"
    with connection.cursor() as cursor:
        return "column" if _has_column(cursor, "ts") and _has_column(cursor, "search_doc") \
            else "expression"


def refresh_after_bulk_change() -> None:
    """After a large upsert: merge GIN pending lists and refresh statistics, so the planner
    sees cheap index scans right away instead of after the next autovacuum."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT gin_clean_pending_list(i.indexrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam "
            "WHERE i.indrelid = 'songs'::regclass AND am.amname = 'gin' AND i.indisvalid")
        cursor.execute("ANALYZE songs")
