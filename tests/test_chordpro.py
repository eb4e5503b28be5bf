from hypothesis import given, settings as hsettings, strategies as st

from ingestion import chordpro
from ingestion.transpose import transpose_chord


def test_it_reads_meta_directives_and_aliases():
    song = chordpro.parse(
        "{t: Be Thou My Vision}\n{st: Slane}\n{artist: Trad.}\n{composer: Irish}\n"
        "{lyricist: Dallan}\n{album: Hymns}\n{year: 1905}\n{key: Eb}\n{tempo: 96}\n"
        "{time: 3/4}\n{capo: 1}\n{duration: 3:10}\n{copyright: PD}\n{meta: language English}\n"
        "{x_source: hymnal}\n"
    )
    assert song.title == "Be Thou My Vision"
    assert song.subtitle == "Slane"
    assert song.key == "Eb"
    assert song.first("capo") == "1"
    assert song.first("language") == "English"
    assert song.custom == {"x_source": "hymnal"}
    assert song.warnings == []


def test_it_places_inline_chords_at_character_offsets():
    text, chords, ok = chordpro.parse_chords("A[G]mazing [G7]grace! [*Rit.]")
    assert text == "Amazing grace! "
    assert chords == [(1, "G"), (8, "G7"), (15, "Rit.")]
    assert ok


def test_it_builds_sections_with_labels_and_recalls_the_chorus():
    song = chordpro.parse(
        "{title: X}\n{start_of_verse: Verse 1}\n[C]one\n{end_of_verse}\n"
        '{soc label="Refrain"}\n[F]sing\n{eoc}\n{chorus}\n{sot}\ne|--0--|\n[not a chord]\n{eot}\n'
        "{sog}\n| C . | G . |\n{eog}\n{start_of_bridge}\n[Am]over\n{end_of_bridge}\n{np}\nafter\n"
    )
    kinds = [(s.kind, s.label, s.recalled) for s in song.sections]
    assert kinds == [
        ("verse", "Verse 1", False), ("chorus", "Refrain", False), ("chorus", "Refrain", True),
        ("tab", "", False), ("grid", "", False), ("bridge", "", False), ("new_page", "", False),
        ("body", "", False),
    ]
    tab = song.sections[3]
    assert [line.text for line in tab.lines] == ["e|--0--|", "[not a chord]"]  # verbatim
    assert song.warnings == []


def test_it_keeps_comments_definitions_and_skips_hash_lines():
    song = chordpro.parse(
        "{title: X}\n# hidden\n{c: Softly}\n{ci: slower}\n{cb: Key change}\n{highlight: Loud}\n"
        "{define: Asus4 base-fret 1 frets x 0 2 2 3 0}\n{chord: G7}\n{columns: 2}\n"
    )
    kinds = [line.kind for line in song.sections[0].lines]
    assert kinds == ["comment", "comment_italic", "comment_box", "highlight"]
    assert song.chord_definitions == {"Asus4": "base-fret 1 frets x 0 2 2 3 0", "G7": ""}
    assert song.custom["columns"] == "2"


def test_it_transposes_chords_after_a_transpose_directive():
    song = chordpro.parse("{title: X}\n[C]a\n{transpose: 2}\n[C]b [F#m/C#]c\n")
    chords = [line.chords for line in song.sections[0].lines]
    assert chords == [[(0, "C")], [(0, "D"), (2, "G#m/D#")]]


def test_it_warns_about_misspelled_and_unknown_directives_with_line_numbers():
    song = chordpro.parse("{title: X}\n{start_verse}\n{zoom-ipad}\nStray { brace\n{unclosed\n")
    messages = [str(w) for w in song.warnings]
    assert "line 2: unknown directive {start_verse} (did you mean {start_of_verse}?)" in messages
    assert "line 3: unknown directive {zoom-ipad}" in messages
    assert any(m.startswith("line 5: unclosed brace") for m in messages)
    assert song.unknown_directives == [(2, "start_verse"), (3, "zoom-ipad")]
    texts = [line.text for line in song.sections[0].lines]
    assert texts == ["Stray { brace", "{unclosed"]


def test_it_survives_unclosed_environments_and_brackets():
    song = chordpro.parse("{title: X}\n{soc}\n[C]la [G\n")
    assert song.sections[0].kind == "chorus"
    assert song.sections[0].lines[0].text == "la [G"
    messages = " ".join(str(w) for w in song.warnings)
    assert "never closed" in messages and "unclosed '['" in messages


def test_it_falls_back_to_the_file_name_for_a_missing_title():
    song = chordpro.parse("[C]la la\n", "folder/my_great-song.cho")
    assert song.title == "my great song"
    assert "no {title}" in str(song.warnings[0])


def test_it_decodes_bom_latin1_and_crlf():
    utf8_bom = "\ufeff{title: Café}\r\n[C]olé\r\n".encode("utf-8")
    song = chordpro.parse_bytes(utf8_bom)
    assert song.title == "Café" and song.sections[0].lines[0].text == "olé"
    assert song.warnings == []
    latin = "{title: Señor}\r[D]niño\r".encode("latin-1")
    song = chordpro.parse_bytes(latin)
    assert song.title == "Señor" and song.sections[0].lines[0].text == "niño"
    assert "decoded as cp1252" in str(song.warnings[0])


def test_it_strips_chords_for_lyrics_text_and_lists_chords_used():
    song = chordpro.parse("{title: X}\n{soc}\n[C]Praise [G]Him\n{eoc}\n{chorus}\n{sot}\ntab\n{eot}\n")
    assert song.lyrics_text() == "Praise Him"
    assert song.chords_used == ["C", "G"]


def test_transpose_keeps_quality_bass_and_flat_spelling():
    assert transpose_chord("F#m7/C#", 2) == "G#m7/D#"
    assert transpose_chord("Bb", 2) == "C"
    assert transpose_chord("Eb", 1) == "E"
    assert transpose_chord("Ab", 1) == "A"
    assert transpose_chord("Db", -1) == "C"
    assert transpose_chord("Bb", 1) == "B"
    assert transpose_chord("Gb", 1) == "G"
    assert transpose_chord("N.C.", 3) == "N.C."
    assert transpose_chord("C", 12) == "C"


@hsettings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("{}[]:#\n\r abcCG/#_-=\"*") + ["\ufeff", "é", "主"])))
def test_it_never_raises_on_directive_like_text(text):
    song = chordpro.parse(text)
    assert song.title


@hsettings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_it_never_raises_on_arbitrary_bytes(data):
    song = chordpro.parse_bytes(data, "x.cho")
    assert isinstance(song.lyrics_text(), str)


def test_warnings_point_at_real_lines():
    from ingestion.chordpro import parse_bytes

    song = parse_bytes(b"{title: T}\n[C]ok\n{start_of_verse}\nna\xefve\nend\n", "t.cho")
    assert [str(w) for w in song.warnings] == [
        "line 4: not UTF-8; decoded as cp1252",
        "line 3: {start_of_verse} is never closed",
    ]
    untitled = parse_bytes(b"[C]la\n", "my_song.cho")
    assert [str(w) for w in untitled.warnings] == [
        "no {title}; using 'my song' from the file name"]
