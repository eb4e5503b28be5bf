"""When two things are one song: the keys the matcher compares, built on graph.identity.

A work is a title and its primary artists. Two things are the same work when their title keys
are equal and they share at least one primary artist key, or when they share an ISRC or a
Spotify id. The title key keeps what makes a different recording (remix, edit, live, acoustic,
instrumental…: graph.identity's version rule) and drops what does not (remaster and mono/stereo
notes, "(Original Mix)", "[Label]", "(feat. X)", "- From 'Film'"). Without an artist nothing is
matched on its title alone: "Amazing Grace" is too many songs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from graph.identity import normalise, parse_track, split_artists

# Spotify writes versions as " - Remastered 2011" / " - Live at Wembley"; these notes name the
# same recording and are dropped, the rest become "(…)" versions and stay.
_SAME_RECORDING = re.compile(
    r"^(\d{4}\s+)?(digital(ly)?\s+)?(re-?master(ed)?|remaster(ed)?\s+\d{4}|\d{4}\s+remaster(ed)?"
    r"|mono|stereo|(single|album|lp|radio)\s+version|original\s+(mix|version)|deluxe(\s+edition)?"
    r"|bonus\s+track|from\s+.+|explicit|clean)(\s+version)?(\s+\d{4})?$", re.IGNORECASE)
_DASH_SUFFIX = re.compile(r"\s+[-–—]\s+([^-–—()\[\]]+)$")
_PARENS = re.compile(r"\s*[(\[]([^()\[\]]*)[)\]]")
_PUNCT = re.compile(r"[^\w\s]")
_SPACES = re.compile(r"\s+")


def clean_title(title: str) -> str:
    """Display title without same-recording notes: "Help! - Remastered 2009" -> "Help!"."""
    text = (title or "").strip()
    suffix = _DASH_SUFFIX.search(text)
    if suffix:
        note = suffix.group(1).strip()
        text = text[:suffix.start()] + ("" if _SAME_RECORDING.match(note) else f" ({note})")
    text = _PARENS.sub(lambda m: "" if _SAME_RECORDING.match(m.group(1).strip())
                       else m.group(0), text)
    return _SPACES.sub(" ", text).strip()


def key_text(text: str) -> str:
    """normalise() and no punctuation: "Don't Stop" and "Dont Stop" are one key."""
    return _SPACES.sub(" ", _PUNCT.sub(" ", normalise(text))).strip()


def artist_key(name: str) -> str:
    key = key_text(name)
    return key[4:] if key.startswith("the ") else key


@dataclass
class Keys:
    title: str  # cleaned display title, with its version
    title_key: str
    artists: list[str] = field(default_factory=list)  # display names of the primary artists
    artist_keys: frozenset[str] = frozenset()

    @property
    def artist_text(self) -> str:
        return " & ".join(self.artists)


def keys_for(title: str, artists: list[str] | str) -> Keys:
    """Keys of a thing called `title` by `artists` (a list, or one credit like "A feat. B")."""
    if isinstance(artists, str):
        artists = [n for n, role in split_artists(artists) if role == "primary"] if artists else []
    parsed = parse_track(f"{' & '.join(artists)} - {clean_title(title)}" if artists
                         else clean_title(title))
    primary = parsed.primary_artists if artists else []
    names = primary or list(artists)
    return Keys(title=parsed.title, title_key=key_text(parsed.title), artists=names,
                artist_keys=frozenset(k for k in map(artist_key, names) if k))


def same_work(a: Keys, b: Keys) -> bool:
    return bool(a.title_key) and a.title_key == b.title_key and bool(a.artist_keys & b.artist_keys)
