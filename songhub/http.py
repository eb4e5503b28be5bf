"""The one JSON error shape every API endpoint answers with."""

from django.http import JsonResponse


def json_error(code: str, message: str, status: int, details: dict | None = None) -> JsonResponse:
    """`{"error": {"code", "message", "details"?}}` with `status`."""
    body = {"code": code, "message": message}
    if details:
        body["details"] = details
    return JsonResponse({"error": body}, status=status)
