"""The configured chart storage: WebDAV/Nextcloud when NEXTCLOUD_URL is set, else a local folder.

`get_storage()` builds it from settings on each call (cheap; settings may change in tests);
`folder(kind)` names the folder for a content type (NEXTCLOUD_FOLDERS).
"""

from django.conf import settings

from .base import (  # noqa: F401
    Entry, NotFound, Storage, StorageError, UnsafePath, confine, join, safe_name,
)
from .local import LocalStorage
from .webdav import WebDAVStorage

DEFAULT_FOLDERS = {"songs": "Songs", "backgrounds": "Backgrounds", "colors": "Colors",
                   "highways": "Highways", "generator": "Generator", "temp": "Temp"}


def get_storage(timeout: float | None = None, attempts: int = 4) -> Storage:
    if settings.NEXTCLOUD_URL:
        return WebDAVStorage(settings.NEXTCLOUD_URL, settings.NEXTCLOUD_USERNAME,
                             settings.NEXTCLOUD_PASSWORD, settings.NEXTCLOUD_REMOTE_PATH,
                             timeout=timeout or settings.NEXTCLOUD_TIMEOUT_SECONDS,
                             attempts=attempts,
                             propagates_etags=settings.NEXTCLOUD_ETAG_PROPAGATION)
    return LocalStorage(settings.CHARTS_DIR or settings.SONG_DATA_DIR / "charts")


def folder(kind: str) -> str:
    folders = {**DEFAULT_FOLDERS, **settings.NEXTCLOUD_FOLDERS}
    return confine(folders[kind], allow_root=False)


def check(storage: Storage | None = None) -> str:
    """'ok' or why the storage cannot be reached; for /health and the status API. One quick
    attempt (2 s): a slow Nextcloud must not make the readiness probe time out."""
    try:
        (storage or get_storage(timeout=2.0, attempts=1)).list("")
        return "ok"
    except StorageError as exc:
        return f"error: {exc}"
