"""HTTPS settings, `check --deploy` and the Content-Security-Policy (issue #11.12): the
production settings documented in docs/deployment.md pass Django's deployment checks, and every
main page runs in a real browser under the policy without a single violation."""

import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from ingestion import pipeline
from ingestion.models import Song
from rooms import services
from tests.conftest import DEMO_SONGS
from tests.helpers import Daphne, subprocess_env

ROOT = Path(__file__).resolve().parent.parent

# The production settings of docs/deployment.md ("Production settings").
PRODUCTION = {
    "DEBUG": "0", "ALLOWED_HOSTS": "songhub.example.org",
    "CSRF_TRUSTED_ORIGINS": "https://songhub.example.org", "SESSION_COOKIE_SECURE": "1",
    "SECURE_SSL_REDIRECT": "1", "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1", "SECURE_HSTS_PRELOAD": "1",
    "SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO,https",
}


def manage(tmp_path, *args, **env):
    base = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "SONG_DATA_DIR": str(tmp_path / "d"),
            "SECRET_KEY": secrets.token_urlsafe(50)}
    return subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], cwd=ROOT,
                          env={**base, **env}, capture_output=True, text=True, timeout=120)


def test_check_deploy_is_clean_with_the_documented_production_settings(tmp_path):
    result = manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_flags_a_deployment_without_hsts_and_redirect(tmp_path):
    env = {k: v for k, v in PRODUCTION.items() if not k.startswith("SECURE_")}
    result = manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", **env)
    assert result.returncode != 0
    assert "security.W004" in result.stderr and "security.W008" in result.stderr


def test_a_malformed_proxy_header_setting_stops_start_up(tmp_path):
    result = manage(tmp_path, "check", **{**PRODUCTION, "SECURE_PROXY_SSL_HEADER": "https"})
    assert result.returncode != 0 and "SECURE_PROXY_SSL_HEADER must be" in result.stderr


@pytest.mark.django_db
def test_pages_carry_a_policy_without_inline_script():
    policy = Client().get("/")["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert "unsafe" not in directives["script-src"] + directives["default-src"]
    assert directives["frame-ancestors"] == "'none'"


def test_no_template_has_inline_script_or_event_handler_attributes():
    import re

    offenders = []
    for path in (ROOT / "templates").rglob("*.html"):
        text = path.read_text()
        offenders += [f"{path.name}: inline <script>" for _ in re.finditer(
            r"<script(?![^>]*\bsrc=)[^>]*>", text)]
        offenders += [f"{path.name}: {m.group(0)}" for m in re.finditer(
            r"\son[a-z]+\s*=", text)]
    assert offenders == []


@pytest.fixture
def site(settings, tmp_path, django_user_model):
    """A real daphne with the demo songbook, a room, and a staff user's session."""
    report = pipeline.run_sync(pipeline.SyncOptions(source="dir", source_dir=str(DEMO_SONGS),
                                                    concurrency=1))
    assert report.exit_code == 0
    user = django_user_model.objects.create_superuser("boss", "", "pw-boss-123")
    room = services.create_room(user, "CSP room")
    client = Client()
    client.force_login(user)
    server = Daphne(subprocess_env(settings.SONG_DATA_DIR), tmp_path / "daphne.log").wait_ready()
    yield server, client.cookies["sessionid"].value, room, Song.objects.order_by("id").first()
    server.stop()


CATCH_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation",
  e => window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline")));
"""


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_every_main_page_runs_under_the_policy_without_violations(site, chromium):
    server, session, room, song = site
    paths = ["/", "/songs/", f"/songs/{song.id}/", "/rooms/", f"/rooms/{room.id}",
             "/analytics/", "/admin/", "/admin/ingestion/syncrun/", "/accounts/login/"]
    for logged_in in (False, True):
        context = chromium.new_context(bypass_csp=False)  # the real policy, enforced
        if logged_in:
            context.add_cookies([{"name": "sessionid", "value": session, "url": server.url}])
        context.add_init_script(CATCH_VIOLATIONS)
        page = context.new_page()
        errors = []
        page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        try:
            for path in paths:
                response = page.goto(server.url + path, wait_until="networkidle")
                assert response.headers.get("content-security-policy"), path
                page.wait_for_timeout(200)
                violations = page.evaluate("window.__csp")
                csp_errors = [e for e in errors if "Content Security Policy" in e]
                assert (violations, csp_errors) == ([], []), (path, logged_in)
            if logged_in:  # the room list's form script (moved out of the template) works
                page.goto(server.url + "/rooms/")
                page.fill("#create-room input[name=name]", "Made under CSP")
                page.click("#create-room button[type=submit]")
                page.wait_for_url(lambda url: "/rooms/" in url and url.rstrip("/")[-1].isdigit())
                assert page.evaluate("window.__csp") == []
        finally:
            context.close()
