"""Request and task ids on every log line, so one event can be followed through the logs."""

import contextvars
import logging
import uuid

_request_id = contextvars.ContextVar("request_id", default="-")


def current_request_id() -> str:
    return _request_id.get()


class ContextFilter(logging.Filter):
    """Adds `request_id` and `task_id` to every record (``-`` when there is none)."""

    def filter(self, record: logging.LogRecord) -> bool:
        # django.request logs after the middleware chain has returned, but passes the request
        request = getattr(record, "request", None)
        record.request_id = getattr(request, "request_id", None) or _request_id.get()
        record.task_id = _current_task_id()
        return True


def _current_task_id() -> str:
    try:
        from celery import current_task
    except ImportError:  # pragma: no cover - celery is a hard dependency
        return "-"
    request = getattr(current_task, "request", None)
    return getattr(request, "id", None) or "-"


class RequestIdMiddleware:
    """Takes X-Request-ID from the proxy when it is sane, else makes one; echoes it back."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else ""
        request.request_id = request_id or uuid.uuid4().hex[:16]
        token = _request_id.set(request.request_id)
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = _request_id.get()
            return response
        finally:
            _request_id.reset(token)
