"""Library health: issue codes for one chart folder, in the spirit of scan-chart.

`check(files, ini_values, ini_issues, data)` is pure: it looks at the folder's file names, the
song.ini values and the parsed chart, and returns sorted codes. `duplicateChart` needs the whole
library and is added by `sync.mark_duplicates()`.
"""

from __future__ import annotations

from .formats.common import DIFF_KEYS, ChartData
from .formats.ini import strip_tags

AUDIO_EXTENSIONS = (".ogg", ".mp3", ".opus", ".wav")
OTHER_AUDIO_EXTENSIONS = (".flac", ".m4a", ".aac", ".wma", ".aiff", ".aif", ".webm", ".mp4a")
AUDIO_STEMS = {"song", "guitar", "bass", "rhythm", "keys", "vocals", "vocals_1", "vocals_2",
               "drums", "drums_1", "drums_2", "drums_3", "drums_4", "crowd", "preview"}
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
VIDEO_EXTENSIONS = (".mp4", ".webm", ".avi", ".mkv", ".vp8", ".ogv")
SONG_LENGTH_TOLERANCE_MS = 5000

CODES = {
    "noChart": "no notes.chart or notes.mid",
    "noAudio": "no audio file Clone Hero can play",
    "badIniEncoding": "song.ini is not valid UTF-8/UTF-16/cp1252",
    "missingName": "song.ini has no name",
    "missingArtist": "song.ini has no artist",
    "missingCharter": "song.ini has no charter (or frets)",
    "diffWithoutNotes": "a diff_* says a part exists but the chart has no notes there",
    "notesWithoutDiff": "the chart has notes for a part whose diff_* is missing or -1",
    "emptyDifficulty": "a difficulty section holds no notes",
    "badSongLength": "song_length disagrees with the chart by more than 5 s",
    "unknownAudioFormat": "an audio file in a format Clone Hero cannot play",
    "duplicateChart": "the same chart file is in another folder",
    "noIni": "no song.ini",
}


def stem_and_ext(name: str) -> tuple[str, str]:
    lower = name.lower()
    stem, dot, ext = lower.rpartition(".")
    return (stem, "." + ext) if dot else (lower, "")


def audio_files(names) -> list[str]:
    return [n for n in names if stem_and_ext(n)[0] in AUDIO_STEMS
            and stem_and_ext(n)[1] in AUDIO_EXTENSIONS]


def check(files: list[str], ini_values: dict | None, ini_issues: list[str],
          data: ChartData | None) -> list[str]:
    codes = set()
    stems = [stem_and_ext(n) for n in files]
    if data is None:
        codes.add("noChart")
    if not audio_files(files):
        codes.add("noAudio")
    if any(stem in AUDIO_STEMS and ext in OTHER_AUDIO_EXTENSIONS for stem, ext in stems):
        codes.add("unknownAudioFormat")
    if ini_values is None:
        codes.add("noIni")
    else:
        if "badIniEncoding" in ini_issues:
            codes.add("badIniEncoding")
        if not strip_tags(ini_values.get("name", "")):
            codes.add("missingName")
        if not strip_tags(ini_values.get("artist", "")):
            codes.add("missingArtist")
        if not strip_tags(ini_values.get("charter", "") or ini_values.get("frets", "")):
            codes.add("missingCharter")
    if data is not None:
        if data.empty:
            codes.add("emptyDifficulty")
        if ini_values is not None:
            codes |= _diff_codes(ini_values, data)
            length = _int(ini_values.get("song_length"))
            if length and length > 0 and data.length_ms and \
                    abs(length - data.length_ms) > SONG_LENGTH_TOLERANCE_MS:
                codes.add("badSongLength")
    return sorted(codes)


def _diff_codes(values: dict, data: ChartData) -> set[str]:
    codes = set()
    for instrument, key in DIFF_KEYS.items():
        stated = _int(values.get(key))
        has_notes = any(data.notes.get(instrument, {}).values())
        if stated is not None and stated >= 0 and not has_notes and key in values:
            codes.add("diffWithoutNotes")
        if has_notes and (stated is None or stated < 0):
            codes.add("notesWithoutDiff")
    return codes


def _int(raw) -> int | None:
    try:
        return int(str(raw).strip())
    except (TypeError, ValueError):
        return None
