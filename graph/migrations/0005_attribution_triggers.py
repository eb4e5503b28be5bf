"""The database layer of the artist rule, made cheap to read: `graph_track.attributed` is kept
by triggers from the track's title and its primary artists' names (graph_valid_artist /
graph_identified_title, generated from graph.identity). Any write that would change what it
depends on recomputes it; a direct write to the flag itself is recomputed too. The views read
the flag, so `graph_edges` joins two primary keys instead of evaluating the rule for every
track (bench/graph.py: seconds -> milliseconds at 200,000 tracks)."""

from django.db import migrations

SQL = """
DROP TRIGGER IF EXISTS graph_track_guard ON graph_track;
DROP FUNCTION IF EXISTS graph_track_guard();
DROP FUNCTION IF EXISTS graph_track_attributed(bigint, text);

-- Set-based on purpose: one hash join per statement, whatever the table statistics say.
CREATE OR REPLACE FUNCTION graph_refresh_attribution(ids bigint[]) RETURNS void
LANGUAGE sql AS $$
  UPDATE graph_track t SET attributed = x.ok
  FROM (SELECT tr.id, graph_identified_title(tr.title)
                      AND coalesce(bool_and(graph_valid_artist(a.name)), false) AS ok
        FROM graph_track tr
        LEFT JOIN graph_trackartist ta ON ta.track_id = tr.id AND ta.role = 'primary'
        LEFT JOIN graph_artist a ON a.id = ta.artist_id
        WHERE tr.id = ANY(ids) GROUP BY tr.id, tr.title) x
  WHERE t.id = x.id AND t.attributed IS DISTINCT FROM x.ok
$$;

-- New or changed tracks (a new title, or someone writing the flag): recompute. Updates made
-- by these triggers themselves (depth > 1) are already right and are not looked at again.
CREATE OR REPLACE FUNCTION graph_tracks_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF pg_trigger_depth() > 1 OR NOT EXISTS (SELECT 1 FROM new_tracks) THEN
    RETURN NULL;
  END IF;
  PERFORM graph_refresh_attribution(ARRAY(SELECT id FROM new_tracks));
  RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS graph_tracks_insert ON graph_track;
DROP TRIGGER IF EXISTS graph_tracks_update ON graph_track;
CREATE TRIGGER graph_tracks_insert AFTER INSERT ON graph_track
  REFERENCING NEW TABLE AS new_tracks FOR EACH STATEMENT EXECUTE FUNCTION graph_tracks_changed();
CREATE TRIGGER graph_tracks_update AFTER UPDATE ON graph_track
  REFERENCING NEW TABLE AS new_tracks FOR EACH STATEMENT EXECUTE FUNCTION graph_tracks_changed();

CREATE OR REPLACE FUNCTION graph_links_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    PERFORM graph_refresh_attribution(ARRAY(SELECT DISTINCT track_id FROM new_links));
  END IF;
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    PERFORM graph_refresh_attribution(ARRAY(SELECT DISTINCT track_id FROM old_links));
  END IF;
  RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS graph_links_insert ON graph_trackartist;
DROP TRIGGER IF EXISTS graph_links_delete ON graph_trackartist;
DROP TRIGGER IF EXISTS graph_links_update ON graph_trackartist;
CREATE TRIGGER graph_links_insert AFTER INSERT ON graph_trackartist
  REFERENCING NEW TABLE AS new_links FOR EACH STATEMENT EXECUTE FUNCTION graph_links_changed();
CREATE TRIGGER graph_links_delete AFTER DELETE ON graph_trackartist
  REFERENCING OLD TABLE AS old_links FOR EACH STATEMENT EXECUTE FUNCTION graph_links_changed();
CREATE TRIGGER graph_links_update AFTER UPDATE ON graph_trackartist
  REFERENCING OLD TABLE AS old_links NEW TABLE AS new_links
  FOR EACH STATEMENT EXECUTE FUNCTION graph_links_changed();

CREATE OR REPLACE FUNCTION graph_artists_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM graph_refresh_attribution(ARRAY(
    SELECT DISTINCT ta.track_id FROM graph_trackartist ta JOIN new_artists n ON n.id = ta.artist_id));
  RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS graph_artists_update ON graph_artist;
CREATE TRIGGER graph_artists_update AFTER UPDATE ON graph_artist
  REFERENCING NEW TABLE AS new_artists FOR EACH STATEMENT EXECUTE FUNCTION graph_artists_changed();

SELECT graph_refresh_attribution(ARRAY(SELECT id FROM graph_track));
CREATE OR REPLACE VIEW graph_nodes AS
  SELECT t.id, t.title, t.version, t.camelot, t.bpm, t.key, t.spotify_id, t.isrc
  FROM graph_track t WHERE t.attributed AND graph_identified_title(t.title);
CREATE OR REPLACE VIEW graph_edges AS
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
    dependencies = [("graph", "0004_track_attributed")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
