"""Songhub settings: every value comes from the environment, with safe defaults.

With no environment at all songhub runs "embedded": SQLite under SONG_DATA_DIR, an in-memory
channel layer and a filesystem Celery broker, so a real worker and beat run with no servers.
Setting DATABASE_URL / REDIS_URL switches each part to PostgreSQL / Redis. See
docs/configuration.md for every variable.
"""

import json
import sys
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VERSION = "0.1.0"

# The development key is public on purpose; songhub.checks refuses it when DEBUG is off.
INSECURE_SECRET_KEY = "django-insecure-songhub-development-key-do-not-use-in-production"

env = environ.Env()
environ.Env.smart_cast = False  # never guess types: every value below states its own


def _secret(name, default=""):
    """Read NAME, or the contents of the file named by NAME_FILE (Kubernetes secret mounts)."""
    path = env.str(f"{name}_FILE", default="")
    if path:
        try:
            return Path(path).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={path!r} cannot be read: {exc}") from exc
    return env.str(name, default=default)


def _bool(name, default):
    """A strict boolean: 1/0, true/false, yes/no, on/off; anything else stops start-up."""
    raw = env.str(name, default="").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; use 1/0 or true/false")


DEBUG = _bool("DEBUG", default=False)
SECRET_KEY = _secret("SECRET_KEY", default=INSECURE_SECRET_KEY)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()

SONG_DATA_DIR = Path(env.str("SONG_DATA_DIR", default=str(BASE_DIR / "song_data"))).resolve()

# --- Outside services -----------------------------------------------------------------------
GITHUB_API_URL = env.str("GITHUB_API_URL", default="https://api.github.com").rstrip("/")
GITHUB_TOKEN = _secret("GITHUB_TOKEN")
SONGS_REPO = env.str("SONGS_REPO", default="hopekcc/song-db-chordpro")
SONGS_REF = env.str("SONGS_REF", default="HEAD")
GITHUB_TIMEOUT_SECONDS = env.float("GITHUB_TIMEOUT_SECONDS", default=20.0)
GITHUB_MAX_RATE_LIMIT_WAIT_SECONDS = env.float("GITHUB_MAX_RATE_LIMIT_WAIT_SECONDS", default=60.0)
CHORDPRO_PATH = env.str("CHORDPRO_PATH", default="")
CHORDPRO_TIMEOUT_SECONDS = env.float("CHORDPRO_TIMEOUT_SECONDS", default=60.0)
SONG_MAX_BYTES = env.int("SONG_MAX_BYTES", default=1024 * 1024)
SONG_SYNC_INTERVAL_SECONDS = env.int("SONG_SYNC_INTERVAL_SECONDS", default=3600)
# pg_trgm word similarity a fuzzy match needs (of the query with a stretch of "title artist")
SEARCH_SIMILARITY_THRESHOLD = env.float("SEARCH_SIMILARITY_THRESHOLD", default=0.6)
if not 0 < SEARCH_SIMILARITY_THRESHOLD <= 1:
    raise ImproperlyConfigured("SEARCH_SIMILARITY_THRESHOLD must be in (0, 1]")

SPOTIFY_CLIENT_ID = env.str("SPOTIFY_CLIENT_ID", default="")
SPOTIFY_CLIENT_SECRET = _secret("SPOTIFY_CLIENT_SECRET")
SPOTIFY_REDIRECT_URI = env.str(
    "SPOTIFY_REDIRECT_URI", default="http://127.0.0.1:8000/analytics/loginResponse"
)
SPOTIFY_APP_MAX_USERS = env.int("SPOTIFY_APP_MAX_USERS", default=5)  # a development app's cap
# The SPOTIFY_CLIENT_ID app's dialect: development (default) or extended (listening/spotify_apps.py)
SPOTIFY_CLIENT_MODE = env.str("SPOTIFY_CLIENT_MODE", default="development")
# More Spotify apps: a JSON list of {"client_id", "client_secret", "mode", "max_users"};
# SPOTIFY_CLIENT_ID/SECRET, when set, is the first app.
try:
    from listening.spotify_apps import app as _spotify_app, normalize as _spotify_apps

    SPOTIFY_APPS = _spotify_apps(json.loads(_secret("SPOTIFY_APPS") or "[]"),
                                 SPOTIFY_APP_MAX_USERS)
    _spotify_app("x", "x", SPOTIFY_CLIENT_MODE, "default", 5, "SPOTIFY_CLIENT_MODE")
except ValueError as exc:  # json.JSONDecodeError included
    raise ImproperlyConfigured(f"SPOTIFY_APPS must be a JSON list of app objects: {exc}") from None
SPOTIFY_TOKEN_KEY = _secret("SPOTIFY_TOKEN_KEY")  # Fernet key; empty: derived from SECRET_KEY
SPOTIFY_TIMEOUT_SECONDS = env.float("SPOTIFY_TIMEOUT_SECONDS", default=10.0)
IMPORT_MAX_UPLOAD_BYTES = env.int("IMPORT_MAX_UPLOAD_BYTES", default=500 * 1024 * 1024)
IMPORT_MAX_UNCOMPRESSED_BYTES = env.int("IMPORT_MAX_UNCOMPRESSED_BYTES", default=1024**3)
IMPORT_MAX_RATIO = env.int("IMPORT_MAX_RATIO", default=100)
FILE_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024  # larger uploads stream to a temporary file
LINK_ARTISTS_PACE_SECONDS = env.float("LINK_ARTISTS_PACE_SECONDS", default=1.0)
SPOTIFY_API_URL = env.str("SPOTIFY_API_URL", default="https://api.spotify.com").rstrip("/")
SPOTIFY_ACCOUNTS_URL = env.str(
    "SPOTIFY_ACCOUNTS_URL", default="https://accounts.spotify.com"
).rstrip("/")

# --- Applications ---------------------------------------------------------------------------
# daphne's app only makes `runserver` serve ASGI (HTTP + WebSocket); it imports Twisted and
# OpenSSL (~0.3 s), which every other command (workers, beat, CronJobs) would pay for nothing.
# Production runs the `daphne` program itself (runall, containerfile), which needs no app.
RUNSERVER = sys.argv[1:2] == ["runserver"]
INSTALLED_APPS = [
    *(["daphne"] if RUNSERVER else []),  # first, to replace runserver
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "channels",
    "django_celery_beat",
    "songhub",
    "ingestion",
    "rooms",
    "workers",
    "listening",
    "charts",
    "graph",
    "works",
    "corsheaders",
    "setlists",
]

MIDDLEWARE = [
    "songhub.observability.MetricsMiddleware",
    "songhub.logging.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "corsheaders.middleware.CorsMiddleware",  # before CommonMiddleware (django-cors-headers)
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "songhub.auth.TokenAuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "songhub.notfound.NotFoundPageMiddleware",  # the project's 404 page also under DEBUG
]

ROOT_URLCONF = "songhub.urls"
WSGI_APPLICATION = "songhub.wsgi.application"
ASGI_APPLICATION = "songhub.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "songhub.context_processors.version",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASES = {
    "default": env.db_url(
        "DATABASE_URL", default=f"sqlite:///{SONG_DATA_DIR / 'songhub.sqlite3'}"
    )
}
# Under daphne every HTTP request runs in a thread of its own, so per-thread persistent
# connections (CONN_MAX_AGE > 0) pile up until PostgreSQL refuses clients (issue #11.1). With
# PostgreSQL the process borrows from a psycopg pool of at most DB_POOL_MAX_SIZE connections and
# hands the connection back when the request (task, poll) ends; Django requires CONN_MAX_AGE=0
# then. Celery worker and beat drop the pool (songhub.celery.use_direct_connections).
# The budget per pod is in docs/deployment.md.
DB_POOL_MIN_SIZE = env.int("DB_POOL_MIN_SIZE", default=1)
DB_POOL_MAX_SIZE = env.int("DB_POOL_MAX_SIZE", default=10)  # 0: no pool
DB_POOL_TIMEOUT_SECONDS = env.float("DB_POOL_TIMEOUT_SECONDS", default=10.0)
if DB_POOL_MIN_SIZE < 0 or DB_POOL_MAX_SIZE < 0 or (
        DB_POOL_MAX_SIZE and DB_POOL_MIN_SIZE > DB_POOL_MAX_SIZE):
    raise ImproperlyConfigured("DB_POOL_MIN_SIZE and DB_POOL_MAX_SIZE must satisfy "
                               "0 <= DB_POOL_MIN_SIZE <= DB_POOL_MAX_SIZE (0: no pool)")
if DB_POOL_TIMEOUT_SECONDS <= 0:
    raise ImproperlyConfigured("DB_POOL_TIMEOUT_SECONDS must be positive")
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
# Celery worker and beat: no pool; each thread keeps its connection this long (songhub.celery).
WORKER_CONN_MAX_AGE = env.int("WORKER_CONN_MAX_AGE", default=300)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and DB_POOL_MAX_SIZE:
    if DATABASES["default"]["CONN_MAX_AGE"]:
        raise ImproperlyConfigured("CONN_MAX_AGE must be 0 while the connection pool is on "
                                   "(DB_POOL_MAX_SIZE > 0); the pool keeps connections instead")
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": DB_POOL_MIN_SIZE, "max_size": DB_POOL_MAX_SIZE,
        "timeout": DB_POOL_TIMEOUT_SECONDS, "name": "songhub",
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while the worker writes; the timeout rides out short locks.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # a file, not :memory:, so tests can share the test database with real worker processes
    DATABASES["default"]["TEST"] = {"NAME": str(SONG_DATA_DIR / "test_songhub.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, channel layer, Celery ----------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "songhub.observability.CountingRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "songhub",
        }
    }
    # Pub/sub: a group message crosses Redis once per process and fans out in memory; the
    # list-based RedisChannelLayer pops one message per client from Redis (bench/rooms_fanout.py).
    # Redis pub/sub ignores the DB number, so two deployments sharing one Redis are kept apart
    # by this prefix alone; the default follows the database name (one deployment, one DB).
    CHANNEL_LAYER_PREFIX = env.str(
        "CHANNEL_LAYER_PREFIX", default=f"songhub-{DATABASES['default']['NAME']}"
    )
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "songhub.channel_layer.PipelinedPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": CHANNEL_LAYER_PREFIX},
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
else:
    CACHES = {"default": {"BACKEND": "songhub.observability.CountingLocMemCache"}}
    CHANNEL_LAYER_PREFIX = ""
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    # kombu's filesystem transport: a real broker shared by web, worker and beat, no server.
    CELERY_BROKER_DIR = SONG_DATA_DIR / "celery-broker"
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        "store_processed": False,
    }
    CELERY_RESULT_BACKEND = None  # no task here returns a result; progress lives in the DB

CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
# Eager mode is for tests only; real deployments always go through the broker.
CELERY_TASK_ALWAYS_EAGER = _bool("CELERY_TASK_ALWAYS_EAGER", default=False)

# --- Auth, i18n, static ---------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_MANIFEST_STRICT = False

if not DEBUG:
    SESSION_COOKIE_HTTPONLY = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", default=False)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# The seed's session lifetime: 24 hours (Django's default would be two weeks).
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=86400)
if SESSION_COOKIE_AGE < 60:
    raise ImproperlyConfigured("SESSION_COOKIE_AGE must be at least 60 seconds")

# --- HTTPS and browser policy (docs/deployment.md, "Production settings") -----------------
# Off by default so plain-HTTP development works; production turns them on.
SECURE_SSL_REDIRECT = _bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = _bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_REDIRECT_EXEMPT = [r"^health"]  # probes speak plain HTTP to the pod
# Opt-in: trust "header,value" (e.g. HTTP_X_FORWARDED_PROTO,https) only behind a proxy that
# sets it; otherwise any client could claim HTTPS.
_proxy_header = env.str("SECURE_PROXY_SSL_HEADER", default="").strip()
if _proxy_header:
    _name, _, _value = _proxy_header.partition(",")
    if not _name.startswith("HTTP_") or not _value.strip():
        raise ImproperlyConfigured("SECURE_PROXY_SSL_HEADER must be 'HTTP_HEADER_NAME,value', "
                                   "e.g. HTTP_X_FORWARDED_PROTO,https")
    SECURE_PROXY_SSL_HEADER = (_name.strip(), _value.strip())
# Content-Security-Policy (django-csp): scripts and styles from our own origin only, no inline
# script or eval; inline style *attributes* stay allowed (admin pages, the heatmap's cells).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# --- Rooms ---------------------------------------------------------------------------------
ROOMS_PING_SECONDS = env.float("ROOMS_PING_SECONDS", default=30.0)
ROOMS_CLIENT_TIMEOUT_SECONDS = env.float("ROOMS_CLIENT_TIMEOUT_SECONDS", default=90.0)
ROOMS_MAX_MESSAGE_BYTES = env.int("ROOMS_MAX_MESSAGE_BYTES", default=64 * 1024)
ROOMS_MESSAGES_PER_SECOND = env.float("ROOMS_MESSAGES_PER_SECOND", default=20.0)
ROOMS_MESSAGE_BURST = env.int("ROOMS_MESSAGE_BURST", default=40)
ROOMS_PRESENCE_COALESCE_SECONDS = env.float("ROOMS_PRESENCE_COALESCE_SECONDS", default=0.1)
ROOMS_VERIFY_ATTEMPTS_PER_MINUTE = env.int("ROOMS_VERIFY_ATTEMPTS_PER_MINUTE", default=10)
# threads (each with a database connection) running room commands in each web process (#13)
ROOMS_DB_THREADS = env.int("ROOMS_DB_THREADS", default=4)
# connections each web process keeps for page turns on its event loop (rooms.aio; 0: off)
ROOMS_ASYNC_DB_CONNECTIONS = env.int("ROOMS_ASYNC_DB_CONNECTIONS", default=2)
# off behind a PgBouncer in transaction mode without max_prepared_statements
ROOMS_PREPARED_STATEMENTS = env.bool("ROOMS_PREPARED_STATEMENTS", default=True)
# page turns, and pongs on the event loop, commit without waiting for the WAL flush
# (rooms.services.ASYNC_COMMIT)
ROOMS_ASYNC_COMMIT = env.bool("ROOMS_ASYNC_COMMIT", default=True)
# transposed page renders queued or running in the worker pool at once (#11.14)
TRANSPOSE_RENDERS_IN_FLIGHT = env.int("TRANSPOSE_RENDERS_IN_FLIGHT", default=4)
ROOMS_DISPLAY_TOKEN_MAX_AGE_SECONDS = env.int("ROOMS_DISPLAY_TOKEN_MAX_AGE_SECONDS",
                                              default=7 * 24 * 3600)
# A song sheet queued without a duration turns a page this often on the display.
ROOMS_DISPLAY_SECONDS_PER_PAGE = env.float("ROOMS_DISPLAY_SECONDS_PER_PAGE", default=30.0)
# The display page loads YouTube's IFrame Player API from here (empty: YouTube entries are
# skipped, e.g. offline); the CSP allows this script's and the embeds' origins.
YOUTUBE_IFRAME_API_URL = env.str("YOUTUBE_IFRAME_API_URL",
                                 default="https://www.youtube.com/iframe_api")

# --- Cross-origin (django-cors-headers): e.g. a display page served from another host --------
# Empty by default: same-origin only. The WebSocket origin check (songhub/asgi.py) accepts
# these origins too, besides ALLOWED_HOSTS.
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_ALLOW_CREDENTIALS = bool(CORS_ALLOWED_ORIGINS)

# --- Karaoke sources (docs/rooms.md) ---------------------------------------------------------
KARAOKE_PROVIDERS = env.list("KARAOKE_PROVIDERS", default=[
    "rooms.sources.library.LibraryProvider", "rooms.sources.youtube.YouTubeProvider"])
KARAOKE_PROVIDER_TIMEOUT_SECONDS = env.float("KARAOKE_PROVIDER_TIMEOUT_SECONDS", default=5.0)
YOUTUBE_API_URL = env.str("YOUTUBE_API_URL", default="https://www.googleapis.com").rstrip("/")
YOUTUBE_API_KEY = _secret("YOUTUBE_API_KEY")
YOUTUBE_EMBED_URL = env.str("YOUTUBE_EMBED_URL", default="https://www.youtube-nocookie.com/embed")

# --- Workers (issue: listening worker pool) -------------------------------------------------
WORKER_HEARTBEAT_SECONDS = env.int("WORKER_HEARTBEAT_SECONDS", default=30)
WORKER_STALE_SECONDS = env.int("WORKER_STALE_SECONDS", default=90)
HISTORY_POLL_SECONDS = env.float("HISTORY_POLL_SECONDS", default=1200.0)
REALTIME_POLL_SECONDS = env.float("REALTIME_POLL_SECONDS", default=5.0)
PLAYLIST_SCAN_SECONDS = env.float("PLAYLIST_SCAN_SECONDS", default=86400.0)
POLL_THREADS = env.int("POLL_THREADS", default=16)
POLL_START_RATE = env.float("POLL_START_RATE", default=100.0)  # first polls per second per worker
if WORKER_HEARTBEAT_SECONDS <= 0 or WORKER_STALE_SECONDS <= WORKER_HEARTBEAT_SECONDS:
    raise ImproperlyConfigured("WORKER_HEARTBEAT_SECONDS must be > 0 and below WORKER_STALE_SECONDS")
if POLL_START_RATE <= 0:
    raise ImproperlyConfigured("POLL_START_RATE must be a positive number of polls per second")
WORKER_POLLING = _bool("WORKER_POLLING", default=True)  # listeners are polled by workers
# Long job rows (sync runs, imports) beat while their owner lives (songhub.runs); a RUNNING
# row silent for RUN_STALE_SECONDS lost its owner and is marked failed.
RUN_HEARTBEAT_SECONDS = env.float("RUN_HEARTBEAT_SECONDS", default=15.0)
RUN_STALE_SECONDS = env.float("RUN_STALE_SECONDS", default=60.0)
if not 0 < RUN_HEARTBEAT_SECONDS * 2 <= RUN_STALE_SECONDS:
    raise ImproperlyConfigured("RUN_STALE_SECONDS must be at least twice RUN_HEARTBEAT_SECONDS "
                               "(and both positive)")

# --- Metrics (docs/operations.md) ----------------------------------------------------------
# Bearer token for /metrics and the worker's metrics port; empty: both refuse every scrape.
METRICS_TOKEN = _secret("METRICS_TOKEN")
WORKER_METRICS_PORT = env.int("WORKER_METRICS_PORT", default=0)  # 0: the worker serves none

# --- Logging: one line per event on stdout, with request / task ids -------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "songhub.logging.ContextFilter"}},
    "formatters": {
        "line": {
            "format": "%(asctime)s %(levelname)s %(name)s "
            "[req=%(request_id)s task=%(task_id)s] %(message)s",
        }
    },
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "line",
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "celery": {"level": LOG_LEVEL},
    },
}

# --- Beat: the one schedule. Each entry expires before its next run. ------------------------
SONG_SYNC_SOURCE = env.str("SONG_SYNC_SOURCE", default="github")  # github | local
if SONG_SYNC_SOURCE not in ("github", "local"):
    raise ImproperlyConfigured("SONG_SYNC_SOURCE must be 'github' or 'local'")
CELERY_BEAT_SCHEDULE = {}
# Kubernetes runs these as CronJobs and sets LISTENING_BEAT_JOBS=0; elsewhere beat runs them.
if _bool("LISTENING_BEAT_JOBS", default=True):
    from celery.schedules import crontab

    CELERY_BEAT_SCHEDULE["link-artists"] = {
        "task": "listening.tasks.link_artists_task",
        "schedule": crontab(hour=3, minute=0),
        "options": {"expires": 23 * 3600},
    }
    CELERY_BEAT_SCHEDULE["link-works"] = {
        "task": "works.tasks.link_works_task",
        "schedule": crontab(hour=5, minute=0),
        "options": {"expires": 23 * 3600},
    }
    CELERY_BEAT_SCHEDULE["update-song-ids"] = {
        "task": "listening.tasks.update_song_ids_task",
        "schedule": crontab(hour=4, minute=30),
        "options": {"expires": 23 * 3600},
    }
if SONG_SYNC_INTERVAL_SECONDS > 0:
    CELERY_BEAT_SCHEDULE["sync-songs"] = {
        "task": "ingestion.tasks.sync_songs",
        "schedule": float(SONG_SYNC_INTERVAL_SECONDS),
        "kwargs": {"options": {"source": SONG_SYNC_SOURCE}},
        "options": {"expires": SONG_SYNC_INTERVAL_SECONDS * 0.9},
    }
CELERY_BEAT_SCHEDULE["rooms-reap-participants"] = {
    "task": "rooms.tasks.reap_stale_participants",
    "schedule": ROOMS_CLIENT_TIMEOUT_SECONDS,
    "options": {"expires": ROOMS_CLIENT_TIMEOUT_SECONDS * 0.9},
}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- Chart library (issue #14; docs/charts.md) ----------------------------------------------
# WebDAV root, e.g. https://cloud.example/remote.php/dav/files/USER; empty: the local folder.
NEXTCLOUD_URL = env.str("NEXTCLOUD_URL", default="").rstrip("/")
NEXTCLOUD_USERNAME = env.str("NEXTCLOUD_USERNAME", default="")
NEXTCLOUD_PASSWORD = _secret("NEXTCLOUD_PASSWORD")
NEXTCLOUD_REMOTE_PATH = env.str("NEXTCLOUD_REMOTE_PATH", default="CloneHero").strip("/")
NEXTCLOUD_TIMEOUT_SECONDS = env.float("NEXTCLOUD_TIMEOUT_SECONDS", default=30.0)
# Nextcloud changes a folder's ETag when anything below it changes, so a sync can skip every
# folder whose ETag stayed; set 0 for a WebDAV server that does not do that (docs/charts.md)
NEXTCLOUD_ETAG_PROPAGATION = _bool("NEXTCLOUD_ETAG_PROPAGATION", default=True)
try:
    NEXTCLOUD_FOLDERS = json.loads(env.str("NEXTCLOUD_FOLDERS", default="") or "{}")
except ValueError:
    NEXTCLOUD_FOLDERS = None
if not isinstance(NEXTCLOUD_FOLDERS, dict) or not all(
        isinstance(v, str) and v.strip("/") for v in NEXTCLOUD_FOLDERS.values()):
    raise ImproperlyConfigured('NEXTCLOUD_FOLDERS must be a JSON object such as '
                               '{"songs": "Songs", "backgrounds": "Backgrounds"}')
CHARTS_DIR = env.str("CHARTS_DIR", default="")  # local backend root; default SONG_DATA_DIR/charts
CHARTS_MAX_UPLOAD_MB = env.int("CHARTS_MAX_UPLOAD_MB", default=2048)
CHARTS_MAX_AUDIO_MB = env.int("CHARTS_MAX_AUDIO_MB", default=100)  # the chart generator's input
CHARTS_MAX_MEMBERS = env.int("CHARTS_MAX_MEMBERS", default=10_000)
CHARTS_MAX_UNCOMPRESSED_MB = env.int("CHARTS_MAX_UNCOMPRESSED_MB", default=8192)
CHARTS_MAX_RATIO = env.int("CHARTS_MAX_RATIO", default=200)
CHARTS_SYNC_INTERVAL_SECONDS = env.int("CHARTS_SYNC_INTERVAL_SECONDS", default=3600)
if CHARTS_SYNC_INTERVAL_SECONDS > 0 and _bool("CHARTS_BEAT_SYNC", default=True):
    CELERY_BEAT_SCHEDULE["sync-charts"] = {
        "task": "charts.tasks.sync_charts_task",
        "schedule": float(CHARTS_SYNC_INTERVAL_SECONDS),
        "options": {"expires": CHARTS_SYNC_INTERVAL_SECONDS * 0.9},
    }
# --- Transition graph (docs/graph.md) -------------------------------------------------------
MIXESDB_API_URL = env.str("MIXESDB_API_URL", default="https://www.mixesdb.com/db/api.php")
SETLISTFM_API_URL = env.str("SETLISTFM_API_URL", default="https://api.setlist.fm/rest").rstrip("/")
SETLISTFM_API_KEY = _secret("SETLISTFM_API_KEY")
MUSICBRAINZ_API_URL = env.str("MUSICBRAINZ_API_URL",
                              default="https://musicbrainz.org/ws/2").rstrip("/")
GRAPH_USER_AGENT = env.str(
    "GRAPH_USER_AGENT", default=f"songhub/{VERSION} (self-hosted music hub; transition graph)")
GRAPH_REQUEST_INTERVAL_SECONDS = env.float("GRAPH_REQUEST_INTERVAL_SECONDS", default=1.0)
GRAPH_HTTP_TIMEOUT_SECONDS = env.float("GRAPH_HTTP_TIMEOUT_SECONDS", default=20.0)
GRAPH_BACKOFF_SECONDS = env.float("GRAPH_BACKOFF_SECONDS", default=1.0)
GRAPH_MAX_RETRY_AFTER_SECONDS = env.float("GRAPH_MAX_RETRY_AFTER_SECONDS", default=120.0)
GRAPH_BREAKER_THRESHOLD = env.int("GRAPH_BREAKER_THRESHOLD", default=5)
GRAPH_BREAKER_COOLDOWN_SECONDS = env.float("GRAPH_BREAKER_COOLDOWN_SECONDS", default=300.0)
GRAPH_ENRICH_CACHE_SECONDS = env.int("GRAPH_ENRICH_CACHE_SECONDS", default=30 * 86400)
GRAPH_SESSION_GAP_MINUTES = env.int("GRAPH_SESSION_GAP_MINUTES", default=30)
if GRAPH_REQUEST_INTERVAL_SECONDS < 0 or GRAPH_BREAKER_THRESHOLD < 1:
    raise ImproperlyConfigured("GRAPH_REQUEST_INTERVAL_SECONDS must be >= 0 and "
                               "GRAPH_BREAKER_THRESHOLD >= 1")

# The graph's periodic work (enrichment batches run on the `enrichment` queue, see docs/graph.md).
CELERY_TASK_ROUTES = {"graph.tasks.enrich_tracks_task": {"queue": "enrichment"},
                      "graph.tasks.retry_dead_letters_task": {"queue": "enrichment"},
                      "graph.tasks.propose_for_unidentified_task": {"queue": "enrichment"},
                      "graph.tasks.enrich_missing_task": {"queue": "enrichment"}}
if DATABASES["default"]["ENGINE"].endswith("postgresql"):  # the graph needs PostgreSQL
    CELERY_BEAT_SCHEDULE["graph-sequences"] = {
        "task": "graph.tasks.import_sequences_task", "schedule": 3600.0,
        "options": {"expires": 3000}}
    CELERY_BEAT_SCHEDULE["graph-enrich-missing"] = {
        "task": "graph.tasks.enrich_missing_task", "schedule": 6 * 3600.0,
        "options": {"expires": 5 * 3600}}
    CELERY_BEAT_SCHEDULE["graph-retry-dead-letters"] = {
        "task": "graph.tasks.retry_dead_letters_task", "schedule": 6 * 3600.0,
        "options": {"expires": 5 * 3600}}
