"""graph.parsers: each format read into the same setlist; malformed input names its line."""

from pathlib import Path

import pytest

from graph.parsers import ParseError, detect, parse
from graph.parsers import mixesdb

FIXTURES = Path(__file__).parent / "fixtures" / "graph"


def titles(setlist):
    return [e.track.title for e in setlist.entries]


def test_mixesdb_wikitext_reads_positions_minutes_unknowns_and_cd_parts():
    setlist = mixesdb.parse((FIXTURES / "ultra.wiki").read_text(),
                            page_title="2019-06-15 - Deadmau5 @ Ultra Music Festival, Miami")
    assert titles(setlist) == ["Ghosts 'n' Stuff", "Strobe", "?", "Pjanoo", "I Remember",
                               "Some Chords"]
    assert [e.position for e in setlist.entries] == [1, 2, 3, 4, 5, 6]  # CD2 continues
    assert [e.timestamp for e in setlist.entries][:2] == [0, 240]
    assert not setlist.entries[2].track.identified
    assert setlist.entries[1].track.label == "mau5trap" and setlist.entries[1].track.catalog == "MAU5001"
    assert (setlist.dj, setlist.event, setlist.venue, str(setlist.date)) == \
        ("Deadmau5", "Ultra Music Festival", "Miami", "2019-06-15")


def test_plain_text_with_headers_numbers_and_timestamps():
    setlist = parse((FIXTURES / "set.txt").read_text(), "text")
    assert titles(setlist) == ["Ghosts 'n' Stuff", "Strobe", "ID", "Some Chords"]
    assert [e.timestamp for e in setlist.entries] == [0, 263, 947, 1330]
    assert setlist.dj == "Deadmau5" and str(setlist.date) == "2019-06-15"


def test_cue_sheet_tracks_with_performer_title_and_index():
    setlist = parse((FIXTURES / "set.cue").read_text(), "auto", "set.cue")
    assert titles(setlist) == ["Ghosts 'n' Stuff", "Strobe"]
    assert setlist.entries[1].timestamp == 263 and setlist.dj == "Deadmau5"
    assert setlist.entries[1].track.artists == [("Deadmau5", "primary")]


def test_m3u_extinf_lines_and_accumulated_timestamps():
    setlist = parse((FIXTURES / "set.m3u").read_text(), "auto", "set.m3u")
    assert titles(setlist) == ["Ghosts 'n' Stuff", "Strobe"]
    assert [e.timestamp for e in setlist.entries] == [0, 263]


def test_json_schema_objects_and_lines():
    setlist = parse((FIXTURES / "set.json").read_text(), "auto", "set.json")
    assert titles(setlist) == ["Ghosts 'n' Stuff", "Strobe", "I Remember"]
    assert setlist.entries[1].track.label == "mau5trap" and setlist.venue == "Miami"


def test_csv_with_header_row():
    setlist = parse((FIXTURES / "set.csv").read_text(), "auto", "set.csv")
    assert titles(setlist) == ["Ghosts 'n' Stuff", "Strobe", "?"]
    assert setlist.dj == "Deadmau5" and not setlist.entries[2].track.identified


@pytest.mark.parametrize("name,fmt", [("ultra.wiki", "mixesdb"), ("set.cue", "cue"),
                                      ("set.m3u", "m3u"), ("set.json", "json"),
                                      ("set.csv", "csv")])
def test_format_detection_by_content(name, fmt):
    assert detect((FIXTURES / name).read_text()) == fmt


@pytest.mark.parametrize("fmt,text,line", [
    ("text", "Deadmau5 - Strobe\nthis line has no separator\n", 2),
    ("cue", 'TRACK 01 AUDIO\n  TITLE "A"\nTRACK xx AUDIO\n', 3),
    ("cue", 'TRACK 01 AUDIO\n  TITLE "A"\n  INDEX 01 soon\n', 3),
    ("m3u", "#EXTM3U\n#EXTINF:abc\nfile.mp3\n", 2),
    ("json", '{"tracks": [\n  {"artist": "A", "title": "B"},\n  oops\n]}', 3),
    ("csv", "artist,title\nA,B\nC,D,E\n", 3),
    ("csv", "artist,title,timestamp\nA,B,soon\n", 2),
    ("text", "Date: yesterday\nA - B\n", 1),
])
def test_malformed_input_names_the_line(fmt, text, line):
    with pytest.raises(ParseError) as caught:
        parse(text, fmt)
    assert caught.value.line == line and f"line {line}" in str(caught.value)


def test_json_errors_name_the_track():
    with pytest.raises(ParseError, match=r"tracks\[1\]"):
        parse('{"tracks": ["A - B", {"artist": 3}]}', "json")


def test_an_empty_tracklist_is_an_error():
    with pytest.raises(ParseError, match="no tracks"):
        parse("== Tracklist ==\nnothing here\n", "mixesdb")
