"""The artist rule in the database: `graph_valid_artist` / `graph_identified_title` (generated
from graph.identity, the one definition) and the views every gold reader uses:
`graph_nodes` (tracks whose every primary artist is valid, with a known title),
`graph_node_artists` (only valid names), `graph_edges` (transitions between two nodes).
Plus pg_trgm for track search. PostgreSQL only; on SQLite the graph API is unavailable."""

from django.db import migrations

from graph.identity import ARTIST_SQL_FUNCTION, TITLE_SQL_FUNCTION

VIEWS = """
CREATE OR REPLACE VIEW graph_node_artists AS
  SELECT ta.track_id, a.id AS artist_id, a.name, ta.role, ta.position
  FROM graph_trackartist ta JOIN graph_artist a ON a.id = ta.artist_id
  WHERE graph_valid_artist(a.name);
CREATE OR REPLACE VIEW graph_nodes AS
  SELECT t.id, t.title, t.version, t.camelot, t.bpm, t.key, t.spotify_id, t.isrc
  FROM graph_track t
  WHERE graph_identified_title(t.title)
    AND EXISTS (SELECT 1 FROM graph_trackartist ta JOIN graph_artist a ON a.id = ta.artist_id
                WHERE ta.track_id = t.id AND ta.role = 'primary' AND graph_valid_artist(a.name))
    AND NOT EXISTS (SELECT 1 FROM graph_trackartist ta JOIN graph_artist a ON a.id = ta.artist_id
                    WHERE ta.track_id = t.id AND ta.role = 'primary'
                      AND NOT graph_valid_artist(a.name));
CREATE OR REPLACE VIEW graph_edges AS
  SELECT tr.id, tr.from_track_id, tr.to_track_id, tr.occurrences, tr.setlists, tr.djs,
         tr.first_seen, tr.last_seen
  FROM graph_transition tr
  WHERE tr.from_track_id <> tr.to_track_id
    AND tr.from_track_id IN (SELECT id FROM graph_nodes)
    AND tr.to_track_id IN (SELECT id FROM graph_nodes);
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX IF NOT EXISTS graph_track_search_trgm ON graph_track
  USING gin ((artist_key || ' ' || title_key) gin_trgm_ops);
CREATE INDEX IF NOT EXISTS graph_artist_name_trgm ON graph_artist USING gin (name_key gin_trgm_ops);
CREATE INDEX IF NOT EXISTS graph_trackartist_track ON graph_trackartist (track_id, role);
"""

DROP = """
DROP VIEW IF EXISTS graph_edges; DROP VIEW IF EXISTS graph_nodes;
DROP VIEW IF EXISTS graph_node_artists;
DROP FUNCTION IF EXISTS graph_valid_artist(text); DROP FUNCTION IF EXISTS graph_identified_title(text);
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(ARTIST_SQL_FUNCTION)
        schema_editor.execute(TITLE_SQL_FUNCTION)
        schema_editor.execute(VIEWS)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("graph", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
