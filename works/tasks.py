import logging

from celery import shared_task
from django.core.cache import cache

from songhub import locks

logger = logging.getLogger(__name__)

DEBOUNCE_SECONDS = 60


@shared_task(acks_late=True, ignore_result=True)
def link_works_task() -> None:
    from .linker import link_works

    try:
        with locks.exclusive("works.link"):
            link_works()
    except locks.Busy:  # another run is on it; its pass sees everything committed before
        pass


def schedule_link_works() -> None:
    """After a sync, import or poll batch: one link_works run within a minute, however many
    batches ask (the first asks, the rest find the slot taken)."""
    if cache.add("works:link-scheduled", 1, DEBOUNCE_SECONDS):
        link_works_task.apply_async(countdown=DEBOUNCE_SECONDS // 2)


def on_library_changed(sender, **kwargs) -> None:
    """A sync, import or poll batch changed the library. Never fails the caller: with the
    broker down, the nightly run catches up."""
    try:
        schedule_link_works()
    except Exception as exc:  # noqa: BLE001 - the change itself is committed and fine
        logger.warning("could not schedule link_works after a %s change: %r", sender, exc)
