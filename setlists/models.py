"""Setlists: an ordered list of songs in chosen keys, and the record of what was played.

A separate small app (not `works/`): setlists are a musician's plan, works are the library's
identity layer; they meet through `SetlistItem.work`.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone


class Setlist(models.Model):
    name = models.CharField(max_length=200)
    date = models.DateField(default=timezone.localdate, help_text="When it is (to be) played.")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                              related_name="setlists")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    played_at = models.DateTimeField(null=True, blank=True,
                                     help_text="Set when a room ran it to the end.")

    class Meta:
        ordering = ["-date", "-id"]

    def __str__(self):
        return f"{self.name} ({self.date})"


class SetlistItem(models.Model):
    """One song of a setlist: a chord-sheet song, or a work the library has no sheet for yet."""

    setlist = models.ForeignKey(Setlist, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveSmallIntegerField()
    song = models.ForeignKey("ingestion.Song", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    work = models.ForeignKey("works.Work", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    title = models.CharField(max_length=300, help_text="Kept so the item survives a deleted song.")
    transpose = models.SmallIntegerField(default=0, help_text="Key as semitones, -11..+11.")
    capo = models.PositiveSmallIntegerField(default=0)
    notes = models.TextField(blank=True)
    duration = models.PositiveIntegerField(null=True, blank=True, help_text="Seconds.")

    class Meta:
        ordering = ["setlist", "position"]
        constraints = [models.UniqueConstraint(fields=["setlist", "position"],
                                               name="setlist_item_position_unique")]

    def __str__(self):
        return f"{self.position}. {self.title}"


class SetlistRun(models.Model):
    """A room playing a setlist: where the host is in it."""

    room = models.OneToOneField("rooms.Room", on_delete=models.CASCADE, related_name="setlist_run")
    setlist = models.ForeignKey(Setlist, on_delete=models.CASCADE, related_name="runs")
    position = models.PositiveSmallIntegerField(default=1)
    started_at = models.DateTimeField(default=timezone.now)
    graph_setlist_id = models.BigIntegerField(null=True, blank=True,
                                              help_text="The graph setlist it became.")


class SongUse(models.Model):
    """A song shown in a room (from a setlist run or picked by hand): the usage report's rows."""

    song = models.ForeignKey("ingestion.Song", on_delete=models.CASCADE, related_name="+")
    room = models.ForeignKey("rooms.Room", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    setlist = models.ForeignKey(Setlist, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    used_at = models.DateTimeField(default=timezone.now, db_index=True)
