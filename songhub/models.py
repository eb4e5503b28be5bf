import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone


def hash_token(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiToken(models.Model):
    """A bearer token for API clients (`Authorization: Token <key>`); only its hash is kept."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="What the token is for.")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.user} · {self.name}"

    @classmethod
    def issue(cls, user, name: str) -> tuple["ApiToken", str]:
        """Create a token; the plain key is returned once and never stored."""
        key = secrets.token_urlsafe(32)
        return cls.objects.create(user=user, name=name, key_hash=hash_token(key)), key


class LeasedRun(models.Model):
    """A job row (sync run, import, chart sync) that says whether its owner still lives.

    Whoever runs it refreshes `heartbeat_at` (songhub.runs.heartbeat); a RUNNING row whose
    heartbeat is older than RUN_STALE_SECONDS lost its owner (kill -9, OOM, node gone) and
    songhub.runs.reap_stale() marks it FAILED, so it never stays "running" forever. Subclasses
    have `status` with "running"/"failed", `finished_at`, and name their message field."""

    RUNNING, FAILED = "running", "failed"
    lease_message_field = "message"

    owner = models.CharField(max_length=200, blank=True, help_text="host:pid running it.")
    heartbeat_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        abstract = True
