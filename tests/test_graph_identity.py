"""graph.identity: the normaliser, the artist rule (Python and its SQL mirror), track parsing."""

import pytest

from graph.identity import (camelot, camelot_compatible, is_identified_title, is_valid_artist,
                            normalise, parse_track, split_artists, track_key)

INVALID = [None, "", "   ", "?", "??", "ID", "id", "Unknown", "UNKNOWN", "Unknown Artist",
           "unknown artist", "Various Artists", "Various", "VA", "va", "VA @ Ultra 2019",
           "Unknown Artist - Track 3", "Various Artists: Summer Hits", "ID - ID", "? @ club",
           "--", "Unknown/Unknown", "VA, Artist"]
VALID = ["Deadmau5", "Unknown Mortal Orchestra", "Idris Elba", "VA Soundsystem", "Vanilla",
         "Variousx", "Röyksopp", "Above & Beyond", "2Pac", "IDentity", "Unknowns"]


@pytest.mark.parametrize("name", INVALID)
def test_it_rejects_unknown_artists(name):
    assert not is_valid_artist(name)


@pytest.mark.parametrize("name", VALID)
def test_it_accepts_real_artists(name):
    assert is_valid_artist(name)


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_sql_predicate_gives_the_same_answer_as_python():
    from django.db import connection

    names = INVALID + VALID
    with connection.cursor() as cursor:
        cursor.execute("SELECT n, graph_valid_artist(n) FROM unnest(%s::text[]) WITH ORDINALITY "
                       "AS x(n, i) ORDER BY i", [names])
        answers = [row[1] for row in cursor.fetchall()]
    assert answers == [is_valid_artist(n) for n in names]


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_sql_title_rule_mirrors_python():
    from django.db import connection

    titles = ["Strobe", "?", "ID", "id (Remix)", "Untitled", "unknown", "Untitled Track",
              "Identity", "Unknown Pleasures", "", "Track 3"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT graph_identified_title(n) FROM unnest(%s::text[]) WITH ORDINALITY "
                       "AS x(n, i) ORDER BY i", [titles])
        answers = [row[0] for row in cursor.fetchall()]
    assert answers == [is_identified_title(t) for t in titles]


def test_normalise_ignores_case_diacritics_and_spacing():
    assert normalise("  Röyksopp ") == normalise("ROYKSOPP") == "royksopp"
    assert normalise("Beyoncé’s  Song") == "beyonce's song"
    assert normalise("Straße") == "strasse"
    assert normalise(None) == ""


def test_display_keeps_the_original_spelling():
    track = parse_track("Röyksopp - Eple")
    assert track.artists == [("Röyksopp", "primary")] and track.title == "Eple"


def test_collaborations_split_into_artists_with_roles():
    assert split_artists("A & B feat. C") == [("A", "primary"), ("B", "primary"),
                                               ("C", "featured")]
    assert split_artists("A and B vs. C ft. D") == [("A", "primary"), ("B", "primary"),
                                                     ("C", "primary"), ("D", "featured")]


def test_label_block_and_original_mix_are_not_part_of_the_title():
    track = parse_track("Deadmau5 - Strobe (Original Mix) [mau5trap - MAU5001]")
    assert (track.title, track.label, track.catalog) == ("Strobe", "mau5trap", "MAU5001")


def test_remixes_are_different_tracks_with_a_remixer():
    remix = parse_track("Deadmau5 - Strobe (Eric Prydz Remix)")
    original = parse_track("deadmau5 - strobe")
    assert remix.title == "Strobe (Eric Prydz Remix)" and remix.version == "Eric Prydz Remix"
    assert ("Eric Prydz", "remixer") in remix.artists
    assert track_key(remix.primary_artists, remix.title) != \
        track_key(original.primary_artists, original.title)


def test_the_same_track_written_differently_has_one_key():
    a = parse_track("Chase & Status - Blind Faith")
    b = parse_track("STATUS and CHASE - blind faith (Original Mix)")
    assert track_key(a.primary_artists, a.title) == track_key(b.primary_artists, b.title)


@pytest.mark.parametrize("line", ["? - ?", "ID - ID", "Unknown Artist - Track 3", "Artist - ID",
                                  "Artist - Untitled", "VA @ Club - Song", "Just A Title"])
def test_lines_without_a_valid_artist_or_title_are_unidentified(line):
    assert not parse_track(line).identified


def test_featured_artist_in_title_parentheses_moves_to_artists():
    track = parse_track("Eric Prydz - Pjanoo (feat. Rob Swire)")
    assert track.title == "Pjanoo" and ("Rob Swire", "featured") in track.artists


@pytest.mark.parametrize("key,code", [("A Minor", "8A"), ("Am", "8A"), ("C", "8B"),
                                      ("F# minor", "11A"), ("Bb", "6B"), ("8a", "8A"), ("x", "")])
def test_keys_map_to_camelot(key, code):
    assert camelot(key) == code


def test_camelot_compatibility():
    assert camelot_compatible("8A", "8A") and camelot_compatible("8A", "9A")
    assert camelot_compatible("12B", "1B") and camelot_compatible("8A", "8B")
    assert not camelot_compatible("8A", "9B") and not camelot_compatible("8A", "10A")
    assert not camelot_compatible("", "8A")
