"""Reading the rule cheaply: `graph_artist.valid` is a generated column computed by the
database from the name with graph_valid_artist (it cannot be written), so the views and the
attribution triggers test a boolean instead of running the pattern per row; `graph_nodes`
exposes the stored degree. Also: track updates re-check attribution only when the title or
the flag itself changed."""

from django.db import migrations

SQL = """
ALTER TABLE graph_artist ADD COLUMN IF NOT EXISTS valid boolean
  GENERATED ALWAYS AS (graph_valid_artist(name)) STORED;

CREATE OR REPLACE FUNCTION graph_refresh_attribution(ids bigint[]) RETURNS void
LANGUAGE sql AS $$
  UPDATE graph_track t SET attributed = x.ok
  FROM (SELECT tr.id, graph_identified_title(tr.title)
                      AND coalesce(bool_and(a.valid), false) AS ok
        FROM graph_track tr
        LEFT JOIN graph_trackartist ta ON ta.track_id = tr.id AND ta.role = 'primary'
        LEFT JOIN graph_artist a ON a.id = ta.artist_id
        WHERE tr.id = ANY(ids) GROUP BY tr.id, tr.title) x
  WHERE t.id = x.id AND t.attributed IS DISTINCT FROM x.ok
$$;

CREATE OR REPLACE FUNCTION graph_tracks_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF pg_trigger_depth() > 1 THEN RETURN NULL; END IF;
  PERFORM graph_refresh_attribution(ARRAY(SELECT id FROM new_tracks));
  RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION graph_tracks_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF pg_trigger_depth() > 1 THEN RETURN NULL; END IF;
  PERFORM graph_refresh_attribution(ARRAY(
    SELECT n.id FROM new_tracks n JOIN old_tracks o ON o.id = n.id
    WHERE n.title IS DISTINCT FROM o.title OR n.attributed IS DISTINCT FROM o.attributed));
  RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS graph_tracks_insert ON graph_track;
DROP TRIGGER IF EXISTS graph_tracks_update ON graph_track;
DROP FUNCTION IF EXISTS graph_tracks_changed();
CREATE TRIGGER graph_tracks_insert AFTER INSERT ON graph_track
  REFERENCING NEW TABLE AS new_tracks FOR EACH STATEMENT EXECUTE FUNCTION graph_tracks_inserted();
CREATE TRIGGER graph_tracks_update AFTER UPDATE ON graph_track
  REFERENCING OLD TABLE AS old_tracks NEW TABLE AS new_tracks
  FOR EACH STATEMENT EXECUTE FUNCTION graph_tracks_updated();

CREATE OR REPLACE VIEW graph_node_artists AS
  SELECT ta.track_id, a.id AS artist_id, a.name, ta.role, ta.position
  FROM graph_trackartist ta JOIN graph_artist a ON a.id = ta.artist_id
  WHERE a.valid;
DROP VIEW IF EXISTS graph_edges;
DROP VIEW IF EXISTS graph_nodes;
CREATE VIEW graph_nodes AS
  SELECT t.id, t.title, t.version, t.camelot, t.bpm, t.key, t.spotify_id, t.isrc, t.degree
  FROM graph_track t WHERE t.attributed AND graph_identified_title(t.title);
CREATE VIEW graph_edges AS
  SELECT tr.id, tr.from_track_id, tr.to_track_id, tr.occurrences, tr.setlists, tr.djs,
         tr.first_seen, tr.last_seen
  FROM graph_transition tr
  JOIN graph_track f ON f.id = tr.from_track_id AND f.attributed
  JOIN graph_track t ON t.id = tr.to_track_id AND t.attributed
  WHERE tr.from_track_id <> tr.to_track_id;
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(SQL)


class Migration(migrations.Migration):
    dependencies = [("graph", "0006_track_degree")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
