"""Chord transposition by semitones, keeping the chord's quality and bass note."""

import re

SHARPS = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
FLATS = ["C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B"]
_NOTE_INDEX = {name: i for i, name in enumerate(SHARPS)} | {
    name: i for i, name in enumerate(FLATS)
} | {"Cb": 11, "Fb": 4, "E#": 5, "B#": 0}

_CHORD = re.compile(r"^(?P<root>[A-G][#b]?)(?P<quality>[^/]*)(?:/(?P<bass>[A-G][#b]?))?$")


def transpose_note(note: str, semitones: int, prefer_flats: bool = False) -> str:
    index = _NOTE_INDEX.get(note)
    if index is None:
        return note
    names = FLATS if prefer_flats else SHARPS
    return names[(index + semitones) % 12]


def transpose_chord(chord: str, semitones: int) -> str:
    """`transpose_chord("F#m7/C#", 2) == "G#m7/D#"`; text that is not a chord comes back as is."""
    if semitones % 12 == 0:
        return chord
    match = _CHORD.match(chord.strip())
    if not match:
        return chord
    root, quality, bass = match["root"], match["quality"], match["bass"]
    prefer_flats = "b" in root[1:] or (bass is not None and "b" in bass[1:])
    result = transpose_note(root, semitones, prefer_flats) + quality
    if bass:
        result += "/" + transpose_note(bass, semitones, prefer_flats)
    return result


def transpose_key(key: str, semitones: int) -> str:
    """Keys are chords as far as naming goes ("Bb", "F#m")."""
    return transpose_chord(key, semitones) if key else key
