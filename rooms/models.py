"""Room state lives in the database, so any web replica can serve any room."""

import uuid

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db import models
from django.utils import timezone


class Room(models.Model):
    class QueueMode(models.TextChoices):
        FAIR = "fair", "Fair rotation (round-robin by singer)"
        FIFO = "fifo", "First come, first served"

    name = models.CharField(max_length=120)
    host = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="hosted_rooms")
    password_hash = models.CharField(max_length=128, blank=True)
    current_song = models.ForeignKey("ingestion.Song", null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    current_page = models.PositiveSmallIntegerField(default=1)
    state_version = models.PositiveIntegerField(default=0, help_text="Song/page changes.")
    queue_mode = models.CharField(max_length=4, choices=QueueMode.choices,
                                  default=QueueMode.FAIR)
    queue_version = models.PositiveIntegerField(default=0)
    version = models.PositiveBigIntegerField(default=0, help_text="Sequence number of the "
                                             "room's events; every event carries it.")
    guests_can_queue = models.BooleanField(default=False, help_text="Guests may add their own "
                                           "songs to the karaoke queue.")
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.name

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    @property
    def has_password(self) -> bool:
        return bool(self.password_hash)

    def set_password(self, raw: str) -> None:
        self.password_hash = make_password(raw) if raw else ""

    def check_password(self, raw: str) -> bool:
        return not self.password_hash or check_password(raw or "", self.password_hash)


class Participant(models.Model):
    class Role(models.TextChoices):
        HOST = "host"
        CONTROLLER = "controller"
        DISPLAY = "display"
        VIEWER = "viewer"

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                             on_delete=models.CASCADE, related_name="room_memberships")
    guest_name = models.CharField(max_length=60, blank=True)
    guest_key = models.CharField(max_length=64, blank=True, db_index=True,
                                 help_text="A guest browser's identity (signed cookie).")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    can_control = models.BooleanField(default=False, help_text="Allowed by the host to "
                                      "change song, page, queue and playback (controllers) "
                                      "or to report player state (displays).")
    transpose = models.SmallIntegerField(default=0, help_text="Personal key, -11..+11.")
    capo = models.PositiveSmallIntegerField(default=0)
    joined_at = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now, help_text="Last connect, pong or "
                                     "disconnect; the reaper removes long-silent members.")
    left_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["joined_at"]
        constraints = [
            models.UniqueConstraint(fields=["room", "user"], condition=models.Q(left_at=None,
                                    user__isnull=False), name="one_active_membership_per_user"),
        ]

    def __str__(self):
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.user.get_username() if self.user_id else (self.guest_name or "guest")


class Connection(models.Model):
    """One open WebSocket, on whichever replica: leadership and client counts come from here."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="connections")
    channel_name = models.CharField(max_length=200, unique=True)
    client_type = models.CharField(max_length=10)
    participant = models.ForeignKey(Participant, null=True, on_delete=models.SET_NULL)
    is_host = models.BooleanField(default=False)
    connected_at = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["connected_at", "id"]


class QueueItem(models.Model):
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="queue")
    entry_id = models.CharField(max_length=64, default="")
    song = models.ForeignKey("ingestion.Song", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    title = models.CharField(max_length=300)
    artist = models.CharField(max_length=300, blank=True)
    duration = models.FloatField(null=True, blank=True)
    thumbnail_url = models.URLField(max_length=1000, blank=True)
    video_url = models.URLField(max_length=2000, blank=True)
    source = models.CharField(max_length=40, default="songhub")
    uploader = models.CharField(max_length=200, blank=True)
    singer = models.CharField(max_length=60, help_text="Who sings it; fair rotation key.")
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")
    queued_by = models.ForeignKey(Participant, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+", help_text="Who queued it (the singer).")
    position = models.IntegerField(null=True, blank=True, help_text="Order set by dragging; "
                                   "unset entries follow in queue-mode order.")
    added_at = models.DateTimeField(default=timezone.now)
    pinned_at = models.DateTimeField(null=True, blank=True, help_text="'Play next' order.")

    class Meta:
        ordering = ["added_at", "id"]

    def __str__(self):
        return self.title


class PlayerState(models.Model):
    class PlayState(models.TextChoices):
        PLAYING = "playing"
        PAUSED = "paused"
        BUFFERING = "buffering"
        FINISHED = "finished"
        LOADING = "loading"

    room = models.OneToOneField(Room, on_delete=models.CASCADE, related_name="player")
    entry = models.JSONField(null=True, blank=True)
    play_state = models.CharField(max_length=10, choices=PlayState.choices,
                                  default=PlayState.PAUSED)
    current_time = models.FloatField(default=0)
    duration = models.FloatField(default=0)
    volume = models.FloatField(default=1.0)
    version = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)


def new_entry_id() -> str:
    return uuid.uuid4().hex
