"""Curators' decisions on works: merge, split, move one link. Each locks what it touches, so
`link_works` never undoes it."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from .models import Method, Work, WorkLink


@transaction.atomic
def merge(target: Work, others) -> int:
    """Move every link of `others` into `target`; the emptied works go. Returns links moved."""
    others = [w for w in others if w.pk != target.pk]
    moved = WorkLink.objects.filter(work__in=others).update(
        work=target, locked=True, method=Method.CURATOR, confidence=1.0, updated_at=timezone.now())
    Work.objects.filter(pk__in=[w.pk for w in others]).delete()
    Work.objects.filter(pk=target.pk).update(curated=True)
    return moved


@transaction.atomic
def split(links) -> Work:
    """Move `links` out of their work into a new curated work named after the first one."""
    links = list(links)
    first = links[0]
    work = Work.objects.create(title=first.work.title, artist=first.work.artist,
                               title_key=first.work.title_key, artist_key=first.work.artist_key,
                               curated=True)
    WorkLink.objects.filter(pk__in=[link.pk for link in links]).update(
        work=work, locked=True, method=Method.CURATOR, confidence=1.0, updated_at=timezone.now())
    return work


def lock(links) -> int:
    """Keep these links where they are (a curator checked them)."""
    return WorkLink.objects.filter(pk__in=[link.pk for link in links]).update(
        locked=True, method=Method.CURATOR, confidence=1.0, updated_at=timezone.now())
