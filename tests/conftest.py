"""Shared fixtures: an isolated SONG_DATA_DIR per test, the loopback GitHub, service markers."""

import os
import shutil
from pathlib import Path

import pytest

pytest_plugins = ["tests.rooms_fixtures",  # host, guest_user, stranger, song, room personas
                  "tests.charts_support",  # webdav (loopback WebDAV server)
                  "tests.graph_fixtures"]  # loopback setlist sources for the graph

REQUIRE_SERVICES = os.environ.get("SONGHUB_REQUIRE_SERVICES") == "1"
DEMO_SONGS = Path(__file__).resolve().parent.parent / "ingestion" / "demo_songs"


def pytest_configure(config):
    """Tests run with DEBUG off, like production, so they need a non-default key."""
    from django.conf import settings

    settings.SECRET_KEY = "songhub-test-suite-" + "k" * 40
    # consumer threads must not keep connections that block dropping the test database
    settings.DATABASES["default"]["CONN_MAX_AGE"] = 0
    # the test process connects directly (test database create/drop); daphne children pool
    settings.DATABASES["default"].get("OPTIONS", {}).pop("pool", None)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's test databases, dropped cleanly at the end. Threads of this process keep
    connections open: Channels' test communicator turns close_old_connections into a no-op
    while it awaits (channels.testing.ApplicationCommunicator), so the rooms' database threads
    never close theirs here, and tests' own thread pools don't either. PostgreSQL refuses to
    drop a database anyone is connected to."""
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid()")


def _missing_service(item) -> str | None:
    from django.conf import settings
    from django.db import connection

    if item.get_closest_marker("postgres") and connection.vendor != "postgresql":
        return "needs PostgreSQL: set DATABASE_URL=postgres://..."
    if item.get_closest_marker("redis") and not settings.REDIS_URL:
        return "needs Redis: set REDIS_URL=redis://..."
    if item.get_closest_marker("browser") and not Path("/usr/bin/chromium").exists():
        return "needs Debian chromium at /usr/bin/chromium (apt-get install chromium)"
    return None


def pytest_runtest_setup(item):
    reason = _missing_service(item)
    if reason:
        if REQUIRE_SERVICES:
            pytest.fail(f"SONGHUB_REQUIRE_SERVICES=1 but this test {reason}", pytrace=False)
        pytest.skip(reason)


@pytest.fixture(autouse=True)
def song_data(settings, tmp_path):
    """Every test gets its own song data folder and plain static storage (no manifest)."""
    settings.SONG_DATA_DIR = tmp_path / "song_data"
    settings.SONG_DATA_DIR.mkdir()
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    return settings.SONG_DATA_DIR


@pytest.fixture
def github(settings, tmp_path):
    """A loopback GitHub serving `tmp_path/repo`, preloaded with the demo songbook."""
    from tests.fakes.github import FakeGitHub

    root = tmp_path / "repo"
    shutil.copytree(DEMO_SONGS, root)
    server = FakeGitHub(root).start()
    settings.GITHUB_API_URL = server.url
    settings.SONGS_REPO = server.repo
    settings.GITHUB_TOKEN = ""
    settings.GITHUB_MAX_RATE_LIMIT_WAIT_SECONDS = 2
    yield server
    server.stop()


@pytest.fixture
def curator(django_user_model):
    return django_user_model.objects.create_superuser("curator", "curator@example.com", "pw-curator-1")


CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def chromium():
    """Debian's chromium driven by Playwright (Playwright cannot download browsers here).

    Module-scoped: Playwright's sync API keeps an event loop running in the main thread while
    it is open, which would break async tests (and async_to_sync) in later modules."""
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's loop, sync ORM
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                             args=CHROMIUM_FLAGS)
        # Playwright runs wait_for_function("…") through eval() inside the page, which the
        # Content-Security-Policy (no 'unsafe-eval') refuses; behaviour tests bypass the policy,
        # tests/test_security_headers.py opens its pages with bypass_csp=False to enforce it.
        new_context = browser.new_context
        browser.new_context = lambda **options: new_context(**{"bypass_csp": True, **options})
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    """A fresh browser page that records console errors and page errors in `page.errors`."""
    context = chromium.new_context()
    page = context.new_page()
    page.errors = []
    page.on("console", lambda msg: msg.type == "error" and page.errors.append(msg.text))
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    yield page
    context.close()


@pytest.fixture
def spotify(settings):
    """A loopback Spotify (accounts + Web API) and the app credentials that match it."""
    yield from _loopback_spotify(settings, "extended")


@pytest.fixture(params=["extended", "development"])
def spotify_both(request, settings):
    """The loopback Spotify in each API dialect in turn, with an app of that mode."""
    yield from _loopback_spotify(settings, request.param)


def _loopback_spotify(settings, mode):
    from tests.fakes.spotify import FakeSpotify

    server = FakeSpotify(mode=mode)
    settings.SPOTIFY_ACCOUNTS_URL = server.url
    settings.SPOTIFY_API_URL = server.url
    settings.SPOTIFY_CLIENT_ID = server.client_id
    settings.SPOTIFY_CLIENT_SECRET = server.client_secret
    settings.SPOTIFY_CLIENT_MODE = mode
    yield server
    server.stop()
