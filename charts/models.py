from django.db import models
from django.utils import timezone

from songhub.models import LeasedRun


class Chart(models.Model):
    """One Clone Hero song folder on the chart storage; the folder is the truth, this a cache.

    `remote_path` (e.g. "Songs/Artist/Title_ab12cd34") is unique; `folder_etag` is a signature
    of the folder's listing (names, etags, sizes, dates) so sync re-reads only changed folders.
    Text fields keep song.ini's raw values (rich-text tags included); search strips the tags.
    """

    class Format(models.TextChoices):
        CHART = "chart"
        MID = "mid"
        NONE = "", "none"

    title = models.CharField(max_length=500, blank=True)
    artist = models.CharField(max_length=500, blank=True)
    album = models.CharField(max_length=500, blank=True)
    genre = models.CharField(max_length=200, blank=True)
    year = models.CharField(max_length=40, blank=True)
    charter = models.CharField(max_length=500, blank=True)
    search_text = models.TextField(blank=True, help_text="Title, artist, charter without tags.")
    song_length_ms = models.IntegerField(null=True, blank=True)
    chart_length_ms = models.IntegerField(null=True, blank=True)
    preview_start_ms = models.IntegerField(null=True, blank=True)
    diffs = models.JSONField(default=dict, blank=True, help_text="Every diff_* from song.ini.")
    chart_format = models.CharField(max_length=5, choices=Format.choices, blank=True)
    chart_file = models.CharField(max_length=100, blank=True)
    note_counts = models.JSONField(default=dict, blank=True,
                                   help_text="instrument → difficulty → notes")
    star_power = models.JSONField(default=dict, blank=True)
    sections = models.JSONField(default=list, blank=True)
    audio_files = models.JSONField(default=list, blank=True)
    album_art = models.CharField(max_length=200, blank=True)
    has_audio = models.BooleanField(default=False)
    has_video = models.BooleanField(default=False)
    has_background = models.BooleanField(default=False)
    ini = models.JSONField(default=dict, blank=True, help_text="Known song.ini fields, typed.")
    ini_other = models.JSONField(default=dict, blank=True, help_text="Other song.ini keys.")
    files = models.JSONField(default=list, blank=True)
    issues = models.JSONField(default=list, blank=True)
    chart_hash = models.CharField(max_length=64, blank=True, db_index=True)
    remote_path = models.CharField(max_length=1000, unique=True)
    folder_etag = models.CharField(max_length=64, blank=True)
    synced_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["artist", "title", "id"]
        indexes = [models.Index(fields=["chart_format"])]

    def __str__(self):
        return f"{self.artist} – {self.title}"


class FolderEtag(models.Model):
    """The ETag the storage reported for the Songs folder and each folder directly in it at the
    last sync that read them completely. Nextcloud changes a folder's ETag whenever anything
    below it changes, so a sync only walks the folders whose ETag moved (`charts.sync`)."""

    path = models.CharField(max_length=1000, unique=True)
    etag = models.CharField(max_length=200)

    def __str__(self):
        return f"{self.path} @ {self.etag}"


class ChartSyncRun(LeasedRun):
    """One library sync (command, beat task, CronJob or the API)."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        PARTIAL = "partial", "succeeded with failures"
        FAILED = "failed"

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    trigger = models.CharField(max_length=10, default="cli")
    dry_run = models.BooleanField(default=False)
    purge = models.BooleanField(default=True)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    summary = models.JSONField(default=dict, blank=True)
    errors = models.JSONField(default=list, blank=True)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self):
        return f"Chart sync #{self.pk} {self.status}"


class ChartImportJob(LeasedRun):
    """Archives or folders imported by a worker; `files` holds one progress entry per upload:
    {"name", "status", "done", "total", "songs": [...], "duplicates": [...], "error"}."""

    lease_message_field = "error"

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    class Kind(models.TextChoices):
        IMPORT = "import"
        GENERATE = "generate", "generate from audio"

    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.IMPORT)
    params = models.JSONField(default=dict, blank=True, help_text="A generate job's metadata.")
    user = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL)
    paths = models.JSONField(default=list, help_text="Staged uploads (deleted when done).")
    cleanup = models.BooleanField(default=True, help_text="Delete the staged uploads after.")
    files = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
