"""The one NinjaAPI behind every JSON endpoint: its routers (one per app), authentication, the
error shape, and the OpenAPI 3.1 schema at `/api/openapi.json` with Swagger UI at `/api/docs`.

Why ninja: the schema is derived from the typed request/response declarations the operations
already need, so the documentation cannot drift from the code. Operations stay thin; the logic
lives in each app's service modules. Errors keep songhub's one shape (`songhub.http.json_error`):
ninja's validation errors answer 400 (not its default 422), authentication failures 401."""

from django.conf import settings
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import APIKeyCookie, APIKeyHeader
from pydantic import BaseModel

from .http import json_error


class DictOut(BaseModel):
    """Base of large response bodies that views build as plain dicts: plain pydantic checks
    them. ninja's Schema reads every nested value through its ORM-attribute getter, which took
    30 ms to check a 500-node graph (7 ms this way)."""


class ErrorDetail(Schema):
    code: str
    message: str
    details: dict | None = None


class Error(Schema):
    """`{"error": {"code", "message", "details"?}}`: every error songhub's API answers."""

    error: ErrorDetail


class SessionAuth(APIKeyCookie):
    """A logged-in browser session. Unsafe methods need the CSRF token (`X-CSRFToken`), as with
    any Django form: ninja's cookie auth runs Django's CSRF check."""

    param_name = settings.SESSION_COOKIE_NAME

    def authenticate(self, request, key):
        return request.user if request.user.is_authenticated else None


class TokenAuth(APIKeyHeader):
    """`Authorization: Token <key>`. songhub.auth.TokenAuthenticationMiddleware has already
    resolved the key (and answered 401 to a bad one); this only declares it for the schema."""

    param_name = "Authorization"

    def authenticate(self, request, key):
        if key and key.startswith("Token ") and request.user.is_authenticated:
            return request.user
        return None


LOGGED_IN = [TokenAuth(), SessionAuth()]


def json_body(schema: type[Schema], required: bool = True) -> dict:
    """`openapi_extra` declaring a JSON request body that the operation reads itself (so it
    keeps its own parsing and error codes, e.g. the rooms' strict finite-number JSON)."""
    return {"requestBody": {"required": required, "content": {"application/json": {
        "schema": schema.model_json_schema()}}}}


def staff_refusal(request):
    """None for staff; else the 403 answer (authentication itself is the router's `auth`)."""
    if request.user.is_staff:
        return None
    return json_error("forbidden", "Only staff may do this.", 403)

api = NinjaAPI(
    title="songhub API",
    version="1",
    description="songhub's JSON API. Authenticate with a session cookie (plus `X-CSRFToken` "
                "for unsafe methods) or an `Authorization: Token <key>` header. Errors are "
                '`{"error": {"code", "message"}}`.',
    docs_url=None,  # our own views below: vendored assets, no inline script (CSP)
    openapi_url=None,
)


@api.exception_handler(ValidationError)
def _validation_error(request, exc: ValidationError):
    first = exc.errors[0] if exc.errors else {}
    where = ".".join(str(part) for part in first.get("loc", ()))
    message = f"{where}: {first.get('msg', 'invalid input')}" if where else "Invalid input."
    return json_error("bad_parameter", message, 400,
                      {"errors": [{"loc": [str(p) for p in e.get("loc", ())],
                                   "msg": str(e.get("msg", ""))} for e in exc.errors]})


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc):
    return json_error("login_required",
                      "Log in, or send an 'Authorization: Token <key>' header.", 401)


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    message = str(exc)
    if exc.status_code == 403 and "CSRF" in message:
        code = "csrf_failed"
    elif exc.status_code == 400 and "parse request body" in message:
        code = "bad_json"  # ninja could not parse the body as JSON
    else:
        code = "error"
    return json_error(code, message, exc.status_code)


@api.exception_handler(Http404)
def _not_found(request, exc):
    return json_error("not_found", str(exc) or "Not found.", 404)


def _register_routers() -> None:
    """Each app's router, under the URL prefix its paths had before the API was one object."""
    from charts.api import router as charts
    from graph.api import router as graph
    from ingestion.api import router as ingestion
    from listening.api import router as listening
    from rooms.api import router as karaoke
    from setlists.api import router as setlists
    from works.api import router as works

    api.add_router("", ingestion)
    api.add_router("", works)
    api.add_router("", graph)
    api.add_router("", listening)
    api.add_router("", karaoke)
    api.add_router("", charts)
    api.add_router("", setlists)


_register_routers()


ERROR_RESPONSE = {"content": {"application/json": {
    "schema": {"$ref": "#/components/schemas/Error"}}}}


def openapi_schema() -> dict:
    """ninja's document, plus the answers every operation shares so each need not repeat
    them: 400 where there is input to validate, 401 where a login or token is required,
    403 (CSRF) for unsafe methods with a session."""
    doc = api.get_openapi_schema(path_prefix="")
    assert "Error" in doc["components"]["schemas"]  # referenced by the operations' own errors
    for item in doc["paths"].values():
        for method, operation in item.items():
            # ninja's keys are ints: as strings, or JSON would carry "400" twice
            responses = operation["responses"] = {str(code): answer for code, answer
                                                  in operation["responses"].items()}
            if operation.get("parameters") or operation.get("requestBody"):
                responses.setdefault("400", {"description": "Invalid input", **ERROR_RESPONSE})
            if operation.get("security"):
                responses.setdefault("401", {"description": "Not logged in / bad token",
                                             **ERROR_RESPONSE})
                if method not in ("get", "head", "options"):
                    responses.setdefault("403", {"description": "CSRF check failed",
                                                 **ERROR_RESPONSE})
    return doc


@require_GET
def openapi_json(request):
    """The OpenAPI 3.1 document, paths relative to the site root."""
    return JsonResponse(openapi_schema())


@require_GET
def docs(request):
    """Swagger UI from static/vendor/swagger-ui, started by static/js/api_docs.js."""
    return render(request, "api/docs.html")


def not_found(request):
    """Any other path under /api/ (a typo, an id that is not a number): JSON, not the HTML
    page, so API clients always get songhub's error shape."""
    return json_error("not_found", f"No API endpoint at {request.path}.", 404)


def urls() -> list:
    """The operations' URL patterns (unnamespaced: their names are the views' old names),
    then the JSON 404 for the rest of /api/ (last in the URLconf)."""
    from django.urls import path, re_path

    return [path("api/openapi.json", openapi_json, name="api-openapi"),
            path("api/docs", docs, name="api-docs"), *api.urls[0],
            re_path(r"^api/", not_found, name="api-not-found")]
