from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone


class WorkerQuerySet(models.QuerySet):
    def live(self):
        cutoff = timezone.now() - timedelta(seconds=settings.WORKER_STALE_SECONDS)
        return self.filter(last_heartbeat__gte=cutoff)

    def stale(self):
        cutoff = timezone.now() - timedelta(seconds=settings.WORKER_STALE_SECONDS)
        return self.filter(last_heartbeat__lt=cutoff)


class Worker(models.Model):
    """One running Celery worker process; the row lives as long as its heartbeat does."""

    id = models.CharField(primary_key=True, max_length=64)
    hostname = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField(default=timezone.now)
    last_heartbeat = models.DateTimeField(default=timezone.now, db_index=True)
    healthy = models.BooleanField(default=True)
    last_error = models.TextField(blank=True)

    objects = WorkerQuerySet.as_manager()

    class Meta:
        ordering = ["started_at"]

    def __str__(self):
        return f"{self.hostname}:{self.pid}"

    @property
    def is_live(self) -> bool:
        age = timezone.now() - self.last_heartbeat
        return age.total_seconds() < settings.WORKER_STALE_SECONDS
