"""The local `.env` file: written once by `make run`, read by `manage.py`.

`make run` needs DEBUG on and a private SECRET_KEY; the README's other commands
(`manage.py retrieve_songs`, `changepassword`, ...) must see the same values, or Django's checks
refuse the public development key. So `make run` writes them to `.env` in the checkout once
(`python -m songhub.envfile write`), and `manage.py` loads that file before Django starts.

Rules:
* the environment always wins over `.env` (values are only filled in where unset);
* the file is read only when it exists, and only by `manage.py` (and so by the daphne/Celery
  children `runall` starts): tests, `asgi.py`/`wsgi.py` and containers never pick up a
  developer's `.env`;
* `SONGHUB_ENV_FILE` names another file; set it empty to read none;
* an existing file is never rewritten, so its SECRET_KEY (signed cookies, sessions) stays.

Only the standard library and django-environ: this runs before Django is configured.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

TEMPLATE = """\
# Songhub local settings, written once by `make run` (git-ignored; never commit it).
# Read by manage.py; variables set in the environment win over this file.
# Every variable: docs/configuration.md.
SECRET_KEY={secret_key}
DEBUG=1
SONG_DATA_DIR={data_dir}
SONG_SYNC_SOURCE=local
# The embedded default is SQLite under SONG_DATA_DIR and no Redis; for production point these
# at real services:
# DATABASE_URL=postgres://songhub@127.0.0.1:5432/songhub
# REDIS_URL=redis://127.0.0.1:6379/0
"""


def env_file_path() -> Path | None:
    """The file to read: SONGHUB_ENV_FILE if set (empty: none), else `.env` in the checkout."""
    configured = os.environ.get("SONGHUB_ENV_FILE")
    if configured is None:
        return BASE_DIR / ".env"
    return Path(configured) if configured else None


def load() -> Path | None:
    """Fill unset environment variables from the env file, if there is one; return its path."""
    path = env_file_path()
    if path is None or not path.is_file():
        return None
    import environ

    environ.Env.read_env(str(path), overwrite=False)
    return path


def write(path: Path, data_dir: Path | None = None) -> bool:
    """Create the env file with a fresh SECRET_KEY; False (and untouched) if it exists."""
    data_dir = Path(data_dir or BASE_DIR / "song_data").resolve()
    body = TEMPLATE.format(secret_key=secrets.token_urlsafe(50), data_dir=data_dir)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(body)
    return True


def main(argv: list[str]) -> int:
    """`python -m songhub.envfile write [PATH]` (default: SONGHUB_ENV_FILE or ./.env)."""
    if not argv or argv[0] != "write" or len(argv) > 2:
        print("usage: python -m songhub.envfile write [PATH]", file=sys.stderr)
        return 2
    path = Path(argv[1]) if len(argv) == 2 else env_file_path()
    if path is None:
        print("SONGHUB_ENV_FILE is empty: no env file to write", file=sys.stderr)
        return 2
    if write(path):
        print(f"Wrote {path} (a new SECRET_KEY, DEBUG=1, SONG_DATA_DIR, SONG_SYNC_SOURCE=local).")
    else:
        print(f"Using the existing {path}.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
