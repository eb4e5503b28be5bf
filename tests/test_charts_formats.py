"""song.ini, notes.chart and notes.mid parsing; the writer's round trip; never-raise properties.

The .chart and .mid fixtures are written here (no third-party chart files are vendored)."""

import io

import mido
from hypothesis import given, settings as hsettings, strategies as st

from charts import validate
from charts.formats import chart, ini, midi, parse_chart
from tests.charts_support import chart_text


# --- song.ini ------------------------------------------------------------------------------------
def test_ini_reads_every_dialect():
    raw = ("\ufeff; a comment\r\n# another\r\n[Song]\r\nname = <color=#ff0000>Red</color>\r\n"
           "artist=Band\r\nalbum =\r\nDiff_Guitar = -1\r\nname = Second\r\ngarbage line\r\n"
           "custom_key = kept\r\n").encode("utf-8")
    doc = ini.parse(raw)
    assert doc.values == {"name": "Second", "artist": "Band", "album": "", "diff_guitar": "-1",
                          "custom_key": "kept"}
    assert "junkLines" in doc.issues and doc.encoding == "utf-8-sig"
    known, other = ini.typed(doc.values)
    assert known["diff_guitar"] == -1 and other == {"custom_key": "kept"}


def test_ini_decodes_utf16_and_cp1252():
    assert ini.parse("[song]\nname = Ünïcode\n".encode("utf-16")).get("name") == "Ünïcode"
    doc = ini.parse("[SONG]\nartist = Mot\xf6rhead\n".encode("cp1252"))
    assert doc.get("artist") == "Motörhead" and doc.encoding == "cp1252"


def test_ini_flags_undecodable_bytes():
    doc = ini.parse(b"\xef\xbb\xbf[song]\nname = \xff\xfe\x81\n")
    assert "badIniEncoding" in doc.issues


def test_ini_writer_round_trips_an_edit_of_one_field():
    raw = (b"[song]\r\nname = Old\r\nzzz_unknown = 1\r\nartist=Band\r\n; note\r\n"
           b"diff_drums = 2\r\n[other]\r\nx = y\r\n")
    doc = ini.parse(raw)
    assert doc.render() == raw  # untouched: byte for byte
    doc.set("name", "New")
    doc.set("charter", "Me")
    assert doc.render() == (b"[song]\r\nname = New\r\nzzz_unknown = 1\r\nartist=Band\r\n"
                            b"; note\r\ndiff_drums = 2\r\ncharter = Me\r\n[other]\r\nx = y\r\n")


def test_ini_writer_keeps_lf_and_bom():
    raw = b"\xef\xbb\xbf[Song]\nname=A\n"
    doc = ini.parse(raw)
    doc.set("name", "B")
    assert doc.render() == b"\xef\xbb\xbf[Song]\nname=B\n"


def test_rich_text_tags_are_stripped_for_display_only():
    assert ini.strip_tags("<color=#FFAA00>Fire</color> <b>Storm</b>") == "Fire Storm"


@given(st.binary(max_size=2000))
@hsettings(max_examples=300, deadline=None)
def test_ini_parser_never_raises(data):
    doc = ini.parse(data)
    ini.typed(doc.values)
    doc.set("name", "x")
    doc.render()


# --- notes.chart ---------------------------------------------------------------------------------
def test_chart_counts_notes_sections_and_length():
    data = chart_text(notes=64, bpm=120, star_power=2).encode()
    result = chart.parse(data)
    assert result.notes == {"guitar": {"expert": 64}}
    assert result.star_power == {"guitar": {"expert": 2}}
    assert result.sections == ["Intro", "Verse"]
    assert result.length_ms == 31500  # 63 beats at 120 BPM
    assert result.metadata["Name"] == "Song" and not result.issues


def test_chart_length_follows_tempo_changes_and_flags_are_not_notes():
    text = ("[Song]\n{\n  Resolution = 480\n  Year = \", 2019\"\n}\n[SyncTrack]\n{\n"
            "  0 = B 120000\n  1920 = B 60000\n  0 = A 0\n}\n[HardDrums]\n{\n  0 = N 0 0\n"
            "  0 = N 66 0\n  960 = N 1 0\n}\n[ExpertDoubleBass]\n{\n  0 = N 0 0\n  0 = N 1 0\n"
            "  0 = N 5 0\n  3840 = N 7 0\n}\n[EasyKeyboard]\n{\n}\n")
    result = chart.parse(text.encode())
    assert result.notes == {"drums": {"hard": 2}, "bass": {"expert": 2}}
    assert result.metadata["Year"] == "2019"
    # 4 beats at 120 BPM (2000 ms) + 4 beats at 60 BPM (4000 ms)
    assert result.length_ms == 6000
    assert "keys/easy" in result.empty


def test_chart_reads_ghl_and_coop_tracks():
    text = "[Song]\n{\nResolution = 192\n}\n[ExpertGHLGuitar]\n{\n0 = N 8 0\n192 = N 3 0\n}\n" \
           "[MediumDoubleGuitar]\n{\n0 = N 1 0\n}\n"
    assert chart.parse(text.encode()).notes == {"guitarghl": {"expert": 2},
                                                "guitarcoop": {"medium": 1}}


@given(st.binary(max_size=3000))
@hsettings(max_examples=300, deadline=None)
def test_chart_parser_never_raises_on_bytes(data):
    chart.parse(data)


@given(st.lists(st.sampled_from(["[Song]", "{", "}", "Resolution = 0", "Resolution = x",
                                 "[ExpertSingle]", "[SyncTrack]", "0 = B 0", "5 = B -3",
                                 "10 = N 1 99999999999", "x = N", "3 = S 2", "0 = TS 0",
                                 "[Events]", '0 = E "section"', "-1 = N 0 0"]), max_size=40))
@hsettings(max_examples=300, deadline=None)
def test_chart_parser_never_raises_on_structured_junk(lines):
    result = chart.parse("\n".join(lines).encode())
    assert result.length_ms >= 0


# --- notes.mid -----------------------------------------------------------------------------------
def build_mid(parts: dict[str, list[int]], tempo_bpm=120, star_power=True) -> bytes:
    song = mido.MidiFile(ticks_per_beat=480)
    conductor = mido.MidiTrack()
    conductor.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(tempo_bpm), time=0))
    song.tracks.append(conductor)
    events = mido.MidiTrack([mido.MetaMessage("track_name", name="EVENTS"),
                             mido.MetaMessage("text", text="[section Intro]", time=0)])
    song.tracks.append(events)
    for name, notes in parts.items():
        track = mido.MidiTrack([mido.MetaMessage("track_name", name=name)])
        if star_power:
            track.append(mido.Message("note_on", note=116, velocity=100, time=0))
            track.append(mido.Message("note_off", note=116, velocity=0, time=0))
        for note in notes:
            track.append(mido.Message("note_on", note=note, velocity=100, time=0))
            track.append(mido.Message("note_off", note=note, velocity=0, time=480))
        song.tracks.append(track)
    out = io.BytesIO()
    song.save(file=out)
    return out.getvalue()


def test_midi_counts_gems_per_difficulty():
    data = build_mid({"PART GUITAR": [96, 97, 98, 60, 72], "PART DRUMS": [95, 96, 84],
                      "PART VOCALS": [40, 50]})
    result = midi.parse(data)
    assert result.notes == {"guitar": {"easy": 1, "medium": 1, "expert": 3},
                            "drums": {"hard": 1, "expert": 2}, "vocals": {"expert": 2}}
    assert result.star_power["guitar"]["expert"] == 1
    assert result.sections == ["Intro"]
    assert result.length_ms == 2000  # the last guitar gem starts 4 beats in at 120 BPM


def test_both_parsers_share_one_shape():
    a = parse_chart("notes.chart", chart_text().encode()).as_dict()
    b = parse_chart("notes.mid", build_mid({"PART GUITAR": [96]})).as_dict()
    assert a.keys() == b.keys()


@given(st.binary(max_size=2000))
@hsettings(max_examples=200, deadline=None)
def test_midi_parser_never_raises(data):
    midi.parse(b"MThd\x00\x00\x00\x06" + data)
    midi.parse(data)


# --- validation ----------------------------------------------------------------------------------
def test_validation_codes():
    data = chart.parse(chart_text(notes=10).encode())
    values = {"name": "<b></b>", "artist": "A", "diff_guitar": "-1", "diff_bass": "2",
              "song_length": "999999"}
    codes = validate.check(["notes.chart", "song.ini", "guitar.flac"], values, [], data)
    assert codes == ["badSongLength", "diffWithoutNotes", "missingCharter", "missingName",
                     "noAudio", "notesWithoutDiff", "unknownAudioFormat"]
    assert validate.check(["song.ini", "song.ogg"], {"name": "a", "artist": "b",
                                                     "charter": "c"}, [], None) == ["noChart"]
