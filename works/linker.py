"""`link_works`: put every chord sheet, Spotify track, chart and graph track into its Work.

Idempotent and incremental: a thing already linked to a work that still matches it stays where
it is; a locked link (a curator's decision) is never moved; links of things that are gone are
removed, and so are works left empty unless a curator made them. One pass over all four kinds,
in memory, with bulk writes: the keys of 300,000 things fit easily (bench/identity.py).

Order matters for the id-based methods: Spotify tracks are placed before graph tracks so a graph
track's `spotify_id` finds the work of that Spotify track; ISRCs are remembered as they come.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from .matching import Keys, keys_for
from .models import Kind, Method, Work, WorkLink

logger = logging.getLogger(__name__)
BATCH = 5000


@dataclass
class Thing:
    kind: str
    object_id: str
    title: str
    artists: list[str] | str
    isrc: str = ""
    spotify_id: str = ""

    @property
    def names(self) -> tuple[str, str]:
        """(title, artists) exactly as the source writes them."""
        artists = self.artists if isinstance(self.artists, str) else " & ".join(self.artists)
        return self.title, artists

    @property
    def fingerprint(self) -> str:
        raw = "\x1f".join((self.title, *self.names[1:], self.isrc, self.spotify_id))
        return hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()

    @property
    def label(self) -> str:
        artists = self.artists if isinstance(self.artists, str) else " & ".join(self.artists)
        return (f"{artists} – {self.title}" if artists else self.title)[:600]


@dataclass
class Report:
    works: int = 0
    created: int = 0
    linked: int = 0
    moved: int = 0
    unchanged: int = 0
    locked: int = 0
    removed_links: int = 0
    removed_works: int = 0
    skipped: int = 0
    by_kind: dict = field(default_factory=lambda: defaultdict(int))
    seconds: float = 0.0
    dry_run: bool = False

    def summary(self) -> dict:
        body = {k: v for k, v in self.__dict__.items()}
        body["by_kind"] = dict(self.by_kind)
        body["seconds"] = round(self.seconds, 2)
        return body


# -- the things -------------------------------------------------------------------------------
def songs() -> Iterator[Thing]:
    from ingestion.models import Song

    for pk, title, artist in Song.objects.values_list("id", "title", "artist").iterator(BATCH):
        yield Thing(Kind.SONG, str(pk), title, artist)


def spotify_tracks() -> Iterator[Thing]:
    from listening.models import Track

    names = defaultdict(list)
    through = Track.artists.through.objects.values_list("track_id", "artist__name")
    for track_id, name in through.order_by("track_id", "id").iterator(BATCH):
        names[track_id].append(name)
    for pk, title in Track.objects.values_list("id", "name").iterator(BATCH):
        yield Thing(Kind.SPOTIFY, pk, title, names.get(pk, []),
                    spotify_id="" if pk.startswith(":") else pk)


def graph_tracks() -> Iterator[Thing]:
    from graph.identity import ROLE_PRIMARY
    from graph.models import Track, TrackArtist

    names = defaultdict(list)
    links = TrackArtist.objects.filter(role=ROLE_PRIMARY).values_list("track_id", "artist__name")
    for track_id, name in links.order_by("track_id", "id").iterator(BATCH):
        names[track_id].append(name)
    rows = Track.objects.values_list("id", "title", "isrc", "spotify_id")
    for pk, title, isrc, spotify_id in rows.iterator(BATCH):
        yield Thing(Kind.GRAPH, str(pk), title, names.get(pk, []), isrc=isrc or "",
                    spotify_id=spotify_id or "")


def charts() -> Iterator[Thing]:
    from charts.formats.ini import strip_tags
    from charts.models import Chart

    for pk, title, artist in Chart.objects.values_list("id", "title", "artist").iterator(BATCH):
        yield Thing(Kind.CHART, str(pk), strip_tags(title), strip_tags(artist))


SOURCES = (songs, spotify_tracks, graph_tracks, charts)


# -- the pass ---------------------------------------------------------------------------------
class _Index:
    """title key -> [(work id, artist keys)]; ISRC and Spotify id -> work id."""

    def __init__(self):
        self.by_title: dict[str, list[tuple[int, frozenset]]] = defaultdict(list)
        self.names: dict[int, tuple[str, str]] = {}  # work id -> (title, artist) as displayed
        self.by_isrc: dict[str, int] = {}
        self.by_spotify: dict[str, int] = {}

    def add(self, work_id: int, title_key: str, artist_keys: frozenset) -> None:
        entries = self.by_title[title_key]
        if (work_id, artist_keys) not in entries:
            entries.append((work_id, artist_keys))

    def find(self, keys: Keys) -> int | None:
        if not keys.artist_keys:
            return None
        for work_id, artists in self.by_title.get(keys.title_key, ()):
            if artists & keys.artist_keys:
                return work_id
        return None

    def matches(self, work_id: int, keys: Keys) -> bool:
        """Does this work still fit the thing? (An artist-less thing keeps its own work.)"""
        return any(w == work_id and (a & keys.artist_keys or not (a or keys.artist_keys))
                   for w, a in self.by_title.get(keys.title_key, ()))


def link_works(dry_run: bool = False, sources=SOURCES) -> Report:
    started = time.monotonic()
    report = Report(dry_run=dry_run)
    index = _Index()
    works = Work.objects.values_list("id", "title_key", "artist_key", "title", "artist")
    for work_id, title_key, artist_key, title, artist in works.iterator(BATCH):
        index.add(work_id, title_key, _split(artist_key))
        index.names[work_id] = (title, artist)
    existing = {}
    links = WorkLink.objects.values_list("id", "kind", "object_id", "work_id", "locked",
                                         "fingerprint", "title_key", "artist_key")
    for pk, kind, oid, work_id, locked, fingerprint, title_key, artist_key in links.iterator(BATCH):
        existing[(kind, oid)] = (pk, work_id, locked, fingerprint)
        if title_key:  # every member's keys, as a cold run would have added them
            index.add(work_id, title_key, _split(artist_key))
    seen: set[tuple[str, str]] = set()
    pending_works: list[tuple[Work, list]] = []  # new works and the links waiting for their id
    new_links: list[WorkLink] = []
    moved: list[WorkLink] = []
    refreshed: list[WorkLink] = []  # same work, new fingerprint (renamed thing)
    next_temp = -1

    def new_work(keys: Keys) -> int:
        nonlocal next_temp
        work = Work(title=keys.title[:500], artist=keys.artist_text[:500],
                    title_key=keys.title_key[:500],
                    artist_key="|".join(sorted(keys.artist_keys))[:500])
        pending_works.append((work, []))
        temp = next_temp
        next_temp -= 1
        index.add(temp, keys.title_key, keys.artist_keys)
        index.names[temp] = (work.title, work.artist)
        report.created += 1
        return temp

    for source in sources:
        for thing in source():
            key = (thing.kind, thing.object_id)
            seen.add(key)
            report.by_kind[str(thing.kind)] += 1
            current = existing.get(key)
            fingerprint = thing.fingerprint
            if current and (current[2] or current[3] == fingerprint):
                # locked (a curator decided) or unchanged since the last run: its keys are in
                # the index already, only its ids need remembering
                report.locked += bool(current[2])
                report.unchanged += not current[2]
                _remember_ids(index, current[1], thing)
                continue
            keys = keys_for(thing.title, thing.artists)
            if not keys.title_key:
                report.skipped += 1
                continue
            target, method = _target(index, keys, thing)
            if current and (current[1] == target or index.matches(current[1], keys)):
                report.unchanged += 1
                _remember(index, current[1], keys, thing)
                refreshed.append(_link(current[1], thing, fingerprint, keys, current[0],
                                       _METHOD_KEPT))
                continue
            if target is None:
                target = new_work(keys)
            if method not in (Method.ISRC, Method.SPOTIFY_ID):
                method = Method.EXACT if index.names.get(target) == thing.names \
                    else Method.NORMALISED
            _remember(index, target, keys, thing)
            link = _link(None, thing, fingerprint, keys, current[0] if current else None, method)
            if current:
                report.moved += 1
            else:
                report.linked += 1
            if target < 0:
                pending_works[-target - 1][1].append((link, current is not None))
            else:
                link.work_id = target
                (moved if current else new_links).append(link)

    gone = [existing[k][0] for k in existing.keys() - seen]
    report.removed_links = len(gone)
    if not dry_run:
        with transaction.atomic():
            created = Work.objects.bulk_create([w for w, _ in pending_works], batch_size=BATCH)
            for work, (_, links) in zip(created, pending_works):
                for link, is_move in links:
                    link.work_id = work.pk
                    (moved if is_move else new_links).append(link)
            for start in range(0, len(gone), BATCH):
                WorkLink.objects.filter(pk__in=gone[start:start + BATCH]).delete()
            WorkLink.objects.bulk_update(moved, ["work", "label", "method", "confidence",
                                                 "fingerprint", "title_key", "artist_key",
                                                 "updated_at"], batch_size=BATCH)
            WorkLink.objects.bulk_update(refreshed, ["label", "fingerprint", "title_key",
                                                     "artist_key", "updated_at"],
                                         batch_size=BATCH)
            WorkLink.objects.bulk_create(new_links, batch_size=BATCH)
            report.removed_works, _ = Work.objects.filter(curated=False, links__isnull=True) \
                .delete()
    report.works = Work.objects.count() if not dry_run else \
        len({w for e in index.by_title.values() for w, _ in e})
    report.seconds = time.monotonic() - started
    logger.info("link_works: %s", report.summary())
    return report


def _target(index: _Index, keys: Keys, thing: Thing) -> tuple[int | None, str]:
    if thing.isrc and thing.isrc in index.by_isrc:
        return index.by_isrc[thing.isrc], Method.ISRC
    if thing.spotify_id and thing.spotify_id in index.by_spotify:
        return index.by_spotify[thing.spotify_id], Method.SPOTIFY_ID
    return index.find(keys), ""


_METHOD_KEPT = ""  # a refreshed link keeps its method (bulk_update does not write it)


def _link(work_id, thing: Thing, fingerprint: str, keys: Keys, pk, method: str) -> WorkLink:
    link = WorkLink(pk=pk, kind=thing.kind, object_id=thing.object_id, label=thing.label,
                    method=method, confidence=_confidence(method, keys), fingerprint=fingerprint,
                    title_key=keys.title_key[:500],
                    artist_key="|".join(sorted(keys.artist_keys))[:500],
                    updated_at=timezone.now())
    if work_id is not None:
        link.work_id = work_id
    return link


def _split(artist_key: str) -> frozenset:
    return frozenset(filter(None, artist_key.split("|")))


def _confidence(method: str, keys: Keys) -> float:
    return {Method.EXACT: 1.0, Method.ISRC: 1.0, Method.SPOTIFY_ID: 1.0,
            Method.CURATOR: 1.0}.get(method, 0.95 if len(keys.artist_keys) else 0.8)


def _remember(index: _Index, work_id: int, keys: Keys, thing: Thing) -> None:
    index.add(work_id, keys.title_key, keys.artist_keys)
    _remember_ids(index, work_id, thing)


def _remember_ids(index: _Index, work_id: int, thing: Thing) -> None:
    if thing.isrc:
        index.by_isrc.setdefault(thing.isrc, work_id)
    if thing.spotify_id:
        index.by_spotify.setdefault(thing.spotify_id, work_id)
