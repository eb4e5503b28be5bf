-- Songhub search infrastructure for operators (the same as migrations ingestion.0002/0003 and
-- `manage.py retrieve_songs --ensure-search-infra --fts-mode column`). It creates what is
-- missing; upgrading a database made before accent folding (0003) is done by `migrate` or
-- `--ensure-search-infra`, which also rebuild the old generated columns and indexes.
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
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE EXTENSION IF NOT EXISTS fuzzystrmatch;

-- unaccent() is only STABLE; generated columns and indexes need an IMMUTABLE wrapper. The
-- extension's schema is named explicitly so the result never depends on search_path.
SELECT format('CREATE FUNCTION songhub_unaccent(text) RETURNS text LANGUAGE sql IMMUTABLE '
              'PARALLEL SAFE STRICT AS $f$ SELECT %1$s.unaccent(%2$L::regdictionary, $1) $f$',
              quote_ident(n.nspname), quote_ident(n.nspname) || '.unaccent')
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
 WHERE e.extname = 'unaccent'
   AND NOT EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'songhub_unaccent'
                      AND pronamespace = current_schema()::regnamespace) \gexec
SELECT 'CREATE TEXT SEARCH CONFIGURATION songhub_fold (COPY = pg_catalog.simple)'
 WHERE NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = 'songhub_fold'
                      AND cfgnamespace = current_schema()::regnamespace) \gexec
SELECT format('ALTER TEXT SEARCH CONFIGURATION songhub_fold ALTER MAPPING FOR word, hword, '
              'hword_part, numword, numhword, hword_numpart WITH %s.unaccent, pg_catalog.simple',
              quote_ident(n.nspname))
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
 WHERE e.extname = 'unaccent' \gexec

ALTER TABLE songs ADD COLUMN IF NOT EXISTS title_folded text GENERATED ALWAYS AS
  (lower(songhub_unaccent(coalesce(title, '')))) STORED;
ALTER TABLE songs ADD COLUMN IF NOT EXISTS artist_folded text GENERATED ALWAYS AS
  (lower(songhub_unaccent(coalesce(artist, '')))) STORED;
ALTER TABLE songs ADD COLUMN IF NOT EXISTS ts tsvector GENERATED ALWAYS AS
  (to_tsvector('songhub_fold', coalesce(title, '') || ' ' || coalesce(artist, ''))) STORED;
ALTER TABLE songs ADD COLUMN IF NOT EXISTS search_doc tsvector GENERATED ALWAYS AS
  (setweight(to_tsvector('songhub_fold', coalesce(title, '')), 'A') ||
   setweight(to_tsvector('songhub_fold', coalesce(artist, '')), 'B') ||
   setweight(to_tsvector('songhub_fold', coalesce(lyrics, '')), 'C')) STORED;

-- Drop indexes a failed concurrent build left invalid, so they are built again below.
SELECT format('DROP INDEX %s %I', CASE WHEN :'ENVPROD'::boolean THEN 'CONCURRENTLY' ELSE '' END,
              c.relname)
  FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid
 WHERE NOT i.indisvalid
   AND c.relname IN ('songs_title_trgm', 'songs_artist_trgm', 'songs_name_trgm', 'songs_title_btree',
                     'songs_ts_gin', 'songs_search_doc_gin') \gexec

\if :ENVPROD
CREATE INDEX CONCURRENTLY IF NOT EXISTS songs_title_trgm ON songs USING gin (title_folded gin_trgm_ops);
CREATE INDEX CONCURRENTLY IF NOT EXISTS songs_artist_trgm ON songs USING gin (artist_folded gin_trgm_ops);
CREATE INDEX CONCURRENTLY IF NOT EXISTS songs_name_trgm ON songs USING gin ((title_folded || ' ' || artist_folded) gin_trgm_ops);
CREATE INDEX CONCURRENTLY IF NOT EXISTS songs_title_btree ON songs USING btree (title);
CREATE INDEX CONCURRENTLY IF NOT EXISTS songs_ts_gin ON songs USING gin (ts);
CREATE INDEX CONCURRENTLY IF NOT EXISTS songs_search_doc_gin ON songs USING gin (search_doc);
\else
BEGIN;
CREATE INDEX IF NOT EXISTS songs_title_trgm ON songs USING gin (title_folded gin_trgm_ops);
CREATE INDEX IF NOT EXISTS songs_artist_trgm ON songs USING gin (artist_folded gin_trgm_ops);
CREATE INDEX IF NOT EXISTS songs_name_trgm ON songs USING gin ((title_folded || ' ' || artist_folded) gin_trgm_ops);
CREATE INDEX IF NOT EXISTS songs_title_btree ON songs USING btree (title);
CREATE INDEX IF NOT EXISTS songs_ts_gin ON songs USING gin (ts);
CREATE INDEX IF NOT EXISTS songs_search_doc_gin ON songs USING gin (search_doc);
COMMIT;
\endif
