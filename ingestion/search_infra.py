"""PostgreSQL search infrastructure for the `songs` table, created idempotently.

- extension pg_trgm; GIN trigram indexes on title and artist; a B-tree on title;
- title/artist full-text: `fts_mode="column"` adds a generated stored tsvector `ts` with a GIN
  index, `"expression"` a GIN expression index on the same expression, `"off"` nothing;
- lyrics full-text: a weighted document (title A, artist B, lyrics C), as a generated column
  `search_doc` or an expression index, following the same mode.

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

TITLE_ARTIST_TSV = "to_tsvector('simple', coalesce(title, '') || ' ' || coalesce(artist, ''))"
SEARCH_DOC_TSV = (
    "setweight(to_tsvector('simple', coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('simple', coalesce(artist, '')), 'B') || "
    "setweight(to_tsvector('simple', coalesce(lyrics, '')), 'C')"
)
FTS_MODES = ("column", "expression", "off")


@dataclass(frozen=True)
class IndexSpec:
    name: str
    definition: str  # what follows `ON songs`


BASE_INDEXES = [
    IndexSpec("songs_title_trgm", "USING gin (title gin_trgm_ops)"),
    IndexSpec("songs_artist_trgm", "USING gin (artist gin_trgm_ops)"),
    IndexSpec("songs_title_btree", "USING btree (title)"),
]
FTS_INDEXES = {
    "column": [IndexSpec("songs_ts_gin", "USING gin (ts)"),
               IndexSpec("songs_search_doc_gin", "USING gin (search_doc)")],
    "expression": [IndexSpec("songs_ts_expr_gin", f"USING gin (({TITLE_ARTIST_TSV}))"),
                   IndexSpec("songs_search_doc_expr_gin", f"USING gin (({SEARCH_DOC_TSV}))")],
    "off": [],
}
GENERATED_COLUMNS = {"ts": TITLE_ARTIST_TSV, "search_doc": SEARCH_DOC_TSV}


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
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        if cursor.fetchone() is None:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            actions.append("created extension pg_trgm")
        if fts_mode == "column":
            for column, expression in GENERATED_COLUMNS.items():
                if not _has_column(cursor, column):
                    # a table rewrite under lock, once; concurrent mode cannot avoid it
                    cursor.execute(f"ALTER TABLE songs ADD COLUMN IF NOT EXISTS {column} tsvector "
                                   f"GENERATED ALWAYS AS ({expression}) STORED")
                    actions.append(f"added generated column {column}")
        for index in BASE_INDEXES + FTS_INDEXES[fts_mode]:
            state = _index_state(cursor, index.name)
            if state == "valid":
                continue
            keyword = "CONCURRENTLY " if concurrent else ""
            if state == "invalid":
                cursor.execute(f"DROP INDEX {keyword}IF EXISTS {index.name}")
                actions.append(f"dropped invalid index {index.name}")
            cursor.execute(f"CREATE INDEX {keyword}IF NOT EXISTS {index.name} "
                           f"ON songs {index.definition}")
            actions.append(f"created index {index.name}" + (" concurrently" if concurrent else ""))
    fts_layout.cache_clear()
    for line in actions:
        logger.info("search infra: %s", line)
    return actions


def _has_column(cursor, column: str) -> bool:
    cursor.execute(
        "SELECT 1 FROM information_schema.columns WHERE table_name = 'songs' "
        "AND column_name = %s AND table_schema = current_schema()", [column])
    return cursor.fetchone() is not None


def _index_state(cursor, name: str) -> str:
    """'missing', 'valid' or 'invalid' (left behind by a failed CREATE INDEX CONCURRENTLY)."""
    cursor.execute(
        "SELECT i.indisvalid FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid "
        "WHERE c.relname = %s AND c.relnamespace = current_schema()::regnamespace", [name])
    row = cursor.fetchone()
    if row is None:
        return "missing"
    return "valid" if row[0] else "invalid"


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
