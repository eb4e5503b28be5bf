"""Where ChordPro files come from: a GitHub repository (Git Trees + Blobs API) or a folder.

Both sources answer the same two questions: which files exist, with their git blob SHA
(`list_files`), and what is in one of them (`fetch`). The pipeline compares SHAs with what it
stored last time and fetches only what changed.
"""

from __future__ import annotations

import base64
import logging
import random
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path

import requests
from requests.adapters import HTTPAdapter

from .store import UnsafePath, git_blob_sha, is_chordpro_candidate, safe_relative_path

logger = logging.getLogger(__name__)

MAX_DOWNLOADS = 10  # concurrent blob downloads, as the seed's semaphore


class SourceError(Exception):
    """The source cannot be read at all: the run stops with a clear message."""


class RateLimited(SourceError):
    pass


@dataclass(frozen=True)
class RemoteFile:
    path: str
    sha: str
    size: int


@dataclass
class Listing:
    files: dict[str, RemoteFile]
    skipped: list[dict]  # junk: {"path", "reason"}


def _classify(path: str, size: int, max_bytes: int) -> str | None:
    """Why a tree entry is skipped, or None when it is a ChordPro file to take."""
    try:
        pure = safe_relative_path(path)
    except UnsafePath:
        return "unsafe path"
    if "__MACOSX" in pure.parts or pure.name.startswith("._"):
        return "macOS junk"
    if not is_chordpro_candidate(path):
        return "not chordpro"
    if size > max_bytes:
        return f"too large ({size} bytes > {max_bytes})"
    return None


def _listing(entries, max_bytes: int) -> Listing:
    files, skipped = {}, []
    for path, sha, size in entries:
        reason = _classify(path, size, max_bytes)
        if reason is None:
            files[path] = RemoteFile(path, sha, size)
        elif reason != "not chordpro":
            skipped.append({"path": path, "reason": reason})
    return Listing(files, skipped)


class GitHubSource:
    """A repository read through GitHub's REST API at `api_url` (a loopback server in tests)."""

    in_place = False

    def __init__(self, api_url: str, repo: str, ref: str = "HEAD", token: str = "",
                 timeout: float = 20.0, max_rate_limit_wait: float = 60.0,
                 max_bytes: int = 1024 * 1024, attempts: int = 4):
        if repo.count("/") != 1 or not all(repo.split("/")):
            raise SourceError(f"SONGS_REPO must look like owner/name, got {repo!r}")
        self.api_url = api_url.rstrip("/")
        self.repo = repo
        self.ref = ref or "HEAD"
        self.timeout = timeout
        self.max_rate_limit_wait = max_rate_limit_wait
        self.max_bytes = max_bytes
        self.attempts = attempts
        self.session = requests.Session()
        self.session.mount("http://", HTTPAdapter(pool_connections=4, pool_maxsize=MAX_DOWNLOADS))
        self.session.mount("https://", HTTPAdapter(pool_connections=4, pool_maxsize=MAX_DOWNLOADS))
        self.session.headers.update({
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": "songhub-ingestion",
        })
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"
        self.requests_made = 0

    def describe(self) -> str:
        return f"github:{self.repo}@{self.ref}"

    def list_files(self) -> Listing:
        """The whole tree in one request."""
        url = f"{self.api_url}/repos/{self.repo}/git/trees/{self.ref}"
        body = self._get(url, params={"recursive": "1"}).json()
        if body.get("truncated"):
            logger.warning("GitHub truncated the tree of %s; some songs may be missing", self.repo)
        entries = [
            (item["path"], item["sha"], int(item.get("size") or 0))
            for item in body.get("tree", [])
            if item.get("type") == "blob" and "path" in item and "sha" in item
        ]
        return _listing(entries, self.max_bytes)

    def fetch(self, file: RemoteFile) -> bytes:
        body = self._get(f"{self.api_url}/repos/{self.repo}/git/blobs/{file.sha}").json()
        if body.get("encoding") != "base64":
            raise SourceError(f"unexpected blob encoding {body.get('encoding')!r} for {file.path}")
        return base64.b64decode(body.get("content", ""))

    # -- HTTP -----------------------------------------------------------------------------
    def _get(self, url: str, **kwargs) -> requests.Response:
        """GET with timeouts, bounded retries on 5xx / network errors, and rate-limit waits."""
        last_error = ""
        for attempt in range(1, self.attempts + 1):
            try:
                self.requests_made += 1
                response = self.session.get(url, timeout=self.timeout, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as exc:
                last_error = f"{exc.__class__.__name__}: {exc}"
                self._backoff(attempt)
                continue
            if response.status_code < 400:
                return response
            wait = self._rate_limit_wait(response)
            if wait is not None:
                if wait > self.max_rate_limit_wait or attempt == self.attempts:
                    raise RateLimited(
                        f"GitHub rate limit reached ({response.status_code}); it resets in "
                        f"{wait:.0f} s. Stopping instead of waiting longer than "
                        f"{self.max_rate_limit_wait:.0f} s; set GITHUB_TOKEN for a higher limit."
                    )
                logger.warning("GitHub rate limit: waiting %.1f s before retrying", wait)
                time.sleep(max(wait, 0.5))
                continue
            if response.status_code >= 500:
                last_error = f"HTTP {response.status_code}"
                self._backoff(attempt)
                continue
            if response.status_code == 404:
                raise SourceError(f"GitHub says not found: {url} (check SONGS_REPO and the ref)")
            if response.status_code == 401:
                raise SourceError("GitHub rejected the credentials (check GITHUB_TOKEN)")
            raise SourceError(f"GitHub answered {response.status_code} for {url}")
        raise SourceError(f"GitHub unreachable after {self.attempts} attempts: {last_error}")

    @staticmethod
    def _rate_limit_wait(response: requests.Response) -> float | None:
        if response.status_code not in (403, 429):
            return None
        retry_after = response.headers.get("Retry-After")
        if retry_after:
            try:
                return max(0.0, float(retry_after))
            except ValueError:
                try:
                    return max(0.0, parsedate_to_datetime(retry_after).timestamp() - time.time())
                except (TypeError, ValueError):
                    return 60.0
        if response.headers.get("X-RateLimit-Remaining") == "0":
            reset = response.headers.get("X-RateLimit-Reset", "")
            return max(0.0, float(reset) - time.time()) if reset.isdigit() else 60.0
        return None  # a plain 403 (no rate-limit headers) is a permission error

    @staticmethod
    def _backoff(attempt: int) -> None:
        time.sleep(min(8.0, 0.25 * 2 ** (attempt - 1)) * (0.5 + random.random()))


class DirectorySource:
    """ChordPro files in a local folder, mirrored into the songs folder like a repository."""

    def __init__(self, root: Path, max_bytes: int = 1024 * 1024, in_place: bool = False):
        self.root = Path(root)
        self.max_bytes = max_bytes
        self.in_place = in_place  # True when the folder *is* the songs folder (--no-sync)
        self.requests_made = 0

    def describe(self) -> str:
        return f"dir:{self.root}"

    def list_files(self) -> Listing:
        if not self.root.is_dir():
            raise SourceError(f"source folder {self.root} does not exist")
        entries = []
        for file in sorted(self.root.rglob("*")):
            if file.is_file() and not file.is_symlink():
                rel = file.relative_to(self.root).as_posix()
                size = file.stat().st_size
                sha = git_blob_sha(file.read_bytes()) if size <= self.max_bytes and \
                    is_chordpro_candidate(rel) else ""
                entries.append((rel, sha, size))
        return _listing(entries, self.max_bytes)

    def fetch(self, file: RemoteFile) -> bytes:
        return (self.root / safe_relative_path(file.path)).read_bytes()
