"""Bronze -> silver -> gold, the only writer of the graph's tables.

`import_setlist(parsed, source=..., payload=...)` stores the received text (bronze, once per
revision), replaces the setlist's entries (silver) and re-derives gold for that setlist only, in
one transaction: re-importing the same revision changes nothing; a new revision replaces its old
contribution. `rebuild()` derives all of gold from silver again.

Gold is derived by the same SQL statements in both cases (`_derive_gold(scope)`), scoped to a
list of setlist ids or to everything:

1. artists: every *valid* name (the SQL mirror of identity.is_valid_artist) of an identified
   entry; links track-artist are created for valid names only (the ETL layer of the artist rule);
2. tracks by (artist key, title key); entries point at their track;
3. edge occurrences: entry i -> i+1 of one setlist when both are tracks (an unidentified entry
   breaks the chain, a curated "not a track" line is left out of the sequence, A -> A is
   nothing);
4. transitions: the occurrences of every touched (from, to) pair aggregated again.

PostgreSQL only (window functions over jsonb, `ON CONFLICT`, arrays).
"""

from __future__ import annotations

import hashlib
import logging
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from songhub.signals import announce_library_change

from . import events
from .identity import ParsedTrack, normalise, parse_track, track_key
from .models import CurationRule, Entry, RawSetlist, Setlist
from .parsers import ParsedSetlist

logger = logging.getLogger(__name__)


class GraphUnavailable(RuntimeError):
    """The graph needs PostgreSQL."""


@dataclass
class ImportResult:
    setlist_id: int
    status: str  # created | updated | unchanged
    entries: int = 0
    identified: int = 0
    pairs_changed: int = 0


def require_postgresql() -> None:
    if connection.vendor != "postgresql":
        raise GraphUnavailable("the transition graph needs PostgreSQL (set DATABASE_URL)")


def import_setlist(parsed: ParsedSetlist, *, source: str, payload: str, fmt: str,
                   external_id: str = "", revision: str = "", meta: dict | None = None,
                   notify: bool = True) -> ImportResult:
    """Store one setlist through all three layers. `external_id` defaults to the payload's
    hash (a file imported twice is one setlist), `revision` to the payload's hash too."""
    require_postgresql()
    digest = hashlib.sha256(payload.encode()).hexdigest()[:40]
    external_id, revision = external_id or digest, revision or digest
    with transaction.atomic():
        raw, _ = RawSetlist.objects.get_or_create(
            source=source, external_id=external_id, revision=revision,
            defaults={"payload": payload, "fmt": fmt, "url": parsed.url[:500], "meta": meta or {}})
        setlist = Setlist.objects.select_for_update().filter(
            source=source, external_id=external_id).first()
        if setlist is not None and setlist.raw_id == raw.pk:
            return ImportResult(setlist.pk, "unchanged", setlist.entries.count())
        status = "updated" if setlist is not None else "created"
        fields = {"raw": raw, "title": parsed.title[:300], "dj": parsed.dj[:300],
                  "dj_key": normalise(parsed.dj)[:300], "event": parsed.event[:300],
                  "venue": parsed.venue[:300], "date": parsed.date, "url": parsed.url[:500],
                  "updated_at": timezone.now()}
        if setlist is None:
            setlist = Setlist.objects.create(source=source, external_id=external_id, **fields)
        else:
            for name, value in fields.items():
                setattr(setlist, name, value)
            setlist.save(update_fields=list(fields))
            setlist.entries.all().delete()
        rules = _rules_for({normalise(e.raw_line) for e in parsed.entries})
        entries = [_entry(setlist, e.position, e.raw_line, e.timestamp, e.track, rules)
                   for e in parsed.entries]
        Entry.objects.bulk_create(entries, batch_size=1000)
        changed = _derive_gold([setlist.pk])
        if notify and changed:
            events.graph_updated(changed, [setlist.pk])
        if changed:
            announce_library_change("graph")
    return ImportResult(setlist.pk, status, len(entries), sum(e.identified for e in entries),
                        changed)


def _rules_for(raw_keys: set[str]) -> dict[str, CurationRule]:
    rules = CurationRule.objects.filter(raw_key__in=raw_keys, status=CurationRule.Status.ACCEPTED)
    return {rule.raw_key: rule for rule in rules}


def _entry(setlist, position, raw_line, timestamp, track: ParsedTrack, rules) -> Entry:
    raw_key = normalise(raw_line)[:1000]
    entry = Entry(setlist=setlist, position=position, timestamp=timestamp,
                  raw_line=raw_line[:1000], raw_key=raw_key)
    apply_track(entry, track, rules.get(raw_key))
    return entry


def apply_track(entry: Entry, track: ParsedTrack, rule: CurationRule | None) -> None:
    """Fill an entry's parsed fields from its track, or from the curator's rule for its line."""
    if rule is not None and rule.not_a_track:
        track, entry.not_a_track = ParsedTrack(title=entry.raw_line), True
    elif rule is not None:
        track = parse_track(f"{rule.artist} - {rule.title}")
        entry.not_a_track = False
    else:
        entry.not_a_track = False
    entry.identified = not entry.not_a_track and track.identified
    entry.artists = [[name, role, normalise(name)[:300]] for name, role in track.artists]
    entry.artist_text = track.artist_text[:500]
    entry.title, entry.version = track.title[:500], track.version[:300]
    entry.label, entry.catalog = track.label[:300], track.catalog[:100]
    if entry.identified:
        artist_key, title_key = track_key(track.primary_artists, track.title)
        entry.artist_key, entry.title_key = artist_key[:500], title_key[:500]
    else:
        entry.artist_key = entry.title_key = ""
    entry.track_id = None


# -- gold -------------------------------------------------------------------------------------
_SCOPE = "e.setlist_id = ANY(%(ids)s)"

ARTISTS = """
INSERT INTO graph_artist (name, name_key)
SELECT DISTINCT ON (a->>2) a->>0, a->>2
FROM graph_entry e CROSS JOIN jsonb_array_elements(e.artists) a
WHERE e.identified AND {scope} AND graph_valid_artist(a->>0)
ORDER BY a->>2, a->>0
ON CONFLICT (name_key) DO NOTHING"""

TRACKS = """
INSERT INTO graph_track (title, version, artist_key, title_key, label, catalog, isrc, spotify_id,
                         key, camelot)
SELECT DISTINCT ON (e.artist_key, e.title_key) e.title, e.version, e.artist_key, e.title_key,
       e.label, e.catalog, '', '', '', ''
FROM graph_entry e WHERE e.identified AND {scope}
ORDER BY e.artist_key, e.title_key, e.id
ON CONFLICT (artist_key, title_key) DO NOTHING"""

POINT = """
UPDATE graph_entry e SET track_id = t.id FROM graph_track t
WHERE e.identified AND {scope} AND t.artist_key = e.artist_key AND t.title_key = e.title_key
  AND e.track_id IS DISTINCT FROM t.id"""

UNPOINT = "UPDATE graph_entry e SET track_id = NULL WHERE NOT e.identified AND {scope} " \
          "AND e.track_id IS NOT NULL"

LINKS_SELECT = """
SELECT DISTINCT ON (e.track_id, ar.id, x.a->>1) e.track_id, ar.id, x.a->>1, x.ord - 1
FROM graph_entry e CROSS JOIN jsonb_array_elements(e.artists) WITH ORDINALITY x(a, ord)
JOIN graph_artist ar ON ar.name_key = x.a->>2
WHERE e.identified AND e.track_id IS NOT NULL AND {scope} AND graph_valid_artist(x.a->>0)
ORDER BY e.track_id, ar.id, x.a->>1, x.ord"""
LINKS = "INSERT INTO graph_trackartist (track_id, artist_id, role, position)" + LINKS_SELECT + \
    " ON CONFLICT (track_id, artist_id, role) DO NOTHING"
STALE_LINKS = """
DELETE FROM graph_trackartist ta WHERE NOT EXISTS (
  SELECT 1 FROM (""" + LINKS_SELECT.format(scope="TRUE") + """) AS want (track_id, artist_id, role, position)
  WHERE want.track_id = ta.track_id AND want.artist_id = ta.artist_id AND want.role = ta.role)"""

CLEAR_OCCURRENCES = """
DELETE FROM graph_edgeoccurrence e WHERE {scope} RETURNING from_track_id, to_track_id"""

OCCURRENCES = """
INSERT INTO graph_edgeoccurrence (setlist_id, from_track_id, to_track_id, count)
SELECT setlist_id, track_id, next_id, count(*)
FROM (SELECT e.setlist_id, e.track_id,
             lead(e.track_id) OVER (PARTITION BY e.setlist_id ORDER BY e.position) AS next_id
      FROM graph_entry e WHERE NOT e.not_a_track AND {scope}) seq
WHERE track_id IS NOT NULL AND next_id IS NOT NULL AND track_id <> next_id
GROUP BY setlist_id, track_id, next_id"""

AGGREGATE = """
SELECT o.from_track_id, o.to_track_id, sum(o.count), count(DISTINCT o.setlist_id),
       count(DISTINCT nullif(s.dj_key, '')), min(coalesce(s.date, s.imported_at::date)),
       max(coalesce(s.date, s.imported_at::date))
FROM graph_edgeoccurrence o JOIN graph_setlist s ON s.id = o.setlist_id
{where} GROUP BY o.from_track_id, o.to_track_id"""

PAIRS = "(%(a)s::bigint[], %(b)s::bigint[])"

DEGREES = """
UPDATE graph_track t SET degree = coalesce(d.n, 0)
FROM (SELECT ids.id, x.n FROM unnest(%(ids)s::bigint[]) AS ids(id)
      LEFT JOIN (SELECT id, count(*) AS n FROM (
          SELECT from_track_id AS id FROM graph_edges WHERE from_track_id = ANY(%(ids)s)
          UNION ALL SELECT to_track_id FROM graph_edges WHERE to_track_id = ANY(%(ids)s)) e
        GROUP BY id) x ON x.id = ids.id) d
WHERE t.id = d.id AND t.degree IS DISTINCT FROM coalesce(d.n, 0)"""

ALL_DEGREES = """
UPDATE graph_track t SET degree = coalesce(d.n, 0)
FROM graph_track t2 LEFT JOIN (SELECT id, count(*) AS n FROM (
    SELECT from_track_id AS id FROM graph_edges UNION ALL SELECT to_track_id FROM graph_edges) e
  GROUP BY id) d ON d.id = t2.id
WHERE t.id = t2.id AND t.degree IS DISTINCT FROM coalesce(d.n, 0)"""


def _derive_gold(setlist_ids: list[int] | None) -> int:
    """Re-derive gold for these setlists (None: all of silver). Returns how many
    (from, to) pairs were touched."""
    scope = _SCOPE if setlist_ids is not None else "TRUE"
    params = {"ids": setlist_ids}
    analyze_after = {id(ARTISTS): "graph_artist", id(TRACKS): "graph_track", id(POINT): "graph_entry"}
    with connection.cursor() as cursor:
        # JIT compiling these short statements costs more than it saves (seconds under load)
        cursor.execute("SET LOCAL jit = off")
        for statement in (ARTISTS, TRACKS, POINT, UNPOINT, LINKS):
            cursor.execute(statement.format(scope=scope), params)
            if setlist_ids is None and id(statement) in analyze_after:
                # fresh statistics, or the planner joins 10^6 rows to a table it thinks empty
                cursor.execute(f"ANALYZE {analyze_after[id(statement)]}")
        if setlist_ids is None:
            cursor.execute("TRUNCATE graph_edgeoccurrence, graph_transition")
            cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")  # the index builds' sorts
            with _bulk_load(cursor, "graph_edgeoccurrence"):
                cursor.execute(OCCURRENCES.format(scope=scope), params)
                touched = cursor.rowcount
            with _bulk_load(cursor, "graph_transition"):
                cursor.execute("INSERT INTO graph_transition (from_track_id, to_track_id, "
                               "occurrences, setlists, djs, first_seen, last_seen) "
                               + AGGREGATE.format(where=""))
            # graph_track too: the link triggers set `attributed` after its last ANALYZE, and a
            # planner that thinks no track is attributed nests loops over 10^6 edges (minutes)
            cursor.execute("ANALYZE graph_transition, graph_track")
            cursor.execute(ALL_DEGREES)
            return touched
        cursor.execute(CLEAR_OCCURRENCES.format(scope=scope), params)
        pairs = set(cursor.fetchall())
        cursor.execute(OCCURRENCES.format(scope=scope) + " RETURNING from_track_id, to_track_id",
                       params)
        pairs |= set(cursor.fetchall())
        if not pairs:
            return 0
        a, b = (list(x) for x in zip(*pairs))
        in_pairs = f"(from_track_id, to_track_id) IN (SELECT * FROM unnest{PAIRS})"
        cursor.execute(f"DELETE FROM graph_transition WHERE {in_pairs}", {"a": a, "b": b})
        cursor.execute(  # a few pairs: one index probe each (graph_occ_pair), no hash join
            "INSERT INTO graph_transition (from_track_id, to_track_id, occurrences, setlists, "
            "djs, first_seen, last_seen) " + AGGREGATE.format(where="").replace(
                "FROM graph_edgeoccurrence o",
                f"FROM unnest{PAIRS} AS p(f, t) JOIN graph_edgeoccurrence o "
                "ON o.from_track_id = p.f AND o.to_track_id = p.t"), {"a": a, "b": b})
        cursor.execute(DEGREES, {"ids": list(set(a) | set(b))})
        return len(pairs)


@contextmanager
def _bulk_load(cursor, table: str):
    """Fill an emptied `table` without its secondary indexes, unique and foreign-key
    constraints, then build them again: one sort per index and one join per key instead of a
    b-tree insert and a trigger per row (at 1 M transitions: 108 s -> 20 s). Only inside the
    transaction that emptied the table (TRUNCATE holds its ACCESS EXCLUSIVE lock), so no reader
    ever sees it without them; a failure rolls the DDL back with the rest."""
    cursor.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                   "WHERE conrelid = %s::regclass AND contype IN ('u', 'f')", [table])
    constraints = cursor.fetchall()
    cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
                   " AND tablename = %s AND indexname NOT IN "
                   "(SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
                   [table, table])
    indexes = cursor.fetchall()
    for name, _definition in constraints:
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _definition in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    yield
    for _name, definition in indexes:
        cursor.execute(definition)
    for name, definition in constraints:
        cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')


def rebuild() -> dict:
    """All of gold from silver, in one transaction: readers of the transitions wait for its
    commit (TRUNCATE's lock) and then see the new graph, never a half-built one. Track rows
    (and their enrichment) are kept; links are brought in line with silver, transitions and
    degrees derived again; tracks no entry points at any more are removed."""
    require_postgresql()
    with transaction.atomic(), connection.cursor() as cursor:
        # TRUNCATE refuses to run while deferred FK checks are pending: check them now
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        _derive_gold(None)
        # links no entry derives any more (only changed ones: the attribution triggers fire
        # for what changes, not for the whole table)
        cursor.execute(STALE_LINKS)
        cursor.execute("DELETE FROM graph_track t WHERE NOT EXISTS "
                       "(SELECT 1 FROM graph_entry e WHERE e.track_id = t.id)")
        cursor.execute("DELETE FROM graph_artist a WHERE NOT EXISTS "
                       "(SELECT 1 FROM graph_trackartist ta WHERE ta.artist_id = a.id)")
        cursor.execute("SELECT (SELECT count(*) FROM graph_track), "
                       "(SELECT count(*) FROM graph_transition)")
        tracks, transitions = cursor.fetchone()
        events.graph_updated(transitions, [])
    # the rebuild rewrote these tables: VACUUM also sets the visibility map, so graph_edges
    # checks tracks index-only at once instead of after autovacuum (not inside a transaction)
    command = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
    with connection.cursor() as cursor:
        cursor.execute(f"{command} graph_entry, graph_track, graph_trackartist, graph_artist, "
                       "graph_transition, graph_edgeoccurrence")
    return {"tracks": tracks, "transitions": transitions}


def rederive_setlists(setlist_ids: list[int]) -> int:
    """Re-apply curation rules to these setlists' entries and derive their gold again."""
    require_postgresql()
    if not setlist_ids:
        return 0
    with transaction.atomic():
        entries = list(Entry.objects.filter(setlist_id__in=setlist_ids))
        rules = _rules_for({e.raw_key for e in entries})
        for entry in entries:
            apply_track(entry, parse_track(entry.raw_line), rules.get(entry.raw_key))
        Entry.objects.bulk_update(entries, ["identified", "not_a_track", "artists", "artist_text",
                                            "title", "version", "label", "catalog", "artist_key",
                                            "title_key", "track"], batch_size=1000)
        changed = _derive_gold(setlist_ids)
        events.graph_updated(changed, setlist_ids)
    return changed
