"""Search infrastructure on PostgreSQL: idempotent creation, invalid-index repair, concurrent
builds that never block writers, the operators' SQL file, and EXPLAIN proof of index use."""

import subprocess
import threading
import time

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection

from ingestion import search, search_infra
from ingestion.models import Song

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
ALL_INDEXES = [s.name for s in search_infra.BASE_INDEXES + search_infra.FTS_INDEXES["column"]]


def raw_connection():
    """An independent session on the test database (another client, as in production)."""
    params = connection.get_connection_params()
    for key in ("cursor_factory", "context", "prepare_threshold", "server_side_binding"):
        params.pop(key, None)
    return psycopg.connect(**params, autocommit=True)


def index_states():
    with connection.cursor() as cursor:
        cursor.execute("SELECT c.relname, i.indisvalid, i.indisunique FROM pg_class c "
                       "JOIN pg_index i ON i.indexrelid = c.oid WHERE c.relname LIKE 'songs_%%'")
        return {name: (valid, unique) for name, valid, unique in cursor.fetchall()}


@pytest.fixture
def restore_infra():
    """DDL is not rolled back between tests: put the migration's layout back afterwards."""
    yield
    with connection.cursor() as cursor:
        for spec in search_infra.FTS_INDEXES["expression"]:
            cursor.execute(f"DROP INDEX IF EXISTS {spec.name}")
    search_infra.ensure(fts_mode="column", concurrent=False)


def test_the_migration_created_everything_and_ensure_is_a_no_op():
    states = index_states()
    for name in ALL_INDEXES:
        assert states[name][0], f"{name} missing or invalid"
    assert search_infra.ensure(fts_mode="column", allow_blocking=True) == []
    assert search_infra.ensure(fts_mode="column") == []


def test_ensure_recreates_missing_indexes_concurrently(restore_infra):
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX songs_title_trgm")
    actions = search_infra.ensure(fts_mode="column")
    assert actions == ["created index songs_title_trgm concurrently"]


def test_expression_mode_builds_expression_indexes(restore_infra):
    actions = search_infra.ensure(fts_mode="expression", allow_blocking=True, concurrent=False)
    assert actions == ["created index songs_ts_expr_gin", "created index songs_search_doc_expr_gin"]
    assert search_infra.ensure(fts_mode="expression", concurrent=False) == []


def test_an_invalid_index_from_a_failed_concurrent_build_is_rebuilt(restore_infra):
    Song.objects.bulk_create([Song(id=i, title="Same", filename=f"{i}.cho", source_sha="x")
                              for i in (1, 2)])
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX songs_title_btree")
    with raw_connection() as other, pytest.raises(psycopg.errors.UniqueViolation):
        other.execute("CREATE UNIQUE INDEX CONCURRENTLY songs_title_btree ON songs (title)")
    assert index_states()["songs_title_btree"] == (False, True)  # left behind invalid
    actions = search_infra.ensure(fts_mode="column")
    assert actions == ["dropped invalid index songs_title_btree",
                       "created index songs_title_btree concurrently"]
    assert index_states()["songs_title_btree"] == (True, False)


def _insert_from_another_session(song_id: int, lock_timeout_ms: int) -> float:
    started = time.monotonic()
    with raw_connection() as writer:
        writer.execute(f"SET lock_timeout = {lock_timeout_ms}")
        writer.execute("INSERT INTO songs (id, title, title_from_filename, subtitle, artist, key, "
                       "tempo, time_signature, genre, language, filename, source_sha, page_count, "
                       "pdf_etag, image_etag, lyrics, metadata, warnings, warning_count, "
                       "created_at, updated_at) VALUES (%s, 'New', false, '', '', '', '', '', '', "
                       "'', %s, 'x', 0, '', '', '', '{}', '[]', 0, now(), now())",
                       [song_id, f"new-{song_id}.cho"])
    return time.monotonic() - started


def _wait_for_index_build(timeout=10.0):
    deadline = time.monotonic() + timeout
    with raw_connection() as watcher:
        while time.monotonic() < deadline:
            row = watcher.execute("SELECT phase FROM pg_stat_progress_create_index").fetchone()
            if row:
                return row[0]
            time.sleep(0.02)
    raise AssertionError("the index build never started")


def test_a_concurrent_build_does_not_block_inserts(restore_infra):
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX songs_artist_trgm")
    # An open transaction holding a snapshot keeps CREATE INDEX CONCURRENTLY in its waiting
    # phase, so the build is provably still running while we insert.
    holder = raw_connection()
    holder.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ  # keeps its snapshot
    holder.autocommit = False
    holder.execute("SELECT count(*) FROM songs")
    errors = []

    def build():
        try:
            search_infra.ensure(fts_mode="column")
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    builder = threading.Thread(target=build)
    builder.start()
    try:
        phase = _wait_for_index_build()
        took = _insert_from_another_session(1001, lock_timeout_ms=2000)
        assert took < 1.0, f"insert waited {took:.2f}s during phase {phase!r}"
        assert builder.is_alive(), "the build finished before the insert: nothing was shown"
    finally:
        holder.rollback()
        holder.close()
        builder.join(timeout=30)
    assert not errors
    assert index_states()["songs_artist_trgm"] == (True, False)


def test_control_a_blocking_build_does_block_inserts(restore_infra):
    """Without CONCURRENTLY the same insert waits for the build's lock and times out."""
    with raw_connection() as builder:
        builder.autocommit = False
        builder.execute("DROP INDEX songs_artist_trgm")
        builder.execute("CREATE INDEX songs_artist_trgm ON songs USING gin (artist gin_trgm_ops)")
        with pytest.raises(psycopg.errors.LockNotAvailable):
            _insert_from_another_session(1002, lock_timeout_ms=300)
        builder.rollback()


def test_the_operators_sql_file_runs_twice_in_both_modes():
    params = connection.get_connection_params()
    dsn = f"host={params.get('host') or '127.0.0.1'} port={params.get('port') or 5432} " \
          f"user={params.get('user')} dbname={params['dbname']}"
    for envprod in ("true", "false", "true"):
        result = subprocess.run(["psql", dsn, "-v", f"ENVPROD={envprod}", "-f",
                                 "ingestion/sql/enable_pg_trgm.sql"],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
    without = subprocess.run(["psql", dsn, "-f", "ingestion/sql/enable_pg_trgm.sql"],
                             capture_output=True, text=True, timeout=60)
    assert without.returncode == 0, without.stderr  # ENVPROD defaults to false
    assert all(valid for valid, _ in index_states().values())


def test_retrieve_songs_ensure_search_infra_reports_and_is_idempotent(capsys, restore_infra,
                                                                     tmp_path):
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX songs_title_btree")
    folder = tmp_path / "one_song"  # an empty source is an error since #12.2
    folder.mkdir()
    (folder / "one.cho").write_text("{title: One}\n")
    call_command("retrieve_songs", "--ensure-search-infra", "--source-dir", str(folder),
                 "--concurrency=1")
    assert "search: created index songs_title_btree concurrently" in capsys.readouterr().out
    call_command("retrieve_songs", "--ensure-search-infra", "--allow-blocking",
                 "--source-dir", str(folder), "--concurrency=1")
    assert "search:" not in capsys.readouterr().out


def test_concurrent_run_and_envprod_select_concurrent_builds(monkeypatch):
    monkeypatch.delenv("CONCURRENT_RUN", raising=False)
    monkeypatch.delenv("ENVPROD", raising=False)
    assert search_infra.concurrent_by_default(allow_blocking=False) is True
    assert search_infra.concurrent_by_default(allow_blocking=True) is False
    monkeypatch.setenv("ENVPROD", "true")
    assert search_infra.concurrent_by_default(allow_blocking=True) is True
    monkeypatch.setenv("CONCURRENT_RUN", "false")
    assert search_infra.concurrent_by_default(allow_blocking=True) is False


def pseudo_word(n: int) -> str:
    """A pronounceable, mostly unique word per number (a realistic, selective vocabulary)."""
    import hashlib

    digest = hashlib.md5(str(n).encode()).digest()
    consonants, vowels = "bcdfghjklmnprstvwz", "aeiou"
    return "".join(consonants[b % 18] + vowels[b % 5] for b in digest[:3 + n % 2])


@pytest.fixture
def ten_thousand_songs():
    songs = [Song(id=i, title=f"{pseudo_word(i).title()} {pseudo_word(i * 7)}",
                  artist=f"{pseudo_word(i * 3).title()} {pseudo_word(i % 500)}",
                  filename=f"{i}.cho", source_sha="x",
                  lyrics=f"{pseudo_word(i * 11)} {pseudo_word(i * 13)} {pseudo_word(i * 17)}")
             for i in range(1, 12001)]
    Song.objects.bulk_create(songs, batch_size=2000)
    search_infra.refresh_after_bulk_change()  # what the pipeline does after a big upsert
    target = songs[4241]
    title_word = target.title.split()[0].lower()
    return {
        "substring": title_word[1:6],
        "fuzzy": title_word[:-1] + "x " + target.title.split()[1],
        "fulltext": target.title.split()[1] + " " + title_word,
        "lyrics": target.lyrics.split()[1],
        "auto": target.title.split()[1],
    }


def explain(sql, params):
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('pg_trgm.word_similarity_threshold', '0.6', false)")
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.parametrize("mode, expected", [
    ("substring", ["songs_title_trgm", "songs_artist_trgm"]),
    ("fuzzy", ["songs_name_trgm"]),
    ("fulltext", ["songs_ts_gin"]),
    ("lyrics", ["songs_search_doc_gin"]),
    ("auto", ["songs_title_trgm", "songs_artist_trgm", "songs_ts_gin", "songs_search_doc_gin"]),
])
def test_explain_shows_the_indexes_are_used(ten_thousand_songs, mode, expected):
    q = ten_thousand_songs[mode]
    params = {"q": q, "like": f"%{q}%", "prefix": f"{q}%", "limit": 20, "offset": 0,
              "headline": search.HEADLINE_OPTIONS}
    plan = explain(search._postgres_sql(mode), params)
    for index in expected:
        assert index in plan, plan
    assert "Seq Scan" not in plan, plan
    assert 4242 in [hit.id for hit in search.search(q, mode, limit=100).hits], (mode, q)


def test_ensure_upgrades_a_database_from_before_accent_folding(restore_infra):
    """What migration 0003 does to a live database: old columns and indexes are rebuilt."""
    Song.objects.create(id=1, title="Café Niño", filename="1.cho", source_sha="x")
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX songs_title_trgm")
        cursor.execute("CREATE INDEX songs_title_trgm ON songs USING gin (title gin_trgm_ops)")
        cursor.execute("ALTER TABLE songs DROP COLUMN ts, ADD COLUMN ts tsvector GENERATED ALWAYS "
                       "AS (to_tsvector('simple', coalesce(title, ''))) STORED")
    actions = search_infra.ensure(fts_mode="column")
    assert actions == ["dropped generated column ts (no accent folding)",
                       "added generated column ts",
                       "dropped stale index songs_title_trgm",
                       "created index songs_title_trgm concurrently",
                       "created index songs_ts_gin concurrently"]
    assert search_infra.ensure(fts_mode="column") == []
    assert [h.id for h in search.search("nino cafe", "fulltext").hits] == [1]
