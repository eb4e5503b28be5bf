"""Celery entry points for rooms; the rules live in rooms.services."""

from celery import shared_task

from . import services


@shared_task(ignore_result=True, expires=60)
def reap_stale_participants() -> int:
    """Beat: remove participants whose connection is gone for longer than the ping timeout."""
    return services.reap_stale()
