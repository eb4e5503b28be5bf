"""Where setlists come from. Remote sources answer two questions, like ingestion's sources:
which setlists match a search (`search(query, limit) -> [Hit]`) and what is in one of them
(`fetch(hit) -> Fetched`). Local sequences (rooms, listening) build setlists from songhub's own
tables. Every source hands graph.etl a parsed setlist plus its raw payload; nothing here
writes gold.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..parsers import ParsedSetlist


@dataclass(frozen=True)
class Hit:
    external_id: str
    title: str
    data: dict = field(default_factory=dict, compare=False, hash=False)


@dataclass
class Fetched:
    setlist: ParsedSetlist
    payload: str
    fmt: str
    external_id: str
    revision: str


def remote(name: str):
    """The remote source called `name` (a TargetTrackSearch.scraper_name)."""
    from .mixesdb import MixesDB
    from .setlistfm import SetlistFm

    sources = {"mixesdb": MixesDB, "setlistfm": SetlistFm}
    if name not in sources:
        raise ValueError(f"unknown source {name!r}; use one of {', '.join(sources)}")
    return sources[name]()


REMOTE_SOURCES = ("mixesdb", "setlistfm")
