"""Song-ID consolidation: Spotify re-issues ids for remasters and re-releases, so one song
can appear under several track ids. Tracks with the same name and the same set of artist
names are merged into the id played most recently."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F, Max, Sum

from .models import ListeningEvent, PlayCount, PlaylistTrack, Track

logger = logging.getLogger(__name__)


@dataclass
class ConsolidationReport:
    groups: int = 0
    merged_tracks: int = 0


def duplicate_groups() -> list[list[str]]:
    by_key: dict[tuple, list[str]] = defaultdict(list)
    artists: dict[str, list[str]] = defaultdict(list)
    for track_id, name in Track.artists.through.objects.values_list("track_id", "artist__name"):
        artists[track_id].append(name)
    for track_id, name in Track.objects.values_list("id", "name"):
        if artists.get(track_id):
            by_key[(name.casefold(), tuple(sorted(a.casefold() for a in artists[track_id])))] \
                .append(track_id)
    return [ids for ids in by_key.values() if len(ids) > 1]


def consolidate() -> ConsolidationReport:
    report = ConsolidationReport()
    for ids in duplicate_groups():
        with transaction.atomic():
            merged = _merge(ids)
        report.groups += 1
        report.merged_tracks += merged
    logger.info("consolidation: %d groups, %d tracks merged", report.groups, report.merged_tracks)
    return report


def _merge(ids: list[str]) -> int:
    last_played = dict(ListeningEvent.objects.filter(track_id__in=ids).values("track_id")
                       .annotate(last=Max("played_at")).values_list("track_id", "last"))
    keep = max(ids, key=lambda i: (last_played.get(i) is not None, last_played.get(i), i))
    old = [i for i in ids if i != keep]
    # play counts: add the old counts to the kept track's row (creating it when missing)
    totals = (PlayCount.objects.filter(track_id__in=old).values("listener_id")
              .annotate(total=Sum("count")))
    for row in totals:
        updated = PlayCount.objects.filter(listener_id=row["listener_id"], track_id=keep) \
            .update(count=F("count") + row["total"])
        if not updated:
            PlayCount.objects.create(listener_id=row["listener_id"], track_id=keep,
                                     count=row["total"])
    PlayCount.objects.filter(track_id__in=old).delete()
    ListeningEvent.objects.filter(track_id__in=old).update(track_id=keep)
    PlaylistTrack.objects.filter(track_id__in=old).update(track_id=keep)
    Track.objects.filter(id__in=old).delete()
    return len(old)
