"""Bench setup: a throwaway SONG_DATA_DIR and database, then django.setup() and migrate.

With DATABASE_URL=postgres://… the bench uses a fresh database `<name>_bench` on that server
(dropped and re-created); otherwise SQLite in the temporary folder. Temporary folders go when
the bench exits (a cold 1,000-song ingest leaves 160 MB); BENCH_KEEP_FILES=1 keeps them.
"""

import atexit
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _exit_on_sigterm() -> None:
    """`timeout` and `kill` send SIGTERM, which skips atexit: make it a normal exit."""
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


def scratch(label: str) -> Path:
    """A temporary folder removed when the bench exits, unless BENCH_KEEP_FILES=1."""
    folder = Path(tempfile.mkdtemp(prefix=f"songhub-bench-{label}-"))
    _exit_on_sigterm()
    if os.environ.get("BENCH_KEEP_FILES", "") not in ("", "0", "false", "no"):
        atexit.register(print, f"kept {folder}", file=sys.stderr)
    else:
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def setup(label: str, reuse_database: bool = False) -> Path:
    """`reuse_database`: keep `<name>_bench` as the last run left it (re-measure without
    reloading a large data set)."""
    data_dir = scratch(label) / "song_data"
    data_dir.mkdir(parents=True)
    os.environ["SONG_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "songhub.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("SECRET_KEY", "songhub-bench-only-" + "b" * 40)
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        import psycopg

        parts = urlsplit(url)
        name = f"{parts.path.lstrip('/') or 'songhub'}_bench"
        admin = urlunsplit(parts._replace(path="/postgres"))
        with psycopg.connect(admin, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                  [name]).fetchone()
            if not (reuse_database and exists):
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                conn.execute(f'CREATE DATABASE "{name}"')
        os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{name}"))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    return data_dir


def setup_existing() -> None:
    """For a child process of a bench: the parent's environment, database already migrated."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "songhub.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("SECRET_KEY", "songhub-bench-only-" + "b" * 40)
    import django

    django.setup()
