"""The JSON API documented and checked (issue #17): the OpenAPI 3.1 document covers every
operation of songhub.api, /api/docs renders it from vendored assets under the site's CSP, and
Schemathesis drives every operation of a live daphne as a token user and as a logged-in session
user: zero 5xx, zero responses outside the schema (status code, content type, body)."""

import json
import re
from concurrent.futures import ThreadPoolExecutor
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from charts import sync as chart_sync
from ingestion.models import Song
from songhub.api import api
from songhub.models import ApiToken
from tests.charts_support import make_song_folder
from tests.helpers import Daphne, subprocess_env, sync
from tests.test_rooms_e2e import cookie_for

pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLES = 15  # per operation and run (token and staff runs)
# the session runs check that cookie + CSRF auth reaches every operation like a token does;
# the token runs already cover the same operations (the deterministic coverage phase too), so
# the session runs only fuzz, and less
SESSION_EXAMPLES = 5
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,"\
         "response_schema_conformance,response_headers_conformance"
ST = str(Path(sys.executable).with_name("st"))


def operations() -> set[tuple[str, str]]:
    """(METHOD, /path) of every operation registered on the NinjaAPI."""
    found = set()
    for prefix, router in api._routers:
        for path, view in router.path_operations.items():
            for operation in view.operations:
                for method in operation.methods:
                    route = re.sub(r"{\w+:(\w+)}", r"{\1}", "/" + (prefix + path).lstrip("/"))
                    found.add((method, route))
    return found


def no_duplicate_keys(pairs):
    """Swagger UI's YAML parser refuses a key twice (ninja's int status codes beside ours)."""
    keys = [key for key, _ in pairs]
    assert len(keys) == len(set(keys)), keys
    return dict(pairs)


def test_the_schema_is_openapi_31_and_describes_every_operation(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    schema = json.loads(response.content, object_pairs_hook=no_duplicate_keys)
    assert schema["openapi"].startswith("3.1")
    documented = {(method.upper(), path) for path, item in schema["paths"].items()
                  for method in item}
    assert operations() == documented
    assert {("GET", "/api/songs/search"), ("GET", "/api/songs/{song_id}"),
            ("GET", "/songs/list"), ("GET", "/api/works/{work_id}"), ("GET", "/api/charts"),
            ("GET", "/api/charts/{chart_id}/files/{name}")} <= documented
    uploads = [path for path in schema["paths"] if re.search(UPLOADS, path)]
    assert len(uploads) == UPLOAD_OPERATIONS, uploads
    assert set(schema["components"]["securitySchemes"]) == {"TokenAuth", "SessionAuth",
                                                            "RoomMemberAuth"}
    search = schema["paths"]["/api/songs/search"]["get"]
    assert set(search["responses"]) == {"200", "400"}


def test_errors_keep_the_one_shape(client, django_user_model):
    """Unauthenticated: 401 in songhub's error shape (not a login redirect, not ninja's
    `detail`); a bad token is refused by the middleware with the same shape."""
    body = client.get("/api/works/1").json()
    assert body["error"]["code"] == "login_required"
    response = client.get("/api/works/1", HTTP_AUTHORIZATION="Token nope")
    assert response.status_code == 401 and response.json()["error"]["code"] == "bad_token"
    user = django_user_model.objects.create_user("reader", password="pw-reader-1")
    _, key = ApiToken.issue(user, "test")
    response = client.get("/api/works/999", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "No work 999."}}


def test_the_docs_page_uses_vendored_assets_and_no_inline_script(client):
    response = client.get("/api/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in html
    assert 'data-schema="/api/openapi.json"' in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline script breaks the CSP"
    assert "'unsafe-inline'" not in response["Content-Security-Policy"].split("script-src")[1]\
        .split(";")[0]
    assert not re.search(r"https?://(?!127\.0\.0\.1)", html.split("<main>")[1].split("</main>")[0])
    vendor = Path(settings.BASE_DIR) / "static/vendor/swagger-ui"
    assert {"swagger-ui-bundle.js", "swagger-ui.css", "LICENSE", "VERSION"} <= \
        {p.name for p in vendor.iterdir()}


def test_swagger_ui_renders_every_operation(page, live_server):
    """The real page in chromium: the vendored bundle loads the schema and lists each
    operation, with no CSP violation on the console."""
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(live_server.url + "/api/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=20000)
    shown = {el.inner_text().replace("\u200b", "")
             for el in page.query_selector_all(".opblock-summary-path")}
    assert {path for _, path in operations()} <= shown
    assert not [e for e in errors if "Content Security Policy" in e], errors


# daphne's HTTP layer (twisted.web) parses multipart bodies itself and answers a malformed
# one with an empty 400 before songhub sees the request: the upload operations get valid
# multipart only (every other operation gets negative data too).
UPLOADS = "HistoricalImport|/api/charts/upload|/api/charts/generate|/api/charts/storage/upload"
UPLOAD_OPERATIONS = 5
CHARTS = "^/api/charts"  # staff-only writes: run once more with a staff token, on a library
CHART_UPLOADS = "^/api/charts/(upload|generate|storage/upload)$"


def run_schemathesis(base_url: str, headers: dict[str, str], report: Path,
                     extra: list[str], examples: int) -> dict:
    command = [ST, "run", *extra, f"{base_url}/api/openapi.json", "--url", base_url,
               "--checks", CHECKS, "--max-examples", str(examples), "--seed", "17",
               "--generation-database", "none", "--no-color",
               "--report", "ndjson", "--report-ndjson-path", str(report)]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, timeout=300,
                          cwd=report.parent)  # its .schemathesis/ cache stays in tmp
    return {"rc": done.returncode, "out": done.stdout + done.stderr,
            "seconds": time.monotonic() - started}


def figures(text: str) -> str:
    """The summary lines Schemathesis prints (operations, test cases, failures)."""
    keep = [line.strip() for line in text.splitlines()
            if re.search(r"Selected:|Tested:|generated|Failures|failures|Warnings", line)]
    return "\n".join(keep[-8:])


@pytest.mark.slow
def test_schemathesis_finds_no_5xx_and_no_schema_violation(tmp_path, github, song_data,
                                                           django_user_model):
    assert sync().exit_code == 0
    assert Song.objects.exists()
    for title in ("Fire", "Water"):  # the local-folder chart storage, which daphne serves too
        make_song_folder(song_data / "charts" / "Songs" / "Band" / title, title, "Band")
    assert chart_sync.run()[1].added == 2
    user = django_user_model.objects.create_user("fuzzer", password="pw-fuzzer-1")
    _, key = ApiToken.issue(user, "schemathesis")
    curator = django_user_model.objects.create_user("curator", password="pw-curator-1",
                                                    is_staff=True)
    _, staff_key = ApiToken.issue(curator, "schemathesis")
    session = Client()
    session.force_login(user)
    csrf = session.get("/api/docs").context["csrf_token"]
    server = Daphne(subprocess_env(song_data), tmp_path / "daphne.log").wait_ready()
    try:
        users = {"token": {"Authorization": f"Token {key}"},
                 "session": {"Cookie": f"{cookie_for(user)}; "
                                       f"csrftoken={session.cookies['csrftoken'].value}",
                             "X-CSRFToken": csrf}}
        modes = {"all": ["--exclude-path-regex", UPLOADS],
                 "uploads": ["--include-path-regex", UPLOADS, "--mode", "positive"]}
        plan = [(who, headers, mode, extra + (["--phases", "examples,fuzzing"]
                                              if who == "session" else []))
                for who, headers in users.items() for mode, extra in modes.items()]
        staff = {"Authorization": f"Token {staff_key}"}
        plan += [("staff", staff, "all", ["--include-path-regex", CHARTS,
                                          "--exclude-path-regex", UPLOADS]),
                 ("staff", staff, "uploads", ["--include-path-regex", CHART_UPLOADS,
                                              "--mode", "positive"])]
        # the runs are independent clients of one daphne: side by side they take the time of
        # the longest instead of the sum
        with ThreadPoolExecutor(len(plan)) as pool:
            futures = {f"{who}/{mode}": pool.submit(
                run_schemathesis, server.url, headers, tmp_path / f"{who}-{mode}.ndjson", extra,
                SESSION_EXAMPLES if who == "session" else EXAMPLES)
                for who, headers, mode, extra in plan}
            runs = {name: future.result() for name, future in futures.items()}
    finally:
        server.stop()
    for name, run in runs.items():
        (tmp_path / f"{name.replace('/', '-')}.out").write_text(run["out"])
        print(f"\nschemathesis ({name}), "
              f"{run['seconds']:.0f} s:\n"
              f"{figures(run['out'])}")
        assert run["rc"] == 0, run["out"][-6000:]
    selected = [int(re.search(r"Selected: (\d+)/", run["out"]).group(1)) for run in runs.values()]
    charts = sum(bool(re.search(CHARTS, path)) for _, path in operations())
    assert selected == [len(operations()) - UPLOAD_OPERATIONS, UPLOAD_OPERATIONS] * 2 + [
        charts - 3, 3]  # all, twice; the chart library as staff
    for run in runs.values():
        assert re.search(r"(\d+) generated, \1 passed", run["out"]), run["out"][-3000:]


def test_bad_path_ids_and_bad_multipart_answer_json_400(client, django_user_model):
    """Found by schemathesis: a non-numeric import id was Django's HTML 404, a multipart body
    without a boundary an unhandled parser error."""
    client.force_login(django_user_model.objects.create_user("ann", password="pw-ann-12345"))
    response = client.get("/analytics/importStatus/abc")
    assert response.status_code == 400 and response.json()["error"]["code"] == "bad_parameter"
    response = client.generic("POST", "/analytics/analyzeHistoricalImport/", b"x",
                              content_type="multipart/form-data")
    assert response.status_code == 400 and response.json()["error"]["code"] == "bad_upload"
    response = client.post("/get_video_url", "not json", content_type="application/json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "bad_json"
    response = client.generic("POST", "/rooms/1/leave", b"x", content_type="multipart/form-data")
    assert response.status_code == 400 and response.json()["error"]["code"] == "bad_json"
    response = client.get("/setlists/abc/setlist.pdf")  # an export outside /api/: JSON too
    assert response.status_code == 400 and response.json()["error"]["code"] == "bad_parameter"
    response = client.get("/api/no/such/endpoint")
    assert response.status_code == 404 and response["Content-Type"] == "application/json"


def test_schema_names_are_unique_across_routers():
    """The schema's components are keyed by class name: two routers' `SearchOut` would
    silently share one (schemathesis found the karaoke search validated as the song search)."""
    from pydantic import BaseModel  # ninja's Schema and songhub.api.DictOut alike

    seen: dict[str, str] = {}

    def walk(cls):
        for sub in cls.__subclasses__():
            if sub.__module__.endswith(".api") and sub.__module__ != "ninja.api":
                assert seen.setdefault(sub.__name__, sub.__module__) == sub.__module__, \
                    f"{sub.__name__} in {seen[sub.__name__]} and {sub.__module__}"
            walk(sub)

    walk(BaseModel)
    assert {"SongOut", "Node", "ServiceStatus", "KaraokeEntry"} <= set(seen)
