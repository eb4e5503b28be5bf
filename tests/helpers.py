"""Small helpers shared by test modules."""

from ingestion import pipeline


def sync(**options) -> pipeline.SyncReport:
    """Run the pipeline in-process with a single render process (fast for a handful of songs)."""
    options.setdefault("concurrency", 1)
    return pipeline.run_sync(pipeline.SyncOptions(**options))


def subprocess_env(data_dir, **extra) -> dict:
    """Environment for a child process (manage.py, celery, daphne) that shares the test
    database: the same PostgreSQL test database, or the SQLite test file."""
    import os

    from django.conf import settings
    from django.db import connection

    db = connection.settings_dict
    if connection.vendor == "postgresql":
        url = (f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:"
               f"{db['PORT'] or 5432}/{db['NAME']}")
    else:
        url = f"sqlite:///{db['NAME']}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "COV_"))}
    env.update({"DATABASE_URL": url, "SONG_DATA_DIR": str(data_dir), "DEBUG": "1",
                "REDIS_URL": settings.REDIS_URL, "LOG_LEVEL": "INFO"})
    env.update({k: str(v) for k, v in extra.items()})
    return env
