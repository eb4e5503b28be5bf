"""Starting, stopping and deleting a listener's service (settings menu and admin)."""

from django.db import transaction

from .models import Listener

Status = Listener.Status


def start(listener: Listener) -> None:
    Listener.objects.filter(pk=listener.pk).update(enabled=True, status_song=Status.RUNNING)


def stop(listener: Listener) -> None:
    """Polling stops; a call already in flight finishes and then sets the status to stopped
    (the poll scheduler does that), otherwise the status is stopped right away."""
    with transaction.atomic():
        Listener.objects.filter(pk=listener.pk).update(enabled=False, assigned_worker=None)
        Listener.objects.filter(pk=listener.pk).exclude(
            status_song=Status.PROCESSING).update(status_song=Status.STOPPED)


def delete_data(listener: Listener) -> None:
    """Remove the listener and everything it owns (plays, counts, playlists). Tracks and
    artists are shared with other listeners and stay."""
    Listener.objects.filter(pk=listener.pk).delete()


def poll_started(*listener_ids: int) -> None:
    """A poll of these listeners is in flight (the poller reports calls that outlast a flush)."""
    Listener.objects.filter(pk__in=listener_ids, enabled=True).update(
        status_song=Status.PROCESSING)


def poll_finished(*listener_ids: int) -> None:
    """Their polls ended: running, or stopped if the service was stopped meanwhile. Rows
    already in that state are not rewritten (this runs for every poll)."""
    Listener.objects.filter(pk__in=listener_ids, enabled=True).exclude(
        status_song=Status.RUNNING).update(status_song=Status.RUNNING)
    Listener.objects.filter(pk__in=listener_ids, enabled=False).exclude(
        status_song=Status.STOPPED).update(status_song=Status.STOPPED)
