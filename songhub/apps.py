from django.apps import AppConfig


class SonghubConfig(AppConfig):
    name = "songhub"
    verbose_name = "Songhub"

    def ready(self):
        from django.conf import settings

        from . import checks  # noqa: F401  (registers the system checks)

        from .celery import ensure_broker_folders

        settings.SONG_DATA_DIR.mkdir(parents=True, exist_ok=True)
        ensure_broker_folders()
