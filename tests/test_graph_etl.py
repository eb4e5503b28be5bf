"""graph.etl on PostgreSQL: bronze once per revision, silver replaced, gold derived
incrementally and by rebuild to the same result; the ETL layer of the artist rule."""

import pytest
from django.db import connection

from graph import etl
from graph.models import Artist, EdgeOccurrence, Entry, RawSetlist, Setlist, Track, TrackArtist, Transition
from graph.parsers import parse

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

STROBE_SET = """DJ: Deadmau5
Deadmau5 - Ghosts 'n' Stuff
Deadmau5 - Strobe
Deadmau5 - I Remember
Deadmau5 - Some Chords
"""


def imp(text, external_id="", source="file"):
    return etl.import_setlist(parse(text, "text"), source=source, payload=text, fmt="text",
                              external_id=external_id)


def edges():
    return {(t.from_track.title, t.to_track.title): (t.occurrences, t.setlists, t.djs)
            for t in Transition.objects.select_related("from_track", "to_track")}


def test_it_creates_one_transition_per_adjacent_pair_of_the_seed_example():
    result = imp(STROBE_SET)
    assert result.status == "created" and result.entries == 4 and result.identified == 4
    assert edges() == {("Ghosts 'n' Stuff", "Strobe"): (1, 1, 1), ("Strobe", "I Remember"): (1, 1, 1),
                       ("I Remember", "Some Chords"): (1, 1, 1)}
    assert RawSetlist.objects.count() == 1 and Setlist.objects.get().dj == "Deadmau5"


def test_an_unidentified_entry_breaks_the_chain_and_repeats_add_nothing():
    imp("A1 - One\n? - ?\nA2 - Two\nA2 - Two\nUnknown Artist - Three\nA3 - Four\nA4 - Five\n")
    assert set(edges()) == {("Two", "Two")} - {("Two", "Two")} | {("Four", "Five")}
    assert Entry.objects.filter(identified=False).count() == 2
    assert not Track.objects.filter(title="Three").exists()


def test_reimporting_the_same_revision_creates_nothing():
    first = imp(STROBE_SET, external_id="mix-1")
    counts = (RawSetlist.objects.count(), Entry.objects.count(), Transition.objects.count())
    again = imp(STROBE_SET, external_id="mix-1")
    assert again.status == "unchanged" and again.setlist_id == first.setlist_id
    assert (RawSetlist.objects.count(), Entry.objects.count(), Transition.objects.count()) == counts


def test_a_new_revision_replaces_its_old_contribution():
    imp(STROBE_SET, external_id="mix-1")
    imp("DJ: Other\nDeadmau5 - Strobe\nDeadmau5 - I Remember\n", external_id="mix-2")
    assert edges()[("Strobe", "I Remember")] == (2, 2, 2)
    result = imp("DJ: Deadmau5\nDeadmau5 - Strobe\nDeadmau5 - Some Chords\n", external_id="mix-1")
    assert result.status == "updated"
    assert edges() == {("Strobe", "I Remember"): (1, 1, 1), ("Strobe", "Some Chords"): (1, 1, 1)}
    assert RawSetlist.objects.count() == 3 and Setlist.objects.count() == 2  # bronze keeps all


def test_counts_distinct_setlists_and_djs_and_dates():
    imp("DJ: A\nDate: 2020-01-01\nX - One\nX - Two\nX - One\nX - Two\n", external_id="1")
    imp("DJ: a\nDate: 2021-05-05\nX - One\nX - Two\n", external_id="2")  # same DJ, other case
    imp("DJ: B\nDate: 2019-03-03\nX - One\nX - Two\n", external_id="3")
    t = Transition.objects.get(from_track__title="One", to_track__title="Two")
    assert (t.occurrences, t.setlists, t.djs) == (4, 3, 2)
    assert (str(t.first_seen), str(t.last_seen)) == ("2019-03-03", "2021-05-05")


def test_etl_links_only_valid_artist_names():
    imp("Real Artist feat. Unknown - Song (VA Remix)\nOther - Tune\n")
    assert set(Artist.objects.values_list("name", flat=True)) == {"Real Artist", "Other"}
    assert TrackArtist.objects.count() == 2


def test_rebuild_gives_the_same_gold_as_incremental_imports():
    imp(STROBE_SET, external_id="1")
    imp("DJ: B\nDeadmau5 - Strobe\nDeadmau5 - Ghosts 'n' Stuff\n? - ?\nDeadmau5 - Strobe\n",
        external_id="2")
    before = edges()
    with connection.cursor() as cursor:  # damage gold: rebuild must not depend on it
        cursor.execute("DELETE FROM graph_transition WHERE id IN "
                       "(SELECT id FROM graph_transition LIMIT 1)")
    etl.rebuild()
    assert edges() == before
    assert EdgeOccurrence.objects.count() == 4


def gold_schema():
    """Every index and constraint of the tables the rebuild bulk-loads."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN "
                       "('graph_transition', 'graph_edgeoccurrence')")
        indexes = set(cursor.fetchall())
        cursor.execute("SELECT conname, pg_get_constraintdef(oid), convalidated FROM pg_constraint "
                       "WHERE conrelid IN ('graph_transition'::regclass, "
                       "'graph_edgeoccurrence'::regclass)")
        return indexes, set(cursor.fetchall())


def test_rebuild_derives_degrees_and_leaves_every_index_and_key_in_place():
    imp(STROBE_SET, external_id="1")
    imp("DJ: B\nDeadmau5 - Strobe\nDeadmau5 - Ghosts 'n' Stuff\n", external_id="2")
    degrees = dict(Track.objects.values_list("title", "degree"))
    assert degrees["Strobe"] == 3  # from Ghosts, to I Remember, to Ghosts
    schema = gold_schema()
    assert len(schema[0]) >= 7 and any("FOREIGN KEY" in c[1] for c in schema[1])
    Track.objects.update(degree=0)
    etl.rebuild()
    assert dict(Track.objects.values_list("title", "degree")) == degrees
    assert gold_schema() == schema


def test_rebuild_drops_tracks_no_entry_uses_any_more():
    imp("A - One\nB - Two\n", external_id="1")
    imp("A - One\nC - Three\n", external_id="1")
    etl.rebuild()
    assert set(Track.objects.values_list("title", flat=True)) == {"One", "Three"}


def test_import_is_atomic_when_gold_fails(monkeypatch):
    def boom(ids):
        raise RuntimeError("disk full")
    monkeypatch.setattr(etl, "_derive_gold", boom)
    with pytest.raises(RuntimeError):
        imp(STROBE_SET)
    assert not RawSetlist.objects.exists() and not Entry.objects.exists()
