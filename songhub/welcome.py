"""The one-time admin password, shown last and once.

`bootstrap_demo` creates the admin user. Run by hand it prints the password in a box at the end
of its output. Under `make run` (`--defer-password`) it would scroll away under ~200 lines of
daphne and Celery start-up, so it is kept in `SONG_DATA_DIR/.admin-password` (mode 0600) instead,
and `runall` prints it in a box once web and worker answer, then deletes the file: the password
is on screen once and on disk only until then. Lost it? `manage.py changepassword admin`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from django.conf import settings

CHANGE_HINT = "Change it any time: .venv/bin/python manage.py changepassword {username}"


def pending_path() -> Path:
    return Path(settings.SONG_DATA_DIR) / ".admin-password"


def defer(username: str, password: str) -> Path:
    """Keep the password for `runall` to print; readable by the owner only."""
    path = pending_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({"username": username, "password": password}, handle)
    return path


def take() -> tuple[str, str] | None:
    """The deferred (username, password), removed from disk; None when there is none."""
    path = pending_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    finally:
        path.unlink(missing_ok=True)
    return data["username"], data["password"]


def password_lines(username: str, password: str) -> list[str]:
    return [f"Admin user: {username}", f"Password:   {password}",
            "This password is shown only once.", CHANGE_HINT.format(username=username)]


def box(lines: list[str]) -> str:
    """Lines framed so they stand out in a scrolling terminal."""
    width = max(len(line) for line in lines)
    rule = "+" + "-" * (width + 2) + "+"
    return "\n".join([rule, *(f"| {line.ljust(width)} |" for line in lines), rule])
