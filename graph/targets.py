"""Target track searches (the seed's mandatory scraper pattern).

A row names a track; `run_targets` searches its source with `search_query` ("artist title",
never one of them alone), imports every setlist found in full through graph.etl, and records
the outcome on the row (status, last_run_at, setlists_found/imported, last_error). Rows are
claimed with a conditional UPDATE, so two runs never work on the same row.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.db.models import F
from django.utils import timezone

from . import etl, sources
from .identity import normalise
from .models import TargetTrackSearch
from .resilience import SourceError

logger = logging.getLogger(__name__)
RUNNABLE = (TargetTrackSearch.Status.PENDING, TargetTrackSearch.Status.FAILED)


class InvalidTarget(ValueError):
    pass


def validate(artist: str, title: str, query: str, scraper: str) -> None:
    if not artist.strip() or not title.strip():
        raise InvalidTarget("target_artist and target_title are both required")
    if scraper not in sources.REMOTE_SOURCES:
        raise InvalidTarget(f"scraper_name must be one of {', '.join(sources.REMOTE_SOURCES)}")
    key = normalise(query)
    if query and (normalise(artist) not in key or normalise(title) not in key):
        raise InvalidTarget("search_query must contain both the artist and the title "
                            "(never the artist or the title alone)")


def create(data: dict) -> TargetTrackSearch:
    artist, title = str(data.get("target_artist") or ""), str(data.get("target_title") or "")
    query, scraper = str(data.get("search_query") or ""), str(data.get("scraper_name") or "mixesdb")
    validate(artist, title, query, scraper)
    return TargetTrackSearch.objects.create(target_artist=artist.strip(), target_title=title.strip(),
                                            search_query=query.strip(), scraper_name=scraper)


def update(target: TargetTrackSearch, data: dict) -> TargetTrackSearch:
    for name in ("target_artist", "target_title", "search_query", "scraper_name", "status"):
        if name in data:
            setattr(target, name, str(data[name] or ""))
    if "search_query" in data and not target.search_query:
        target.search_query = ""  # re-derived on save
    validate(target.target_artist, target.target_title, target.search_query, target.scraper_name)
    if target.status not in TargetTrackSearch.Status.values:
        raise InvalidTarget(f"status must be one of {', '.join(TargetTrackSearch.Status.values)}")
    target.save()
    return target


def as_dict(target: TargetTrackSearch) -> dict:
    return {"id": target.pk, "target_artist": target.target_artist,
            "target_title": target.target_title, "search_query": target.search_query,
            "scraper_name": target.scraper_name, "status": target.status,
            "last_run_at": target.last_run_at.isoformat() if target.last_run_at else None,
            "setlists_found": target.setlists_found, "setlists_imported": target.setlists_imported,
            "last_error": target.last_error}


@dataclass
class RunReport:
    targets: int = 0
    failed: int = 0
    setlists_found: int = 0
    setlists_imported: int = 0
    lines: list[str] = field(default_factory=list)


def run_targets(limit: int = 10, source: str | None = None, per_target: int = 5,
                dry_run: bool = False) -> RunReport:
    report = RunReport()
    query = TargetTrackSearch.objects.filter(status__in=RUNNABLE)
    if source:
        query = query.filter(scraper_name=source)
    for target in query.order_by(F("last_run_at").asc(nulls_first=True), "id")[:limit]:
        if dry_run:
            report.lines.append(f"would search {target.scraper_name} for {target.search_query!r}")
            continue
        claimed = TargetTrackSearch.objects.filter(pk=target.pk, status__in=RUNNABLE).update(
            status=TargetTrackSearch.Status.RUNNING, last_run_at=timezone.now())
        if claimed != 1:
            continue  # another run has it
        report.targets += 1
        found = imported = 0
        try:
            client = sources.remote(target.scraper_name)
            if target.scraper_name == "setlistfm":
                hits = client.search_target(target.target_artist, target.target_title, per_target)
            else:
                hits = client.search(target.search_query, per_target)
            found = len(hits)
            for hit in hits:
                fetched = client.fetch(hit)
                if fetched is None:
                    continue
                result = etl.import_setlist(
                    fetched.setlist, source=target.scraper_name, payload=fetched.payload,
                    fmt=fetched.fmt, external_id=fetched.external_id, revision=fetched.revision,
                    meta={"target": target.pk, "search_query": target.search_query})
                imported += result.status != "unchanged"
                report.lines.append(f"{target.search_query!r}: {hit.title} ({result.status}, "
                                    f"{result.entries} entries)")
        except Exception as exc:  # every failure ends the row as FAILED with its message
            report.failed += 1
            logger.warning("target %s (%r) failed: %s", target.pk, target.search_query, exc)
            TargetTrackSearch.objects.filter(pk=target.pk).update(
                status=TargetTrackSearch.Status.FAILED, last_error=str(exc)[:2000],
                setlists_found=found, setlists_imported=imported)
            report.lines.append(f"{target.search_query!r}: FAILED {exc}")
            if not isinstance(exc, (SourceError, etl.GraphUnavailable, ValueError)):
                raise
            continue
        TargetTrackSearch.objects.filter(pk=target.pk).update(
            status=TargetTrackSearch.Status.DONE, last_error="", setlists_found=found,
            setlists_imported=imported)
        report.setlists_found += found
        report.setlists_imported += imported
    return report
