"""Curation (the seed's ArtistAttributionManager): unidentified lines grouped by their
normalised text, a curator's answer for a whole group, every change audited.

A curator assigns artist/title to a line (or marks it "not a track"); the rule applies to every
entry with that line, and gold is derived again for the setlists that contain it. Enrichment
proposals (`status=proposed`) are listed beside the groups and change nothing until accepted.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Count, Min
from django.utils import timezone

from . import etl
from .identity import is_identified_title, is_valid_artist, normalise
from .models import CurationAudit, CurationRule, Entry


class CurationError(ValueError):
    pass


def unidentified_groups(limit: int = 100) -> list[dict]:
    rows = (Entry.objects.filter(identified=False, not_a_track=False)
            .values("raw_key").annotate(occurrences=Count("id"), raw_line=Min("raw_line"),
                                        setlists=Count("setlist", distinct=True))
            .order_by("-occurrences", "raw_key")[:limit])
    proposals = {r.raw_key: r for r in CurationRule.objects.filter(
        raw_key__in=[r["raw_key"] for r in rows], status=CurationRule.Status.PROPOSED)}
    return [{**row, "proposal": proposals.get(row["raw_key"])} for row in rows]


def _snapshot(rule: CurationRule | None) -> dict:
    if rule is None:
        return {}
    return {"artist": rule.artist, "title": rule.title, "not_a_track": rule.not_a_track,
            "status": rule.status, "source": rule.source}


@transaction.atomic
def decide(user, raw_line: str, *, artist: str = "", title: str = "", not_a_track: bool = False,
           action: str = "assign") -> CurationRule:
    """Record a curator's answer for every entry with this line and re-derive their setlists."""
    raw_key = normalise(raw_line)[:1000]
    if not raw_key:
        raise CurationError("the line is empty")
    if not not_a_track:
        if not is_valid_artist(artist):
            raise CurationError(f"{artist!r} is not a valid artist (the artist rule)")
        if not is_identified_title(title):
            raise CurationError(f"{title!r} is not a known title")
    rule = CurationRule.objects.select_for_update().filter(raw_key=raw_key).first()
    before = _snapshot(rule)
    if rule is None:
        rule = CurationRule(raw_key=raw_key, raw_line=raw_line[:1000])
    rule.artist, rule.title = ("", "") if not_a_track else (artist.strip(), title.strip())
    rule.not_a_track, rule.status = not_a_track, CurationRule.Status.ACCEPTED
    if action != "accept":
        rule.source, rule.confidence = "curator", None
    rule.updated_at = timezone.now()
    rule.save()
    return _rederive(user, rule, action, before)


@transaction.atomic
def accept(user, rule_id: int) -> CurationRule:
    rule = CurationRule.objects.select_for_update().get(pk=rule_id, status=CurationRule.Status.PROPOSED)
    return decide(user, rule.raw_line, artist=rule.artist, title=rule.title, action="accept")


@transaction.atomic
def reject(user, rule_id: int) -> CurationRule:
    rule = CurationRule.objects.select_for_update().get(pk=rule_id, status=CurationRule.Status.PROPOSED)
    before = _snapshot(rule)
    rule.status = CurationRule.Status.REJECTED
    rule.save(update_fields=["status"])
    CurationAudit.objects.create(rule=rule, raw_line=rule.raw_line, user=user, action="reject",
                                 before=before, after=_snapshot(rule))
    return rule


def _rederive(user, rule: CurationRule, action: str, before: dict) -> CurationRule:
    setlist_ids = list(Entry.objects.filter(raw_key=rule.raw_key)
                       .values_list("setlist_id", flat=True).distinct())
    etl.rederive_setlists(setlist_ids)
    CurationAudit.objects.create(rule=rule, raw_line=rule.raw_line, user=user,
                                 action="not_a_track" if rule.not_a_track and action == "assign"
                                 else action, before=before, after=_snapshot(rule),
                                 setlists_rebuilt=len(setlist_ids))
    return rule
