"""Recording room plays without the rooms app knowing about the graph: a Room saved with a new
`current_song` (rooms.services.select_song) becomes a RoomPlay row."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from rooms.models import Room

from .models import RoomPlay


@receiver(post_save, sender=Room, dispatch_uid="graph-room-play")
def record_room_play(sender, instance: Room, update_fields=None, **kwargs):
    if update_fields and "current_song" in update_fields and instance.current_song_id:
        song = instance.current_song
        RoomPlay.objects.create(room_id=instance.pk, title=song.title[:500],
                                artist=(song.artist or "")[:500])
