"""Settings, start-up refusal, health endpoints, request-id logging, home and login pages."""

import io
import json
import logging
import subprocess
import sys

import pytest

from tests.helpers import subprocess_env

pytestmark = pytest.mark.django_db


def python(code, env, timeout=60):
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_health_reports_every_part(client):
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["database"] == "ok" and body["channel_layer"] == "ok"
    assert body["workers"] == 0 and body["version"]
    assert body["redis"] in ("ok", "not configured")


@pytest.mark.redis
def test_health_checks_redis_when_configured(client):
    assert client.get("/health").json()["redis"] == "ok"


def test_liveness_does_no_io(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert client.get("/health/live").json() == {"status": "ok"}


def test_health_is_503_when_the_database_is_unreachable(tmp_path):
    env = subprocess_env(tmp_path, DATABASE_URL="postgres://nobody@127.0.0.1:9/none",
                         REDIS_URL="")
    code = ("import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'songhub.settings'; "
            "django.setup(); from django.test import Client; "
            "r = Client().get('/health', HTTP_HOST='localhost'); "
            "print('RESULT', r.status_code, r.content.decode())")
    result = python(code, env)
    line = [ln for ln in result.stdout.splitlines() if ln.startswith("RESULT ")][0]
    _, status, body = line.split(" ", 2)
    assert status == "503", result.stderr
    assert json.loads(body)["database"].startswith("error")


def test_it_refuses_to_start_in_production_with_the_default_secret_key(tmp_path):
    env = subprocess_env(tmp_path, DEBUG="0")
    env.pop("SECRET_KEY", None)
    result = python("import songhub.asgi", env)
    assert result.returncode != 0 and "SECRET_KEY is the public development key" in result.stderr
    check = subprocess.run([sys.executable, "manage.py", "check"], env=env, capture_output=True,
                           text=True, timeout=60)
    assert check.returncode != 0 and "songhub.E001" in check.stderr
    env["SECRET_KEY"] = "a-real-secret-" + "x" * 40
    assert python("import songhub.asgi", env).returncode == 0


def test_secrets_can_come_from_files(tmp_path):
    secret = tmp_path / "key"
    secret.write_text("from-a-file-" + "y" * 40 + "\n")
    env = subprocess_env(tmp_path, DEBUG="0", SECRET_KEY_FILE=secret)
    result = python("import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = "
                    "'songhub.settings'; django.setup(); from django.conf import settings; "
                    "print(settings.SECRET_KEY)", env)
    assert result.stdout.strip() == "from-a-file-" + "y" * 40


def test_a_malformed_boolean_stops_start_up(tmp_path):
    result = python("import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = "
                    "'songhub.settings'; django.setup()", subprocess_env(tmp_path, DEBUG="maybe"))
    assert result.returncode != 0 and "DEBUG='maybe' is not a boolean" in result.stderr


def test_embedded_default_needs_no_services(tmp_path):
    env = subprocess_env(tmp_path)
    for name in ("DATABASE_URL", "REDIS_URL"):
        env.pop(name)
    code = ("import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'songhub.settings'; "
            "django.setup(); from django.conf import settings as s; "
            "print(s.DATABASES['default']['ENGINE'], s.CHANNEL_LAYERS['default']['BACKEND'], "
            "s.CELERY_BROKER_URL, s.DATABASES['default']['NAME'])")
    engine, layer, broker, name = python(code, env).stdout.split()[-4:]
    assert engine == "django.db.backends.sqlite3" and layer.endswith("InMemoryChannelLayer")
    assert broker == "filesystem://" and name.startswith(str(tmp_path))


def test_only_runserver_loads_daphne(tmp_path):
    """Commands, workers and beat start without Twisted; `runserver` still serves ASGI."""
    env = subprocess_env(tmp_path)
    code = ("import django, os, sys; os.environ['DJANGO_SETTINGS_MODULE'] = 'songhub.settings'; "
            "django.setup(); print(sorted(m for m in ('daphne', 'twisted') if m in sys.modules))")
    assert python(code, env).stdout.split()[-1] == "[]"
    runserver = subprocess.run([sys.executable, "manage.py", "runserver", "--help"], env=env,
                               capture_output=True, text=True, timeout=120)
    assert runserver.returncode == 0, runserver.stderr
    assert "--noasgi" in runserver.stdout  # daphne's runserver, not Django's WSGI one


def test_log_lines_carry_the_request_id(client):
    from songhub.logging import ContextFilter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter())
    handler.setFormatter(logging.Formatter("%(levelname)s [req=%(request_id)s "
                                           "task=%(task_id)s] %(message)s"))
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        response = client.get("/songs/424242/pdf", headers={"X-Request-ID": "req-abc-123"})
    finally:
        logger.removeHandler(handler)
    assert response["X-Request-ID"] == "req-abc-123"
    assert "[req=req-abc-123 task=-] Not Found: /songs/424242/pdf" in stream.getvalue()


def test_a_missing_request_id_is_generated(client):
    assert len(client.get("/health/live")["X-Request-ID"]) == 16


def test_home_dashboard_shows_counts(client):
    from ingestion.models import Song, SyncRun

    Song.objects.create(id=1, title="A", filename="a.cho", source_sha="x")
    SyncRun.objects.create(status="succeeded", total=1)
    html = client.get("/").content.decode()
    assert 'id="song-count">1<' in html and 'id="worker-count">0<' in html
    assert "Succeeded" in html
    for link in ("Songs", "Rooms", "Analytics"):
        assert f">{link}</a>" in html


def test_login_and_logout(client, curator):
    page = client.get("/accounts/login/")
    assert page.status_code == 200
    response = client.post("/accounts/login/", {"username": "curator", "password": "pw-curator-1"})
    assert response.status_code == 302
    assert "Admin</a>" in client.get("/").content.decode()
    assert client.post("/accounts/logout/").status_code == 302
    assert "Log in" in client.get("/").content.decode()


def test_malformed_spotify_apps_stop_start_up_with_a_clear_message(tmp_path):
    result = python("import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = "
                    "'songhub.settings'; django.setup()",
                    subprocess_env(tmp_path, SPOTIFY_APPS='[{"client_id": "x"}]'))
    assert result.returncode != 0 and "SPOTIFY_APPS must be a JSON list" in result.stderr
