"""Curation (ArtistAttributionManager): grouped unidentified lines, a curator's answer re-runs
gold for the affected setlists, "not a track", audit, staff-only page; the upload form and the
import_setlists / rebuild_graph commands."""

from pathlib import Path

import pytest
from django.core.management import call_command

from graph import curation, etl
from graph.models import CurationAudit, Entry, RawSetlist, Setlist, Transition
from graph.parsers import parse

pytestmark = [pytest.mark.postgres, pytest.mark.django_db, pytest.mark.usefixtures("graph_fast")]
FIXTURES = Path(__file__).parent / "fixtures" / "graph"


def imp(text, external_id):
    etl.import_setlist(parse(text, "text"), source="file", payload=text, fmt="text",
                       external_id=external_id)


def pairs():
    return {(t.from_track.title, t.to_track.title): t.setlists
            for t in Transition.objects.select_related("from_track", "to_track")}


@pytest.fixture
def sets():
    imp("A - One\nID - ID\nC - Three\n", "1")
    imp("A - One\nid - id\nC - Three\n", "2")
    imp("A - One\n? - Mystery Tune\nB - Two\n", "3")


def test_unidentified_lines_are_grouped_with_counts(sets):
    groups = curation.unidentified_groups()
    assert [(g["raw_key"], g["occurrences"], g["setlists"]) for g in groups] == \
        [("id - id", 2, 2), ("? - mystery tune", 1, 1)]


def test_assigning_a_line_updates_every_setlist_with_it_and_is_audited(sets, curator):
    curation.decide(curator, "ID - ID", artist="Bee", title="Middle")
    assert pairs() == {("One", "Middle"): 2, ("Middle", "Three"): 2}
    audit = CurationAudit.objects.get()
    assert (audit.user, audit.action, audit.setlists_rebuilt, audit.after["artist"]) == \
        (curator, "assign", 2, "Bee")
    imp("X - Ex\nid - ID\nC - Three\n", "4")  # a later import applies the rule too
    assert pairs()[("Middle", "Three")] == 3


def test_not_a_track_joins_its_neighbours(sets, curator):
    curation.decide(curator, "? - Mystery Tune", not_a_track=True)
    assert pairs() == {("One", "Two"): 1}
    assert CurationAudit.objects.get().action == "not_a_track"


def test_a_curator_cannot_assign_an_invalid_artist(sets, curator):
    with pytest.raises(curation.CurationError, match="artist rule"):
        curation.decide(curator, "ID - ID", artist="Unknown Artist", title="X")
    assert not CurationAudit.objects.exists() and pairs() == {}


def test_the_curation_page_is_for_staff(client, sets, curator, django_user_model):
    assert client.get("/graph/curate").status_code == 302
    client.force_login(curator)
    page = client.get("/graph/curate").content.decode()
    assert "id - id" in page.lower() and "Mystery Tune" in page
    response = client.post("/graph/curate", {"raw_line": "ID - ID", "artist": "Bee",
                                              "title": "Middle", "action": "assign"})
    assert response.status_code == 302 and ("One", "Middle") in pairs()


def test_upload_form_imports_a_file_and_refuses_a_malformed_one(client, curator):
    client.force_login(curator)
    with open(FIXTURES / "set.cue", "rb") as handle:
        client.post("/graph/upload", {"file": handle, "format": "auto"})
    assert Setlist.objects.get().dj == "Deadmau5"
    from django.core.files.uploadedfile import SimpleUploadedFile

    bad = SimpleUploadedFile("bad.txt", b"A - B\nno separator here\n")
    page = client.post("/graph/upload", {"file": bad, "format": "text"}, follow=True)
    assert "line 2" in page.content.decode() and Setlist.objects.count() == 1


def test_import_setlists_command_reports_the_bad_line_and_writes_nothing_for_it(tmp_path, capsys):
    bad = tmp_path / "bad.m3u"
    bad.write_text("#EXTM3U\n#EXTINF:oops\nx.mp3\n")
    with pytest.raises(SystemExit) as exited:
        call_command("import_setlists", str(FIXTURES / "set.json"), str(bad))
    assert exited.value.code == 1
    out = capsys.readouterr()
    assert "bad.m3u: line 2" in out.err and "imported 1, failed 1" in out.out
    assert RawSetlist.objects.count() == 1
    call_command("import_setlists", str(FIXTURES / "set.json"))  # the same file again
    assert RawSetlist.objects.count() == 1 and Entry.objects.count() == 3


def test_rebuild_graph_command(sets, capsys):
    call_command("rebuild_graph")
    assert "rebuilt:" in capsys.readouterr().out
