"""notes.chart (Moonscraper/Feedback text format) → `ChartData`. Never raises on any bytes.

Sections: `[Song]` (Resolution, Offset, Name/Artist/Charter/Year with their quirks, e.g. a year
written `", 2019"`), `[SyncTrack]` (`B` tempo ×1000, `TS` time signature, `A` anchors, ignored
for timing), `[Events]` (sections, lyrics), and every instrument × difficulty track. A note
(`N`) counts once per tick (a chord is one note, as in scan-chart); `N 5`/`N 6` on five-fret
tracks and the cymbal/accent/ghost markers on drums are flags, not notes; `S 2` is a
star-power phrase. The chart length runs to the end of the last note's sustain (among the
last 256 notes of a track: editors write notes in tick order).
"""

from __future__ import annotations

import re

from .common import ChartData, TempoMap

DIFFICULTY_PREFIX = {"Easy": "easy", "Medium": "medium", "Hard": "hard", "Expert": "expert"}
TRACKS = {"Single": "guitar", "DoubleGuitar": "guitarcoop", "DoubleBass": "bass",
          "DoubleRhythm": "rhythm", "Drums": "drums", "Keyboard": "keys",
          "GHLGuitar": "guitarghl", "GHLBass": "bassghl", "GHLRhythm": "rhythmghl",
          "GHLCoop": "guitarcoopghl"}
FLAGS = {"five": {5, 6}, "ghl": {5, 6}, "drums": set(range(34, 39)) | set(range(40, 45)) |
         {66, 67, 68, 109}}
FLAG_TEXT = {kind: {str(n) for n in numbers} for kind, numbers in FLAGS.items()}
_LINE = re.compile(r"^\s*(\d+)\s*=\s*([A-Za-z]+)\s*(.*?)\s*$")
MAX_BYTES = 32 * 2**20


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16", "replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def _track(name: str) -> tuple[str, str] | None:
    for prefix, difficulty in DIFFICULTY_PREFIX.items():
        if name.startswith(prefix) and name[len(prefix):] in TRACKS:
            return TRACKS[name[len(prefix):]], difficulty
    return None


def _song_value(raw: str) -> str:
    value = raw.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return value


def clean_year(value: str) -> str:
    """`", 2019"` (the old editors' quirk) → `2019`."""
    return value.lstrip(", ").strip()


def parse(data: bytes) -> ChartData:
    result = ChartData(format="chart")
    try:
        _parse(data, result)
    except Exception as exc:  # the contract: a report, never an exception, whatever the bytes
        result.issues.append(f"chartParseError: {exc.__class__.__name__}")
    return result


# Every pattern starts at a line's "\n": the regex engine then jumps from newline to newline
# instead of trying a match at each character, which was most of the parse time.
_SECTION = re.compile(r"\n[ \t]*\[([^\]\r\n]+)\][ \t]*\r?(?=\n|$)")
_NOTE = re.compile(r"\n[ \t]*(\d+)[ \t]*=[ \t]*N[ \t]+(\d+)(?:[ \t]+(\d+))?")
# star power: search for the rare "S 2" (a pattern that starts with a literal is found by a
# fast scan), then check that its line is `tick = S 2 ...`
_PHRASE = re.compile(r"S[ \t]+2\b")
_EVENT_HEAD = re.compile(r"[ \t]*\d+[ \t]*=[ \t]*")
# the tick of each gem, flags (see FLAGS) left out: a set of these is the note count
_GEM_TICK = {kind: re.compile(r"\n[ \t]*(\d+)[ \t]*=[ \t]*N[ \t]+(?!(?:%s)\b)\d+"
                              % "|".join(str(n) for n in sorted(numbers)))
             for kind, numbers in FLAGS.items()}
TAIL_CHARS = 4096  # the end of a track's text (about 250 notes), where its last notes are


def _phrases(body: str) -> int:
    return sum(1 for m in _PHRASE.finditer(body)
               if _EVENT_HEAD.fullmatch(body, body.rfind("\n", 0, m.start()) + 1, m.start()))


def _sections(text: str) -> dict[str, str]:
    """Section name → its body text (a later duplicate section is appended to the first)."""
    text = "\n" + text
    found = list(_SECTION.finditer(text))
    sections: dict[str, str] = {}
    for i, match in enumerate(found):
        end = found[i + 1].start() if i + 1 < len(found) else len(text)
        name = match.group(1).strip()
        sections[name] = sections.get(name, "") + text[match.end():end]
    return sections


def _lines(body: str) -> list[str]:
    return [line.strip() for line in body.splitlines() if line.strip() not in ("", "{", "}")]


def _parse(data: bytes, result: ChartData) -> None:
    if len(data) > MAX_BYTES:
        result.issues.append("chartTooLarge")
        return
    sections = _sections(_decode(data))
    if not sections:
        result.issues.append("noSections")
        return
    for line in _lines(sections.get("Song", "")):
        key, _, value = line.partition("=")
        result.metadata[key.strip()] = _song_value(value)
    if "Year" in result.metadata:
        result.metadata["Year"] = clean_year(result.metadata["Year"])
    try:
        result.resolution = int(float(result.metadata.get("Resolution", "192")))
    except (ValueError, OverflowError):
        result.issues.append("badResolution")
    if result.resolution <= 0 or result.resolution > 100000:
        result.issues.append("badResolution")
        result.resolution = 192

    tempos = []
    for line in _lines(sections.get("SyncTrack", "")):
        match = _LINE.match(line)
        if not match:
            continue
        tick, kind, args = int(match.group(1)), match.group(2), match.group(3).split()
        if kind == "B" and args and args[0].isdigit() and int(args[0]) > 0:
            tempos.append((tick, int(args[0]) / 1000.0))
        elif kind == "TS" and args and args[0].isdigit():
            result.time_signatures.append((tick, int(args[0])))
    result.tempo_map = sorted(tempos) or [(0, 120.0)]
    tempo = TempoMap(result.resolution, result.tempo_map)

    last_tick = 0
    for line in _lines(sections.get("Events", "")):
        match = _LINE.match(line)
        if not match or match.group(2) != "E":
            continue
        event = _song_value(match.group(3))
        if event.startswith("section "):
            result.sections.append(event[8:].strip())
        elif event.startswith("lyric "):
            result.lyrics += 1
        last_tick = max(last_tick, int(match.group(1)))

    note_end = 0
    for name, body in sections.items():
        track = _track(name)
        if track is None:
            continue
        instrument, difficulty = track
        kind = "drums" if instrument == "drums" else "ghl" if instrument.endswith("ghl") else "five"
        # the patterns run in C; no Python work per note
        ticks = set(_GEM_TICK[kind].findall(body))
        if ticks:  # editors write notes in tick order: the end is among the last ones
            tail = body[max(0, body.rfind("\n", 0, max(0, len(body) - TAIL_CHARS))):]
            note_end = max(note_end, max((int(t) + int(length or 0)
                                          for t, fret, length in _NOTE.findall(tail)
                                          if fret not in FLAG_TEXT[kind]), default=0))
        result.add_count(result.notes, instrument, difficulty, len(ticks))
        result.add_count(result.star_power, instrument, difficulty,
                         _phrases(body))
        if not ticks:
            result.empty.append(f"{instrument}/{difficulty}")
    end = note_end or last_tick
    result.length_ms = int(round(tempo.ms(end))) if end else 0
