from django.apps import AppConfig


class WorkersConfig(AppConfig):
    name = "workers"
    verbose_name = "Worker pool"

    def ready(self):
        from . import signals  # noqa: F401  (connects the Celery worker lifecycle hooks)
