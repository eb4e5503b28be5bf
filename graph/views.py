"""Server-rendered graph pages: the graph itself, setlist upload, curation (staff)."""

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.db import connection
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from . import curation, etl
from .identity import INVALID_ARTIST_PATTERN, UNKNOWN_TITLES
from .models import CurationAudit
from .parsers import FORMATS, ParseError, detect, parse

MAX_UPLOAD_BYTES = 5 * 1024 * 1024


def graph_page(request):
    """The page gets the artist rule's own pattern (identity.py), so the frontend layer
    filters with the same definition as the ETL, the views and the API."""
    return render(request, "graph/graph.html", {
        "available": connection.vendor == "postgresql",
        "rule": {"invalid_artist": INVALID_ARTIST_PATTERN, "unknown_titles": sorted(UNKNOWN_TITLES)}})


@staff_member_required
@require_http_methods(["GET", "POST"])
def upload(request):
    if request.method == "POST":
        upload = request.FILES.get("file")
        fmt = request.POST.get("format", "auto")
        if upload is None or upload.size > MAX_UPLOAD_BYTES or fmt not in ("auto",) + FORMATS:
            messages.error(request, "Choose a setlist file (at most 5 MB) and a known format.")
            return redirect("graph-upload")
        try:
            text = upload.read().decode("utf-8-sig")
            fmt = detect(text, upload.name) if fmt == "auto" else fmt
            setlist = parse(text, fmt, upload.name)
            result = etl.import_setlist(setlist, source="file", payload=text, fmt=fmt)
        except UnicodeDecodeError:
            messages.error(request, f"{upload.name}: not UTF-8 text; nothing was imported.")
        except ParseError as exc:
            messages.error(request, f"{upload.name}: {exc}; nothing was imported.")
        except etl.GraphUnavailable as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"{upload.name}: {result.status}, {result.entries} entries, "
                                      f"{result.identified} identified.")
        return redirect("graph-upload")
    return render(request, "graph/upload.html", {"formats": FORMATS})


@staff_member_required
@require_http_methods(["GET", "POST"])
def curate(request):
    if request.method == "POST":
        action = request.POST.get("action", "assign")
        try:
            if action == "accept":
                curation.accept(request.user, int(request.POST["rule"]))
            elif action == "reject":
                curation.reject(request.user, int(request.POST["rule"]))
            else:
                curation.decide(request.user, request.POST.get("raw_line", ""),
                                artist=request.POST.get("artist", ""),
                                title=request.POST.get("title", ""),
                                not_a_track=action == "not_a_track")
        except (curation.CurationError, KeyError, ValueError) as exc:
            messages.error(request, f"Nothing changed: {exc}")
        else:
            messages.success(request, "Saved; the graph was updated for the affected setlists.")
        return redirect("graph-curate")
    return render(request, "graph/curate.html", {
        "groups": curation.unidentified_groups(), "audit": CurationAudit.objects.select_related(
            "user")[:30]})
