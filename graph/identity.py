"""Who and what a tracklist line names: the normaliser, the artist rule, track parsing.

This module owns three contracts the rest of songhub relies on:

- `normalise(text)` is THE comparison key for names and titles: case- and diacritics-
  insensitive, typographic quotes and dashes folded to ASCII, whitespace collapsed. Display
  always keeps the original text; only keys are normalised. (The song-identity work reuses it.)
- `is_valid_artist(name)` is THE artist-validity rule (seed: "Artist Attribution"). The same rule
  exists once in SQL, `graph_valid_artist(text)`, created from `ARTIST_SQL_FUNCTION` below by the
  migrations; tests run both over the same names and require identical answers.
- `parse_track("Artist feat. X - Title (Y Remix) [Label - CAT01]")` splits a line into artists
  with roles, a title that includes its version (different versions are different tracks),
  label and catalogue; `(Original Mix)` and the `[Label]` block are not part of the title.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

# Names that say "we don't know who", alone or followed by a separator ("VA @ Club", "Unknown
# Artist - Track"). A following word is not a separator: "Unknown Mortal Orchestra" is valid.
# The pattern is written so Python's `re` and PostgreSQL's ARE read it identically.
INVALID_ARTIST_PATTERN = (
    r"^\s*(unknown artist|various artists|unknown|various|va|id|\?)\s*($|[@\-–—:/|,(\[;.&+])"
)
_INVALID_ARTIST = re.compile(INVALID_ARTIST_PATTERN, re.IGNORECASE)
_HAS_WORD = re.compile(r"\w")
_VERSION_TAIL = re.compile(r"[(\[].*$")

# The same rule as one SQL function (IMMUTABLE, so it may be used in indexes and views).
ARTIST_SQL_FUNCTION = f"""
CREATE OR REPLACE FUNCTION graph_valid_artist(name text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT name IS NOT NULL AND name ~ '\\w' AND name !~* '{INVALID_ARTIST_PATTERN}'
$$;
"""

UNKNOWN_TITLES = {"", "?", "??", "???", "id", "unknown", "untitled", "unknown track",
                  "untitled track", "id id", "track id"}

ROLE_PRIMARY, ROLE_FEATURED, ROLE_REMIXER = "primary", "featured", "remixer"
ROLES = (ROLE_PRIMARY, ROLE_FEATURED, ROLE_REMIXER)

_FOLD = str.maketrans({"‘": "'", "’": "'", "‚": "'", "“": '"', "”": '"', "„": '"',
                       "–": "-", "—": "-", "‐": "-", "‑": "-", "−": "-", "\u00a0": " "})
_SPACES = re.compile(r"\s+")


def normalise(text: str | None) -> str:
    """The comparison key of a name or title: NFKD without combining marks (é -> e),
    casefolded (ß -> ss), typographic quotes/dashes as ASCII, whitespace collapsed.
    `normalise("  Röyksopp ") == normalise("ROYKSOPP")`; an empty or None input gives ""."""
    if not text:
        return ""
    if text.isascii():  # nothing to decompose or fold: the same key, ten times faster
        return _SPACES.sub(" ", text.casefold()).strip()
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", stripped.casefold()).strip()


@lru_cache(maxsize=65536)  # the API checks the same names on every answer (graph.queries)
def is_valid_artist(name: str | None) -> bool:
    """The artist rule: not NULL/empty, has a letter or digit, and is not `?`, `ID`, `Unknown`,
    `Unknown Artist`, `Various Artists`, `Various`, `VA` (any case), alone or followed by a
    separator. No setting or parameter relaxes it."""
    return bool(name) and bool(_HAS_WORD.search(name)) and not _INVALID_ARTIST.search(name)


@lru_cache(maxsize=65536)
def is_identified_title(title: str | None) -> bool:
    """A title is unknown when it is empty, has no letter/digit, or is `?`/`ID`/`Unknown`/
    `untitled` (its version in parentheses does not count: "ID (Remix)" is still unknown)."""
    if not title or not _HAS_WORD.search(title):
        return False
    core = normalise(_VERSION_TAIL.sub("", title))
    return core not in UNKNOWN_TITLES


# -- parsing one "Artist - Title" line --------------------------------------------------------
_LABEL = re.compile(r"\s*\[([^\[\]]*)\]\s*$")
_SPLIT = re.compile(r"\s+[-–—]\s+")
_PAREN = re.compile(r"\(([^()]*)\)|\[([^\[\]]*)\]")
_FEAT = re.compile(r"\s*\b(?:feat\.?|ft\.?|featuring)\s+", re.IGNORECASE)
_COLLAB = re.compile(r"\s*(?:&|,|\+)\s*|\s+(?:x|and|vs\.?|versus)\s+", re.IGNORECASE)
_VERSION_WORDS = re.compile(
    r"\b(remix|rmx|edit|re-?edit|rework|re-?work|bootleg|dub|vip|mix|version|remode|flip|"
    r"refix|cover|mashup|instrumental|acapella|a cappella|live)\b", re.IGNORECASE)
_REMIXER = re.compile(r"^(.*?)\s+(?:remix|rmx|edit|re-?edit|rework|re-?work|bootleg|dub|vip|"
                      r"flip|refix|remode)\b", re.IGNORECASE)
_DROPPED_VERSIONS = {"original mix", "original", "original version"}


@dataclass
class ParsedTrack:
    artists: list[tuple[str, str]] = field(default_factory=list)  # (display name, role)
    title: str = ""  # with its version, e.g. "Strobe (Eric Prydz Remix)"
    version: str = ""  # "Eric Prydz Remix", "" for the original
    label: str = ""
    catalog: str = ""

    @property
    def primary_artists(self) -> list[str]:
        return [name for name, role in self.artists if role == ROLE_PRIMARY]

    @property
    def identified(self) -> bool:
        """Both ends of the artist rule hold: at least one valid primary artist, every primary
        artist valid, and a known title."""
        primaries = self.primary_artists
        return bool(primaries) and all(is_valid_artist(n) for n in primaries) \
            and is_identified_title(self.title)

    @property
    def artist_text(self) -> str:
        return " & ".join(self.primary_artists)


def split_artists(text: str) -> list[tuple[str, str]]:
    """"A & B feat. C" -> [(A, primary), (B, primary), (C, featured)]. "&", "and", ",", "x",
    "vs" join primary artists; "feat."/"ft."/"featuring" introduce featured ones."""
    parts = _FEAT.split(text.strip(), maxsplit=1)
    result = [(name, ROLE_PRIMARY) for name in _names(parts[0])]
    if len(parts) > 1:
        result += [(name, ROLE_FEATURED) for name in _names(parts[1])]
    return result


def _names(text: str) -> list[str]:
    return [name.strip(" .") for name in _COLLAB.split(text) if name and name.strip(" .")]


def parse_track(line: str) -> ParsedTrack:
    """One tracklist line without position or timestamp (the parsers strip those)."""
    text = line.strip()
    track = ParsedTrack()
    label = _LABEL.search(text)
    if label and _SPLIT.search(text[:label.start()]) and not _VERSION_WORDS.search(label.group(1)):
        block = label.group(1).strip()
        if " - " in block:
            track.label, track.catalog = (s.strip() for s in block.rsplit(" - ", 1))
        else:
            track.label = block
        text = text[:label.start()].rstrip()
    pieces = _SPLIT.split(text, maxsplit=1)
    if len(pieces) == 2:
        artist_text, title = pieces
    else:
        artist_text, title = "", text
    track.artists = split_artists(artist_text) if artist_text else []
    track.title, track.version, extra = _clean_title(title)
    known = {normalise(n) for n, _ in track.artists}
    for name, role in extra:
        if normalise(name) not in known:
            track.artists.append((name, role))
            known.add(normalise(name))
    return track


def _clean_title(title: str) -> tuple[str, str, list[tuple[str, str]]]:
    """Drop "(Original Mix)", move "(feat. X)" to the artists, keep versions in the title."""
    extra: list[tuple[str, str]] = []
    version = ""
    kept: list[str] = []

    def replace(match):
        nonlocal version
        inner = (match.group(1) if match.group(1) is not None else match.group(2)).strip()
        if normalise(inner) in _DROPPED_VERSIONS:
            return ""
        feat = _FEAT.match(" " + inner)
        if feat:
            extra.extend((n, ROLE_FEATURED) for n in _names(inner[feat.end() - 1:]))
            return ""
        if _VERSION_WORDS.search(inner):
            version = version or inner
            remixer = _REMIXER.match(inner)
            if remixer and remixer.group(1):
                extra.extend((n, ROLE_REMIXER) for n in _names(remixer.group(1)))
        kept.append(inner)
        return f"({inner})"

    base = _PAREN.sub(replace, title)
    feat = _FEAT.search(base)  # "Title feat. X" without parentheses
    if feat:
        extra.extend((n, ROLE_FEATURED) for n in _names(base[feat.end():]))
        base = base[:feat.start()]
    return _SPACES.sub(" ", base).strip(), version, extra


def track_key(primary_artists: list[str], title: str) -> tuple[str, str]:
    """Gold identity of a track: the sorted normalised primary artists and the normalised
    title including its version. "B & A - X" and "a & b - x" are one track."""
    return " & ".join(sorted({normalise(a) for a in primary_artists})), normalise(title)


# -- keys -------------------------------------------------------------------------------------
_KEY_NAMES = {"c": 0, "c#": 1, "db": 1, "d": 2, "d#": 3, "eb": 3, "e": 4, "f": 5, "f#": 6,
              "gb": 6, "g": 7, "g#": 8, "ab": 8, "a": 9, "a#": 10, "bb": 10, "b": 11}
# Camelot numbers by pitch class: majors are "B", minors "A".
_CAMELOT_MAJOR = {0: 8, 7: 9, 2: 10, 9: 11, 4: 12, 11: 1, 6: 2, 1: 3, 8: 4, 3: 5, 10: 6, 5: 7}
_CAMELOT_MINOR = {9: 8, 4: 9, 11: 10, 6: 11, 1: 12, 8: 1, 3: 2, 10: 3, 5: 4, 0: 5, 7: 6, 2: 7}
_CAMELOT = re.compile(r"^\s*(1[0-2]|[1-9])\s*([ABab])\s*$")
_KEY = re.compile(r"^\s*([A-Ga-g])\s*([#b♯♭]?)\s*(m|min|minor|maj|major)?\s*$")


def camelot(key: str | None) -> str:
    """"A Minor" / "Am" / "8A" -> "8A"; "" when the key cannot be read."""
    if not key:
        return ""
    code = _CAMELOT.match(key)
    if code:
        return f"{int(code.group(1))}{code.group(2).upper()}"
    match = _KEY.match(key.replace("♯", "#").replace("♭", "b").lower())
    if not match:
        return ""
    pitch = _KEY_NAMES.get(match.group(1).lower() + match.group(2).replace("♯", "#"))
    if pitch is None:
        return ""
    minor = (match.group(3) or "").lower() in ("m", "min", "minor")
    table = _CAMELOT_MINOR if minor else _CAMELOT_MAJOR
    return f"{table[pitch]}{'A' if minor else 'B'}"


def camelot_compatible(a: str, b: str) -> bool:
    """Harmonic mixing: the same code, ±1 on the wheel with the same letter (12 wraps to 1),
    or the same number with the other letter (relative major/minor)."""
    ca, cb = _CAMELOT.match(a or ""), _CAMELOT.match(b or "")
    if not ca or not cb:
        return False
    na, la, nb, lb = int(ca.group(1)), ca.group(2).upper(), int(cb.group(1)), cb.group(2).upper()
    if la == lb:
        return (na - nb) % 12 in (0, 1, 11)
    return na == nb


# The title rule in SQL, for the gold views (mirrors is_identified_title for ASCII titles).
TITLE_SQL_FUNCTION = """
CREATE OR REPLACE FUNCTION graph_identified_title(title text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT title IS NOT NULL AND title ~ '\\w' AND btrim(regexp_replace(lower(
    regexp_replace(title, '[(\\[].*$', '')), '\\s+', ' ', 'g')) NOT IN (%s)
$$;
""" % ", ".join("'%s'" % t.replace("'", "''") for t in sorted(UNKNOWN_TITLES))
