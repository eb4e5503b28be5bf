-- Songhub search infrastructure for operators (the same as migration ingestion.0002 and
-- `manage.py retrieve_songs --ensure-search-infra --fts-mode column`).
--
--   psql "$DATABASE_URL" -v ENVPROD=true  -f ingestion/sql/enable_pg_trgm.sql   # production
--   psql "$DATABASE_URL" -v ENVPROD=false -f ingestion/sql/enable_pg_trgm.sql   # dev / setup
--
-- ENVPROD=true builds every index CONCURRENTLY, outside a transaction, so `songs` stays
-- writable; otherwise everything runs in one transaction. Safe to run again: every statement
-- is IF NOT EXISTS. An index left INVALID by a failed concurrent build is dropped first.
\set ON_ERROR_STOP on
\if :{?ENVPROD}
\else
  \set ENVPROD false
\endif

CREATE EXTENSION IF NOT EXISTS pg_trgm;

ALTER TABLE songs ADD COLUMN IF NOT EXISTS ts tsvector GENERATED ALWAYS AS
  (to_tsvector('simple', coalesce(title, '') || ' ' || coalesce(artist, ''))) STORED;
ALTER TABLE songs ADD COLUMN IF NOT EXISTS search_doc tsvector GENERATED ALWAYS AS
  (setweight(to_tsvector('simple', coalesce(title, '')), 'A') ||
   setweight(to_tsvector('simple', coalesce(artist, '')), 'B') ||
   setweight(to_tsvector('simple', coalesce(lyrics, '')), 'C')) STORED;

-- Drop indexes a failed concurrent build left invalid, so they are built again below.
SELECT format('DROP INDEX %s %I', CASE WHEN :'ENVPROD'::boolean THEN 'CONCURRENTLY' ELSE '' END,
              c.relname)
  FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid
 WHERE NOT i.indisvalid
   AND c.relname IN ('songs_title_trgm', 'songs_artist_trgm', 'songs_title_btree',
                     'songs_ts_gin', 'songs_search_doc_gin') \gexec

\if :ENVPROD
CREATE INDEX CONCURRENTLY IF NOT EXISTS songs_title_trgm ON songs USING gin (title gin_trgm_ops);
CREATE INDEX CONCURRENTLY IF NOT EXISTS songs_artist_trgm ON songs USING gin (artist gin_trgm_ops);
CREATE INDEX CONCURRENTLY IF NOT EXISTS songs_title_btree ON songs USING btree (title);
CREATE INDEX CONCURRENTLY IF NOT EXISTS songs_ts_gin ON songs USING gin (ts);
CREATE INDEX CONCURRENTLY IF NOT EXISTS songs_search_doc_gin ON songs USING gin (search_doc);
\else
BEGIN;
CREATE INDEX IF NOT EXISTS songs_title_trgm ON songs USING gin (title gin_trgm_ops);
CREATE INDEX IF NOT EXISTS songs_artist_trgm ON songs USING gin (artist gin_trgm_ops);
CREATE INDEX IF NOT EXISTS songs_title_btree ON songs USING btree (title);
CREATE INDEX IF NOT EXISTS songs_ts_gin ON songs USING gin (ts);
CREATE INDEX IF NOT EXISTS songs_search_doc_gin ON songs USING gin (search_doc);
COMMIT;
\endif
