from django.db import models
from django.utils import timezone

from songhub.models import LeasedRun


class Song(models.Model):
    """A ChordPro song; `id` is the stable numeric ID from songs_metadata.json, never reused."""

    id = models.PositiveIntegerField(primary_key=True)
    title = models.CharField(max_length=300)
    title_from_filename = models.BooleanField(
        default=False, help_text="The file has no {title}; the title was made from its name."
    )
    subtitle = models.CharField(max_length=300, blank=True)
    artist = models.CharField(max_length=300, blank=True)
    key = models.CharField(max_length=20, blank=True)
    tempo = models.CharField(max_length=40, blank=True)
    time_signature = models.CharField(max_length=20, blank=True)
    capo = models.PositiveSmallIntegerField(null=True, blank=True)
    genre = models.CharField(max_length=100, blank=True)
    language = models.CharField(max_length=40, blank=True)
    filename = models.CharField(max_length=500, unique=True, help_text="Path in the source repo.")
    source_sha = models.CharField(max_length=40, help_text="Git blob SHA of the source file.")
    page_count = models.PositiveSmallIntegerField(default=0)
    pdf_etag = models.CharField(max_length=40, blank=True)
    image_etag = models.CharField(max_length=40, blank=True)
    lyrics = models.TextField(blank=True, help_text="Lyric text with chords stripped.")
    metadata = models.JSONField(default=dict, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    warning_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "songs"
        ordering = ["title", "id"]

    def __str__(self):
        return f"{self.title} ({self.artist})" if self.artist else self.title


class SyncRun(LeasedRun):
    """One run of the ingestion pipeline, whoever started it; beats while it runs."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        PARTIAL = "partial", "succeeded with failures"
        FAILED = "failed"

    class Trigger(models.TextChoices):
        CLI = "cli"
        BEAT = "beat"
        ADMIN = "admin"
        DEMO = "demo"

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.CLI)
    source = models.CharField(max_length=300, blank=True)
    options = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    total = models.PositiveIntegerField(default=0)
    added = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    removed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    downloads = models.PositiveIntegerField(default=0)
    rendered = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    report = models.JSONField(default=dict, blank=True, help_text="Library health report.")
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["status", "started_at"])]

    def __str__(self):
        return f"Sync #{self.pk} {self.status} ({self.started_at:%Y-%m-%d %H:%M})"

    @property
    def duration_seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()
