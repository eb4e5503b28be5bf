"""The database layer of the artist rule, made cheap to read: `graph_track.attributed` is kept
by triggers from the track's title and its primary artists' names (graph_valid_artist /
graph_identified_title, generated from graph.identity). Any write that would change what it
depends on recomputes it; a direct write to the flag itself is recomputed too. The views read
the flag, so `graph_edges` joins two primary keys instead of evaluating the rule for every
track (bench/graph.py: seconds -> milliseconds at 200,000 tracks)."""

from django.db import migrations

SQL = """
CREATE OR REPLACE FUNCTION graph_track_attributed(track bigint, title text) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT graph_identified_title(title)
    AND EXISTS (SELECT 1 FROM graph_trackartist ta JOIN graph_artist a ON a.id = ta.artist_id
                WHERE ta.track_id = track AND ta.role = 'primary' AND graph_valid_artist(a.name))
    AND NOT EXISTS (SELECT 1 FROM graph_trackartist ta JOIN graph_artist a ON a.id = ta.artist_id
                    WHERE ta.track_id = track AND ta.role = 'primary'
                      AND NOT graph_valid_artist(a.name))
$$;

CREATE OR REPLACE FUNCTION graph_track_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' OR NEW.title IS DISTINCT FROM OLD.title
     OR NEW.attributed IS DISTINCT FROM OLD.attributed THEN
    NEW.attributed := graph_track_attributed(NEW.id, NEW.title);
  END IF;
  RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS graph_track_guard ON graph_track;
CREATE TRIGGER graph_track_guard BEFORE INSERT OR UPDATE ON graph_track
  FOR EACH ROW EXECUTE FUNCTION graph_track_guard();

CREATE OR REPLACE FUNCTION graph_links_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- flipping the flag makes graph_track_guard recompute it for exactly the rows that differ
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    UPDATE graph_track t SET attributed = NOT t.attributed
    WHERE t.id IN (SELECT DISTINCT track_id FROM new_links)
      AND t.attributed IS DISTINCT FROM graph_track_attributed(t.id, t.title);
  END IF;
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    UPDATE graph_track t SET attributed = NOT t.attributed
    WHERE t.id IN (SELECT DISTINCT track_id FROM old_links)
      AND t.attributed IS DISTINCT FROM graph_track_attributed(t.id, t.title);
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
  UPDATE graph_track t SET attributed = NOT t.attributed
  WHERE t.id IN (SELECT ta.track_id FROM graph_trackartist ta JOIN new_artists n ON n.id = ta.artist_id)
    AND t.attributed IS DISTINCT FROM graph_track_attributed(t.id, t.title);
  RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS graph_artists_update ON graph_artist;
CREATE TRIGGER graph_artists_update AFTER UPDATE ON graph_artist
  REFERENCING NEW TABLE AS new_artists FOR EACH STATEMENT EXECUTE FUNCTION graph_artists_changed();

UPDATE graph_track SET attributed = NOT attributed
  WHERE attributed IS DISTINCT FROM graph_track_attributed(id, title);

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
