"""Start-up checks: configuration mistakes fail loudly before the first request."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured


def assert_safe_to_start() -> None:
    """Called by every long-running entry point (ASGI, WSGI, Celery worker and beat), which
    do not run Django's system checks themselves."""
    errors = check_secret_key(None)
    if errors:
        raise ImproperlyConfigured(f"{errors[0].msg} {errors[0].hint}")


@register(Tags.security, deploy=False)
def check_secret_key(app_configs, **kwargs):
    if not settings.DEBUG and settings.SECRET_KEY == settings.INSECURE_SECRET_KEY:
        return [
            Error(
                "SECRET_KEY is the public development key while DEBUG is off.",
                hint="Set SECRET_KEY (or SECRET_KEY_FILE) to a long random value, "
                "or set DEBUG=1 for local development.",
                id="songhub.E001",
            )
        ]
    return []


@register()
def check_song_data_dir(app_configs, **kwargs):
    path = settings.SONG_DATA_DIR
    if path.exists() and not path.is_dir():
        return [Error(f"SONG_DATA_DIR={path} is not a directory.", id="songhub.E002")]
    return []


@register()
def check_sqlite_with_redis(app_configs, **kwargs):
    engine = settings.DATABASES["default"]["ENGINE"]
    if settings.REDIS_URL and engine.endswith("sqlite3") and not settings.DEBUG:
        return [
            Warning(
                "REDIS_URL is set but the database is SQLite.",
                hint="Several replicas need a shared database: set DATABASE_URL=postgres://...",
                id="songhub.W001",
            )
        ]
    return []
