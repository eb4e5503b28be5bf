"""Recording room plays without the rooms app knowing about the graph: rooms announces each
song a room starts showing (songhub.signals.room_song_selected, in its transaction); it becomes a
RoomPlay row, and room plays become `rooms` setlists (graph.sources.sequences)."""

from django.dispatch import receiver

from ingestion.models import Song
from songhub.signals import room_song_selected

from .models import RoomPlay


@receiver(room_song_selected, dispatch_uid="graph-room-play")
def record_room_play(sender, room_id: int, song_id: int, **kwargs):
    song = Song.objects.filter(pk=song_id).only("title", "artist").first()
    if song is not None:
        RoomPlay.objects.create(room_id=room_id, title=song.title[:500],
                                artist=(song.artist or "")[:500])
