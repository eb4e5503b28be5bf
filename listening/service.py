"""Starting, stopping and deleting a listener's service (settings menu and admin)."""

from django.db import transaction

from .models import Listener

Status = Listener.Status


def start(listener: Listener) -> None:
    """A listener made from an export alone has nothing to poll until Spotify is linked."""
    Listener.objects.filter(pk=listener.pk, spotify_id__isnull=False).update(
        enabled=True, status_song=Status.RUNNING)


def stop(listener: Listener) -> None:
    """Polling stops; a call already in flight finishes and then sets the status to stopped
    (the poll scheduler does that), otherwise the status is stopped right away."""
    with transaction.atomic():
        Listener.objects.filter(pk=listener.pk).update(enabled=False, assigned_worker=None)
        Listener.objects.filter(pk=listener.pk).exclude(
            status_song=Status.PROCESSING).update(status_song=Status.STOPPED)


def listener_for(user) -> Listener:
    """The user's listener; one made for imports alone (no Spotify id, not polled) if none."""
    listener = Listener.objects.filter(user=user).first()
    if listener is None:
        listener, _ = Listener.objects.get_or_create(
            user=user, defaults={"enabled": False, "display_name": user.get_username()[:200]})
    return listener


def delete_user(user) -> None:
    """Delete the songhub account and everything of it: listener, plays, counts, playlists,
    tokens, import jobs and their uploaded files (the rows cascade from the user)."""
    from pathlib import Path

    from .models import ImportJob

    uploads = list(ImportJob.objects.filter(listener__user=user).values_list("upload_path",
                                                                             flat=True))
    with transaction.atomic():
        user.delete()
    for path in uploads:
        Path(path).unlink(missing_ok=True)


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
