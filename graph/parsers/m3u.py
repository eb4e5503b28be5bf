"""M3U/M3U8 playlists: `#EXTINF:<seconds>,Artist - Title` before each path. Plain paths
without #EXTINF use the file name ("Artist - Title.mp3"). Timestamps accumulate durations."""

from __future__ import annotations

import re

from . import ParsedSetlist, ParseError

_EXTINF = re.compile(r"^#EXTINF:\s*(-?\d+(?:\.\d+)?)[^,]*,(.*)$")


def parse(text: str) -> ParsedSetlist:
    setlist = ParsedSetlist()
    pending: tuple[str, float] | None = None
    elapsed = 0.0
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip().lstrip("\ufeff")
        if not stripped:
            continue
        if stripped.startswith("#EXTINF"):
            match = _EXTINF.match(stripped)
            if not match:
                raise ParseError(f"#EXTINF needs '<seconds>,Artist - Title', got {stripped!r}",
                                 number)
            pending = (match.group(2).strip() or "?", max(0.0, float(match.group(1))))
        elif stripped.startswith("#PLAYLIST:"):
            setlist.title = stripped[len("#PLAYLIST:"):].strip()
        elif stripped.startswith("#"):
            continue
        else:
            if pending is None:
                name = re.sub(r"\.[A-Za-z0-9]{2,4}$", "", stripped.replace("\\", "/").rsplit("/", 1)[-1])
                pending = (name, 0.0)
            setlist.add(pending[0], timestamp=int(elapsed))
            elapsed += pending[1]
            pending = None
    if pending is not None:
        raise ParseError("#EXTINF without a following path", len(text.splitlines()))
    return setlist
