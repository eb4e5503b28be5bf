"""Signals between apps, so services can say what happened without importing who listens."""

from django.dispatch import Signal

# Songs, Spotify tracks, charts or graph tracks were added or changed (sender: the app label).
# works.apps connects the song-identity matcher to it.
library_changed = Signal()


# A room started showing a song (sender: "rooms"; kwargs room_id, song_id), sent inside the
# transaction that changes the room, so what a receiver writes commits or rolls back with it.
# The transition graph records it as a room play (graph/signals.py).
room_song_selected = Signal()


def announce_library_change(sender: str) -> None:
    """Send `library_changed` once the current transaction commits (at once outside one)."""
    from django.db import transaction

    transaction.on_commit(lambda: library_changed.send(sender=sender))
