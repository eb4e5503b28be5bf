"""song.ini: a forgiving reader and a writer that changes only what it was asked to.

Reading accepts any section case (`[song]`, `[Song]`), UTF-8 with or without BOM, UTF-16 with
BOM, cp1252 as the last resort; CRLF or LF; `key = value` or `key=value`; empty values; `;` and
`#` comments; duplicate keys (the last wins); junk lines (kept, reported). Keys are compared
lower-case. `IniDocument.render()` gives back the original bytes untouched; `set()` edits the
line that holds the key (or appends one to the section), so unknown keys, key order, comments,
encoding and line endings survive an edit.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field

_SECTION = re.compile(r"^\s*\[\s*([^\]]*?)\s*\]\s*$")
_PAIR = re.compile(r"^\s*([^=;#\[]+?)\s*=\s?(.*?)\s*$")
_TAG = re.compile(r"</?(?:color|b|i|u|s|size|material|quad|sub|sup|mark|align|alpha|br|"
                  r"font|lowercase|uppercase|smallcaps|noparse|nobr|cspace|indent|line-height|"
                  r"margin|pos|rotate|space|voffset|width|link|sprite)(?:=[^>]*)?\s*/?>",
                  re.IGNORECASE)

INT_FIELDS = {"year", "song_length", "preview_start_time", "preview_end_time",
              "video_start_time", "video_end_time", "delay", "playlist_track", "album_track",
              "track", "sysex_slider", "sysex_open_bass", "hopo_frequency", "multiplier_note",
              "chart_offset", "five_lane_drums_count"}
BOOL_FIELDS = {"pro_drums", "five_lane_drums", "modchart", "eighthnote_hopo",
               "sustain_cutoff_threshold_enabled", "end_events", "lyrics", "drum_fallback_blue"}
TEXT_FIELDS = {"name", "artist", "album", "genre", "charter", "frets", "icon",
               "loading_phrase", "playlist", "sub_playlist", "album_art", "video"}


def strip_tags(text: str) -> str:
    """Clone Hero rich-text tags removed, for display and search (the stored value stays raw)."""
    return _TAG.sub("", text or "").strip()


def decode(data: bytes) -> tuple[str, str, list[str]]:
    """(text, encoding used, issues)."""
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig", []
        except UnicodeDecodeError:
            return data[3:].decode("utf-8", "replace"), "utf-8-sig", ["badIniEncoding"]
    for bom, name in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            try:
                return data[2:].decode(name), name, []
            except UnicodeDecodeError:
                return data[2:].decode(name, "replace"), name, ["badIniEncoding"]
    try:
        return data.decode("utf-8"), "utf-8", []
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252", []
    except UnicodeDecodeError:  # cp1252 leaves five bytes undefined
        return data.decode("latin-1"), "latin-1", ["badIniEncoding"]


def _bom(encoding: str) -> bytes:
    return {"utf-8-sig": codecs.BOM_UTF8, "utf-16-le": codecs.BOM_UTF16_LE,
            "utf-16-be": codecs.BOM_UTF16_BE}.get(encoding, b"")


@dataclass
class Line:
    text: str  # without its line ending
    ending: str  # "\r\n", "\n", "\r" or "" (last line)
    key: str | None = None  # lower-case key when the line is `key = value` in the song section


@dataclass
class IniDocument:
    lines: list[Line]
    encoding: str
    values: dict[str, str] = field(default_factory=dict)  # lower-case key → raw value
    issues: list[str] = field(default_factory=list)
    section_found: bool = False
    newline: str = "\r\n"

    def get(self, key: str, default: str = "") -> str:
        return self.values.get(key.lower(), default)

    def set(self, key: str, value: str) -> None:
        """Edit the (last) line holding `key`, or add one at the end of the song section."""
        key_l = key.lower()
        value = str(value).replace("\r", " ").replace("\n", " ")
        index = next((i for i in range(len(self.lines) - 1, -1, -1)
                      if self.lines[i].key == key_l), None)
        if index is not None:
            old = self.lines[index].text
            name, sep, _ = old.partition("=")
            spacing = " " if sep and old[len(name) + 1:len(name) + 2] == " " else ""
            self.lines[index].text = f"{name}={spacing}{value}"
        else:
            self._append(f"{key} = {value}", key_l)
        self.values[key_l] = value

    def remove(self, key: str) -> None:
        key_l = key.lower()
        self.lines = [line for line in self.lines if line.key != key_l]
        self.values.pop(key_l, None)

    def _append(self, text: str, key: str) -> None:
        if not self.section_found:
            if self.lines and self.lines[-1].ending == "" and self.lines[-1].text:
                self.lines[-1].ending = self.newline
            self.lines.append(Line("[song]", self.newline))
            self.section_found = True
            self.lines.append(Line(text, self.newline, key))
            return
        last = max(i for i, line in enumerate(self.lines) if line.key is not None
                   or _SECTION.match(line.text) and _is_song(line.text))
        if self.lines[last].ending == "":
            self.lines[last].ending = self.newline
        self.lines.insert(last + 1, Line(text, self.newline, key))

    def render(self) -> bytes:
        text = "".join(line.text + line.ending for line in self.lines)
        encoding = self.encoding
        if encoding in ("cp1252", "latin-1"):
            try:
                return text.encode(encoding)
            except UnicodeEncodeError:
                encoding = "utf-8"  # a new character the old encoding cannot hold
        return _bom(encoding) + text.encode(encoding.replace("-sig", ""))


def _is_song(header: str) -> bool:
    match = _SECTION.match(header)
    return bool(match) and match.group(1).strip().lower() == "song"


def parse(data: bytes) -> IniDocument:
    text, encoding, issues = decode(data)
    lines: list[Line] = []
    for piece in re.split(r"(\r\n|\n|\r)", text):
        if piece in ("\r\n", "\n", "\r"):
            if lines:
                lines[-1].ending = piece
            else:
                lines.append(Line("", piece))
            continue
        if lines and lines[-1].ending == "":
            lines[-1].text += piece
        else:
            lines.append(Line(piece, ""))
    if lines and lines[-1].text == "" and lines[-1].ending == "":
        lines.pop()
    endings = [line.ending for line in lines if line.ending]
    doc = IniDocument(lines, encoding, issues=list(issues),
                      newline=max(set(endings), key=endings.count) if endings else "\r\n")
    in_song = False
    for line in lines:
        stripped = line.text.strip().lstrip("\ufeff")
        if not stripped or stripped[0] in ";#":
            continue
        section = _SECTION.match(stripped)
        if section:
            in_song = section.group(1).strip().lower() == "song"
            doc.section_found = doc.section_found or in_song
            continue
        pair = _PAIR.match(stripped)
        if pair and in_song:
            key = pair.group(1).strip().lower()
            line.key = key
            doc.values[key] = pair.group(2)
        elif not pair and "junkLines" not in doc.issues:
            doc.issues.append("junkLines")
    if not doc.section_found:
        doc.issues.append("noSongSection")
    return doc


def typed(values: dict[str, str]) -> tuple[dict, dict]:
    """(known fields typed, unknown keys as strings). Bad numbers become None, not errors."""
    known, other = {}, {}
    for key, raw in values.items():
        if key in INT_FIELDS or key.startswith("diff_"):
            known[key] = _int(raw)
        elif key in BOOL_FIELDS:
            known[key] = raw.strip().lower() in ("1", "true", "yes", "on")
        elif key in TEXT_FIELDS:
            known[key] = raw.strip()
        else:
            other[key] = raw
    return known, other


def _int(raw: str) -> int | None:
    match = re.match(r"^\s*(-?\d+)", raw or "")
    if not match:
        return None
    value = int(match.group(1))
    return value if -2**31 <= value < 2**31 else None


def generate(fields: dict[str, object]) -> bytes:
    """A fresh song.ini (CRLF, UTF-8) for a chart that arrived without one."""
    body = "[song]\r\n" + "".join(f"{k} = {v}\r\n" for k, v in fields.items() if v not in
                                  (None, ""))
    return body.encode("utf-8")
