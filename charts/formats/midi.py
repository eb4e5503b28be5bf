"""notes.mid (Rock Band / Clone Hero MIDI) → `ChartData`, with `mido`. Never raises.

Tracks are found by name (`PART GUITAR`, `PART BASS`, `PART RHYTHM`, `PART KEYS`,
`PART DRUMS`, `PART VOCALS`, GHL parts, `EVENTS`); the tempo map is every `set_tempo` in any
track. Gems per difficulty: Easy 60–64, Medium 72–76, Hard 84–88, Expert 96–100; drums add the
Expert+ kick (95) and keys/drums use the same lanes (GHL parts use 58–64 … 94–100, six frets
plus open). A chord counts once; note 116 is a star-power phrase; vocals count notes 36–84.
"""

from __future__ import annotations

import io

import mido

from .common import ChartData, TempoMap

PARTS = {"PART GUITAR": "guitar", "T1 GEMS": "guitar", "PART GUITAR COOP": "guitarcoop",
         "PART BASS": "bass", "PART RHYTHM": "rhythm", "PART KEYS": "keys",
         "PART DRUMS": "drums", "PART DRUM": "drums", "PART VOCALS": "vocals",
         "PART GUITAR GHL": "guitarghl", "PART BASS GHL": "bassghl",
         "PART RHYTHM GHL": "rhythmghl", "PART GUITAR COOP GHL": "guitarcoopghl"}
FIVE_LANE = {"easy": range(60, 65), "medium": range(72, 77), "hard": range(84, 89),
             "expert": range(96, 101)}
DRUMS = {"easy": range(60, 65), "medium": range(72, 77), "hard": range(84, 89),
         "expert": range(95, 101)}
SIX_FRET = {"easy": range(58, 65), "medium": range(70, 77), "hard": range(82, 89),
            "expert": range(94, 101)}
STAR_POWER = 116
MAX_BYTES = 32 * 2**20


def parse(data: bytes) -> ChartData:
    result = ChartData(format="mid")
    try:
        _parse(data, result)
    except Exception as exc:  # mido raises many types on broken files; all become an issue
        result.issues.append(f"midiParseError: {exc.__class__.__name__}")
    return result


def _lanes(instrument: str) -> dict[str, range]:
    if instrument == "drums":
        return DRUMS
    if instrument.endswith("ghl"):
        return SIX_FRET
    return FIVE_LANE


def _parse(data: bytes, result: ChartData) -> None:
    if len(data) > MAX_BYTES:
        result.issues.append("chartTooLarge")
        return
    midi = mido.MidiFile(file=io.BytesIO(data), clip=True)
    if midi.type == 2:
        result.issues.append("midiType2")
    result.resolution = midi.ticks_per_beat or 480
    tempos, end_tick = [], 0
    for track in midi.tracks:
        tick, name = 0, None
        for message in track:
            tick += message.time
            if message.type == "set_tempo" and message.tempo > 0:
                tempos.append((tick, 60_000_000 / message.tempo))
            elif message.type == "time_signature":
                result.time_signatures.append((tick, message.numerator))
            elif message.type == "track_name" and name is None:
                name = message.name.strip()
        end_tick = max(end_tick, tick)
    result.tempo_map = sorted(set(tempos)) or [(0, 120.0)]
    tempo = TempoMap(result.resolution, result.tempo_map)

    last_note = 0
    for track in midi.tracks:
        name = next((m.name.strip() for m in track if m.type == "track_name"), "")
        if name == "EVENTS":
            _events(track, result)
            continue
        instrument = PARTS.get(name.upper())
        if instrument is None:
            continue
        ticks: dict[str, set] = {d: set() for d in FIVE_LANE}
        phrases, tick = 0, 0
        lanes = _lanes(instrument)
        for message in track:
            tick += message.time
            if message.type != "note_on" or message.velocity == 0:
                if message.type == "lyrics" or (message.type == "text" and instrument == "vocals"
                                                and not message.text.startswith("[")):
                    result.lyrics += 1
                continue
            if message.note == STAR_POWER:
                phrases += 1
                continue
            if instrument == "vocals":
                if 36 <= message.note <= 84:
                    ticks["expert"].add(tick)
                    last_note = max(last_note, tick)
                continue
            for difficulty, lane in lanes.items():
                if message.note in lane:
                    ticks[difficulty].add(tick)
                    last_note = max(last_note, tick)
                    break
        for difficulty, found in ticks.items():
            result.add_count(result.notes, instrument, difficulty, len(found))
        if instrument != "vocals" and any(ticks.values()):
            result.empty += [f"{instrument}/{d}" for d, found in ticks.items() if not found]
        if phrases:  # MIDI star power is shared by every difficulty of the part
            for difficulty in result.notes.get(instrument, {}):
                result.add_count(result.star_power, instrument, difficulty, phrases)
    end = last_note or end_tick
    result.length_ms = int(round(tempo.ms(end))) if end else 0


def _events(track, result: ChartData) -> None:
    for message in track:
        if message.type in ("text", "marker"):
            text = message.text.strip().strip("[]")
            if text.startswith("section ") or text.startswith("prc_"):
                result.sections.append(text.split(" ", 1)[-1] if " " in text else text[4:])
