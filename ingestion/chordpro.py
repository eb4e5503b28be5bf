"""A tolerant ChordPro 6 parser.

Real song collections are messy (`{start_verse}`, `{zoom-ipad}`, stray braces inside lyrics),
so nothing here raises on input: anything odd becomes a `ParseWarning` with its line number
and the parser carries on. `parse(text)` and `parse_bytes(data)` are the entry points.
"""

from __future__ import annotations

import copy
import difflib
import re
from dataclasses import dataclass, field

from .transpose import transpose_chord

META_ALIASES = {"t": "title", "st": "subtitle"}
META_DIRECTIVES = {
    "title", "subtitle", "artist", "composer", "lyricist", "arranger", "album", "year",
    "key", "tempo", "time", "capo", "duration", "copyright", "sorttitle", "tag",
}
COMMENT_DIRECTIVES = {
    "comment": "comment", "c": "comment",
    "comment_italic": "comment_italic", "ci": "comment_italic",
    "comment_box": "comment_box", "cb": "comment_box",
    "highlight": "highlight",
}
SHORT_ENVIRONMENTS = {"c": "chorus", "v": "verse", "b": "bridge", "t": "tab", "g": "grid"}
ENVIRONMENTS = {"chorus", "verse", "bridge", "tab", "grid", "abc", "ly", "svg", "textblock"}
OTHER_DIRECTIVES = {
    "chorus", "define", "chord", "new_page", "np", "new_physical_page", "npp", "column_break",
    "colb", "columns", "col", "transpose", "meta", "image", "pagetype", "diagrams", "grid",
    "no_grid", "ng", "titles", "new_song", "ns",
    "textfont", "textsize", "textcolour", "chordfont", "chordsize", "chordcolour",
    "tabfont", "tabsize", "tabcolour",
}
KNOWN_DIRECTIVES = (
    META_DIRECTIVES | set(META_ALIASES) | set(COMMENT_DIRECTIVES) | OTHER_DIRECTIVES
    | {f"start_of_{e}" for e in ENVIRONMENTS} | {f"end_of_{e}" for e in ENVIRONMENTS}
    | {f"so{s}" for s in SHORT_ENVIRONMENTS} | {f"eo{s}" for s in SHORT_ENVIRONMENTS}
)
VERBATIM_KINDS = {"tab", "grid", "abc", "ly", "svg", "textblock"}

_DIRECTIVE = re.compile(r"^\{\s*(?P<name>[A-Za-z_][\w\-]*)\s*(?:[:\s]\s*(?P<value>.*?))?\s*\}$", re.S)
_LABEL_ATTR = re.compile(r'label\s*=\s*"(?P<label>[^"]*)"')


@dataclass
class ParseWarning:
    line: int
    message: str

    def __str__(self):
        # line 0 marks a warning about the whole file (no title): no line to point at
        return f"line {self.line}: {self.message}" if self.line else self.message


@dataclass
class Line:
    """One printed line. `chords` are (character offset into `text`, chord name) pairs."""

    kind: str  # lyrics | empty | comment | comment_italic | comment_box | highlight | verbatim
    text: str = ""
    chords: list[tuple[int, str]] = field(default_factory=list)

    @property
    def has_chords(self) -> bool:
        return bool(self.chords)


@dataclass
class Section:
    """A run of lines: an environment (chorus, verse, ...), plain body text, or a page break."""

    kind: str  # body | chorus | verse | bridge | tab | grid | ... | new_page
    label: str = ""
    lines: list[Line] = field(default_factory=list)
    recalled: bool = False


@dataclass
class ParsedSong:
    title: str = ""
    meta: dict[str, list[str]] = field(default_factory=dict)
    sections: list[Section] = field(default_factory=list)
    chord_definitions: dict[str, str] = field(default_factory=dict)
    custom: dict[str, str] = field(default_factory=dict)
    unknown_directives: list[tuple[int, str]] = field(default_factory=list)
    warnings: list[ParseWarning] = field(default_factory=list)
    encoding: str = "utf-8"

    def first(self, name: str, default: str = "") -> str:
        values = self.meta.get(name)
        return values[0] if values else default

    @property
    def subtitle(self) -> str:
        return self.first("subtitle")

    @property
    def artist(self) -> str:
        return self.first("artist")

    @property
    def key(self) -> str:
        return self.first("key")

    @property
    def chords_used(self) -> list[str]:
        seen: dict[str, None] = {}
        for section in self.sections:
            for line in section.lines:
                for _, chord in line.chords:
                    seen.setdefault(chord, None)
        return list(seen)

    def lyrics_text(self) -> str:
        """Plain lyric text with chords stripped, for full-text search."""
        out = []
        for section in self.sections:
            if section.recalled or section.kind in VERBATIM_KINDS:
                continue
            out.extend(line.text for line in section.lines if line.kind == "lyrics" and line.text)
        return "\n".join(out)


def decode(data: bytes) -> tuple[str, str]:
    """Bytes to text: UTF-8 (BOM or not), else Latin-1 (Windows-1252); line ends to LF."""
    if data.startswith(b"\xef\xbb\xbf"):
        data, encoding = data[3:], "utf-8-sig"
    else:
        encoding = "utf-8"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text, encoding = data.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            text, encoding = data.decode("latin-1"), "latin-1"
    return text.replace("\r\n", "\n").replace("\r", "\n"), encoding


def parse_bytes(data: bytes, filename: str = "") -> ParsedSong:
    text, encoding = decode(data)
    song = parse(text, filename)
    song.encoding = encoding
    if encoding not in ("utf-8", "utf-8-sig"):
        song.warnings.insert(0, ParseWarning(_first_non_utf8_line(data),
                                             f"not UTF-8; decoded as {encoding}"))
    return song


def _first_non_utf8_line(data: bytes) -> int:
    """The 1-based line holding the first byte that is not UTF-8 (line ends as in `decode`)."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        head = data[:exc.start].replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        return head.count(b"\n") + 1
    return 0


def parse(text: str, filename: str = "") -> ParsedSong:
    return _Parser(filename).run(text)


def parse_chords(source: str) -> tuple[str, list[tuple[int, str]], bool]:
    """`"[C]Amazing [G]grace"` -> ("Amazing grace", [(0, "C"), (8, "G")], ok)."""
    text: list[str] = []
    chords: list[tuple[int, str]] = []
    length = 0
    i = 0
    ok = True
    while i < len(source):
        start = source.find("[", i)
        if start < 0:
            text.append(source[i:])
            break
        end = source.find("]", start + 1)
        if end < 0:  # unclosed chord bracket: the rest is lyrics
            ok = False
            text.append(source[i:])
            break
        piece = source[i:start]
        text.append(piece)
        length += len(piece)
        chord = source[start + 1 : end].strip()
        if chord.startswith("*"):  # ChordPro annotation: printed like a chord
            chord = chord[1:]
        if chord:
            chords.append((length, chord))
        i = end + 1
    return "".join(text), chords, ok


def _title_from_filename(filename: str) -> str:
    stem = filename.rsplit("/", 1)[-1].rsplit(".", 1)[0] if filename else ""
    stem = re.sub(r"[_\-]+", " ", stem).strip()
    return stem or "Untitled"


class _Parser:
    def __init__(self, filename: str):
        self.filename = filename
        self.song = ParsedSong()
        self.current: Section | None = None
        self.current_line = 0  # where the open section started, for "never closed"
        self.last_chorus: Section | None = None
        self.transpose = 0

    # -- helpers --------------------------------------------------------------------------
    def warn(self, line_no: int, message: str) -> None:
        self.song.warnings.append(ParseWarning(line_no, message))

    def body(self) -> Section:
        if self.current is None:
            self.current = Section("body")
            self.song.sections.append(self.current)
        return self.current

    def add(self, line: Line) -> None:
        self.body().lines.append(line)

    def close_section(self) -> None:
        self.current = None

    # -- main loop ------------------------------------------------------------------------
    def run(self, text: str) -> ParsedSong:
        for number, raw in enumerate(text.split("\n"), start=1):
            self.line(number, raw.rstrip())
        if self.current is not None and self.current.kind not in ("body",):
            self.warn(self.current_line, f"{{start_of_{self.current.kind}}} is never closed")
        for section in self.song.sections:  # trailing blank lines print as nothing
            while section.lines and section.lines[-1].kind == "empty":
                section.lines.pop()
        self.song.sections = [s for s in self.song.sections if s.lines or s.kind == "new_page"]
        self.song.title = self.song.first("title") or _title_from_filename(self.filename)
        if not self.song.first("title"):
            self.warn(0, f"no {{title}}; using {self.song.title!r} from the file name")
        return self.song

    def line(self, number: int, raw: str) -> None:
        stripped = raw.strip()
        verbatim = self.current is not None and self.current.kind in VERBATIM_KINDS
        if stripped.startswith("{"):
            if stripped.endswith("}"):
                match = _DIRECTIVE.match(stripped)
                if match:
                    self.directive(number, match["name"].lower(), (match["value"] or "").strip())
                    return
                self.warn(number, f"malformed directive {stripped[:60]!r}; kept as text")
            else:
                self.warn(number, f"unclosed brace {stripped[:60]!r}; kept as text")
        elif stripped.startswith("#") and not verbatim:
            return  # ChordPro comment line: not printed
        if verbatim:
            self.add(Line("verbatim", raw))
        elif not stripped:
            self.add(Line("empty"))
        else:
            text, chords, ok = parse_chords(raw)
            if not ok:
                self.warn(number, "unclosed '[' chord bracket; kept as text")
            if self.transpose:
                chords = [(pos, transpose_chord(c, self.transpose)) for pos, c in chords]
            self.add(Line("lyrics", text, chords))

    def directive(self, number: int, name: str, value: str) -> None:
        name = META_ALIASES.get(name, name)
        if name in META_DIRECTIVES:
            if value:
                self.song.meta.setdefault(name, []).append(value)
            else:
                self.warn(number, f"{{{name}}} has no value")
        elif name == "meta":
            key, _, rest = value.partition(" ")
            if key and rest.strip():
                key = META_ALIASES.get(key.lower(), key.lower())
                self.song.meta.setdefault(key, []).append(rest.strip())
            else:
                self.warn(number, "{meta} needs a name and a value")
        elif name in COMMENT_DIRECTIVES:
            self.add(Line(COMMENT_DIRECTIVES[name], value))
        elif name.startswith(("start_of_", "so")) and self.environment_kind(name, "start"):
            self.start(number, self.environment_kind(name, "start"), value)
        elif name.startswith(("end_of_", "eo")) and self.environment_kind(name, "end"):
            self.end(number, self.environment_kind(name, "end"))
        elif name == "chorus":
            self.recall_chorus(number, value)
        elif name in ("define", "chord"):
            chord, _, shape = value.partition(" ")
            if chord:
                self.song.chord_definitions[chord.rstrip(":")] = shape.strip()
            else:
                self.warn(number, f"{{{name}}} without a chord name")
        elif name in ("new_page", "np", "new_physical_page", "npp"):
            self.close_section()
            self.song.sections.append(Section("new_page"))
        elif name in ("columns", "col"):
            self.song.custom["columns"] = value
        elif name == "transpose":
            try:
                self.transpose = int(value or 0)
            except ValueError:
                self.warn(number, f"{{transpose}} needs a whole number, got {value!r}")
        elif name.startswith("x_"):
            self.song.custom[name] = value
        elif name in KNOWN_DIRECTIVES:
            pass  # formatting directives: accepted, no effect on this renderer
        elif "-" in name and name.split("-", 1)[0] in KNOWN_DIRECTIVES:
            pass  # ChordPro 6 conditional directive (e.g. {title-piano}); not selected here
        else:
            self.song.unknown_directives.append((number, name))
            hint = difflib.get_close_matches(name, sorted(KNOWN_DIRECTIVES), n=1, cutoff=0.75)
            suggestion = f" (did you mean {{{hint[0]}}}?)" if hint else ""
            self.warn(number, f"unknown directive {{{name}}}{suggestion}")

    @staticmethod
    def environment_kind(name: str, edge: str) -> str | None:
        long_prefix, short_prefix = ("start_of_", "so") if edge == "start" else ("end_of_", "eo")
        if name.startswith(long_prefix):
            kind = name[len(long_prefix):]
            return kind if kind else None
        short = name[len(short_prefix):]
        return SHORT_ENVIRONMENTS.get(short) if name.startswith(short_prefix) else None

    def start(self, number: int, kind: str, value: str) -> None:
        if self.current is not None and self.current.kind != "body":
            self.warn(number, f"{{start_of_{kind}}} inside unclosed {{start_of_{self.current.kind}}}")
        if kind not in ENVIRONMENTS:
            self.warn(number, f"custom environment {{start_of_{kind}}}")
        label_match = _LABEL_ATTR.search(value)
        label = label_match["label"] if label_match else value
        self.current = Section(kind, label)
        self.current_line = number
        self.song.sections.append(self.current)

    def end(self, number: int, kind: str) -> None:
        if self.current is None or self.current.kind != kind:
            open_kind = self.current.kind if self.current else "nothing"
            self.warn(number, f"{{end_of_{kind}}} closes {open_kind}")
        elif kind == "chorus":
            self.last_chorus = self.current
        self.close_section()

    def recall_chorus(self, number: int, label: str) -> None:
        if self.last_chorus is None:
            self.warn(number, "{chorus} before any chorus was defined")
            return
        recalled = copy.deepcopy(self.last_chorus)
        recalled.recalled = True
        recalled.label = label or self.last_chorus.label or "Chorus"
        self.close_section()
        self.song.sections.append(recalled)
