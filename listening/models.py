"""Listening analytics data: Spotify listeners, tracks, artists, plays and playlists."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from songhub.models import LeasedRun

from .crypto import decrypt, encrypt


class Listener(models.Model):
    class Mode(models.TextChoices):
        HISTORY = "history", "History (recently played, every 20 min)"
        REALTIME = "realtime", "Realtime (currently playing, every 5 s)"
        HYBRID = "hybrid", "Hybrid (history, plus realtime for local files)"

    class Status(models.IntegerChoices):
        STOPPED = 0
        RUNNING = 1
        PROCESSING = 2

    # null: a listener made from a data export alone, before (or without) linking Spotify
    spotify_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    user = models.OneToOneField(settings.AUTH_USER_MODEL, null=True, blank=True,
                                on_delete=models.CASCADE, related_name="listener")
    display_name = models.CharField(max_length=200, blank=True)
    enabled = models.BooleanField(default=True)
    mode = models.CharField(max_length=8, choices=Mode.choices, default=Mode.HISTORY)
    status_song = models.SmallIntegerField(choices=Status.choices, default=Status.STOPPED)
    status_playlist = models.SmallIntegerField(choices=Status.choices, default=Status.STOPPED)
    assigned_worker = models.ForeignKey("workers.Worker", null=True, blank=True,
                                        on_delete=models.SET_NULL, related_name="listeners")
    app_client_id = models.CharField(max_length=64, blank=True,
                                     help_text="The Spotify app this listener authorized.")
    access_token_encrypted = models.TextField(blank=True, editable=False)
    refresh_token_encrypted = models.TextField(blank=True, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    backoff_until = models.DateTimeField(null=True, blank=True,
                                         help_text="Set by a 429 answer; polls wait until then.")
    last_history_poll = models.DateTimeField(null=True, blank=True)
    last_realtime_poll = models.DateTimeField(null=True, blank=True)
    last_playlist_scan = models.DateTimeField(null=True, blank=True)
    last_counted_track = models.CharField(max_length=22, blank=True)
    last_error = models.CharField(max_length=300, blank=True,
                                  help_text="Why the last Spotify call failed for good; cleared "
                                            "by the next success. The dashboard shows it.")
    last_error_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["enabled", "assigned_worker"])]

    def __str__(self):
        return self.display_name or self.spotify_id or f"listener {self.pk}"

    @property
    def access_token(self) -> str:
        return decrypt(self.access_token_encrypted)

    @property
    def refresh_token(self) -> str:
        return decrypt(self.refresh_token_encrypted)

    def set_tokens(self, access: str, refresh: str | None, expires_at) -> None:
        self.access_token_encrypted = encrypt(access)
        if refresh:
            self.refresh_token_encrypted = encrypt(refresh)
        self.expires_at = expires_at


class Artist(models.Model):
    id = models.CharField(primary_key=True, max_length=22)
    name = models.CharField(max_length=300)

    def __str__(self):
        return self.name


class Track(models.Model):
    """A Spotify track, or a local file with a deterministic id starting with ':'."""

    id = models.CharField(primary_key=True, max_length=22)
    name = models.CharField(max_length=500)
    duration_ms = models.PositiveIntegerField(default=0)
    album = models.CharField(max_length=500, blank=True)
    artists = models.ManyToManyField(Artist, blank=True, related_name="tracks")

    def __str__(self):
        return self.name

    @property
    def is_local(self) -> bool:
        return self.id.startswith(":")


class ListeningEvent(models.Model):
    listener = models.ForeignKey(Listener, on_delete=models.CASCADE, related_name="events")
    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="events")
    played_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["listener", "played_at"],
                                               name="one_play_per_listener_instant")]
        indexes = [models.Index(fields=["played_at", "listener"])]
        ordering = ["-played_at"]


class PlayCount(models.Model):
    listener = models.ForeignKey(Listener, on_delete=models.CASCADE, related_name="play_counts")
    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="play_counts")
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["listener", "track"],
                                               name="one_count_per_listener_track")]


class Playlist(models.Model):
    id = models.CharField(primary_key=True, max_length=64)
    listener = models.ForeignKey(Listener, on_delete=models.CASCADE, related_name="playlists")
    name = models.CharField(max_length=300)
    snapshot_id = models.CharField(max_length=120, blank=True)
    scanned_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return self.name


class PlaylistTrack(models.Model):
    playlist = models.ForeignKey(Playlist, on_delete=models.CASCADE, related_name="entries")
    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="playlist_entries")
    position = models.PositiveIntegerField()
    added_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["playlist", "position"]
        constraints = [models.UniqueConstraint(fields=["playlist", "position"],
                                               name="one_track_per_playlist_position")]


class ImportJob(LeasedRun):
    """One historical import run by a worker; the page polls its progress. A job whose worker
    died is marked failed by songhub.runs (it beats while it runs)."""

    lease_message_field = "error"

    class Kind(models.TextChoices):
        ANALYZE = "analyze"  # classify only; the stats are the answer
        IMPORT = "import"

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    listener = models.ForeignKey(Listener, on_delete=models.CASCADE, related_name="imports")
    upload_path = models.CharField(max_length=500)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.IMPORT)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    stats = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)


class SpotifyApp(models.Model):
    """What songhub learned about a configured Spotify app at run time (the configuration
    itself is SPOTIFY_APPS). `per_id_since` is set when a batch endpoint answered 403: from
    then on that app's requests go one id at a time (Development Mode, 2026)."""

    client_id = models.CharField(primary_key=True, max_length=64)
    per_id_since = models.DateTimeField(null=True, blank=True)
    per_id_reason = models.CharField(max_length=300, blank=True)

    def __str__(self):
        return self.client_id
