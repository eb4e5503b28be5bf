"""One song across songhub: a Work (title + primary artists) and the things that are it."""

from django.db import models
from django.utils import timezone


class Kind(models.TextChoices):
    SONG = "song", "chord sheet"
    SPOTIFY = "spotify", "Spotify track"
    CHART = "chart", "chart"
    GRAPH = "graph", "graph track"


class Method(models.TextChoices):
    EXACT = "exact"
    NORMALISED = "normalised"
    ISRC = "isrc", "ISRC"
    SPOTIFY_ID = "spotify_id", "Spotify id"
    CURATOR = "curator"


class Work(models.Model):
    """A song as people name it. `title_key`/`artist_key` are graph.identity keys; several works
    may share them when a curator split one (the matcher then uses the oldest)."""

    title = models.CharField(max_length=500)
    artist = models.CharField(max_length=500, blank=True)
    title_key = models.CharField(max_length=500, db_index=True)
    artist_key = models.CharField(max_length=500, blank=True)
    curated = models.BooleanField(default=False, help_text="Made or changed by a curator: the "
                                                           "matcher never deletes it.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["title", "artist"]

    def __str__(self):
        return f"{self.artist} – {self.title}" if self.artist else self.title


class WorkLink(models.Model):
    """One chord sheet / Spotify track / chart / graph track that is this work. Each thing
    belongs to one work at most. `locked` links are a curator's decision, never moved."""

    work = models.ForeignKey(Work, on_delete=models.CASCADE, related_name="links")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    object_id = models.CharField(max_length=64)
    label = models.CharField(max_length=600, help_text="What the thing is called there.")
    method = models.CharField(max_length=10, choices=Method.choices)
    confidence = models.FloatField(default=1.0)
    locked = models.BooleanField(default=False)
    # what the matcher saw, so an unchanged thing costs no parsing on the next run
    fingerprint = models.CharField(max_length=32, blank=True)
    title_key = models.CharField(max_length=500, blank=True)
    artist_key = models.CharField(max_length=500, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "object_id"],
                                               name="works_one_work_per_thing")]
        indexes = [models.Index(fields=["work", "kind"])]

    def __str__(self):
        return f"{self.get_kind_display()} {self.object_id} → {self.work_id} ({self.method})"
