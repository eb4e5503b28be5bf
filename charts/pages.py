"""Chart library pages (server-rendered; upload and the storage browser add a little JS)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render

from . import library, validate
from .formats import ini
from .formats.common import DIFF_KEYS, DIFFICULTIES
from .models import Chart
from .storage.base import StorageError

PAGE_SIZE = 24
# Every song.ini field the editor shows, in the order Clone Hero's tools list them.
EDITOR_FIELDS = ["name", "artist", "album", "genre", "year", "charter", "song_length",
                 "preview_start_time", "video_start_time", "delay", "loading_phrase", "icon",
                 "playlist_track", "album_track", "pro_drums", "five_lane_drums", "modchart",
                 *DIFF_KEYS.values(), "diff_drums_real", "diff_guitar_real", "diff_bass_real",
                 "diff_keys_real", "diff_band"]


@login_required
def chart_library(request):
    p = request.GET
    try:
        offset = (max(1, int(p.get("page") or 1)) - 1) * PAGE_SIZE
    except ValueError:
        offset = 0
    error = None
    try:
        count, charts = library.search(p.get("q", ""), p.get("instrument", ""),
                                       p.get("difficulty", ""), p.get("issue", ""),
                                       PAGE_SIZE, offset)
    except library.LibraryError as exc:
        count, charts, error = 0, [], str(exc)
    pages = Paginator(range(count), PAGE_SIZE)
    number = offset // PAGE_SIZE + 1
    return render(request, "charts/library.html", {
        "charts": [library.as_json(c) for c in charts], "count": count, "error": error,
        "page": pages.get_page(number), "q": p.get("q", ""), "instrument": p.get("instrument", ""),
        "difficulty": p.get("difficulty", ""), "issue": p.get("issue", ""),
        "instruments": list(DIFF_KEYS), "difficulties": DIFFICULTIES,
        "query": _without_page(request)})


def _without_page(request) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


@login_required
def chart_detail(request, chart_id: int):
    chart = get_object_or_404(Chart, pk=chart_id)
    data = library.as_json(chart, full=True)
    table = [{"instrument": i, "diff": chart.diffs.get(k),
              "counts": [chart.note_counts.get(i, {}).get(d, 0) for d in DIFFICULTIES],
              "star_power": sum(chart.star_power.get(i, {}).values())}
             for i, k in DIFF_KEYS.items() if i in chart.note_counts or chart.diffs.get(k,
                                                                                       -1) >= 0]
    audio = next((f for f in chart.audio_files if f.lower().startswith("song.")), None) \
        or (chart.audio_files[0] if chart.audio_files else None)
    return render(request, "charts/detail.html", {
        "chart": chart, "data": data, "table": table, "difficulties": DIFFICULTIES,
        "issues": [(c, validate.CODES.get(c, c)) for c in chart.issues], "audio": audio})


@staff_member_required
def chart_edit(request, chart_id: int):
    chart = get_object_or_404(Chart, pk=chart_id)
    values = {k: "" if v is None else str(v) for k, v in {**chart.ini, **chart.ini_other}.items()}
    values.update({"name": chart.title, "artist": chart.artist, "charter": chart.charter})
    errors = {}
    if request.method == "POST":
        submitted = {k: request.POST.get(k, "") for k in EDITOR_FIELDS if k in request.POST}
        changed = {k: v for k, v in submitted.items() if v.strip() != values.get(k, "").strip()}
        values.update(submitted)
        try:
            if changed:
                library.update_metadata(chart, library.clean_fields(changed))
            messages.success(request, "Saved song.ini." if changed else "Nothing changed.")
            return redirect("chart-detail", chart_id=chart.pk)
        except library.LibraryError as exc:
            errors = exc.details or {"__all__": str(exc)}
        except StorageError as exc:
            errors = {"__all__": f"The storage refused the change: {exc}"}
    fields = [{"key": k, "value": values.get(k, ""), "error": errors.get(k)}
              for k in EDITOR_FIELDS]
    return render(request, "charts/edit.html", {"chart": chart, "fields": fields,
                                                "form_error": errors.get("__all__"),
                                                "title": ini.strip_tags(chart.title)},
                  status=400 if errors else 200)


@staff_member_required
def upload_page(request):
    from django.conf import settings

    return render(request, "charts/upload.html", {"max_mb": settings.CHARTS_MAX_UPLOAD_MB})


@staff_member_required
def browser_page(request):
    return render(request, "charts/browser.html")


@login_required
def health_page(request):
    counts = library.issue_counts()
    return render(request, "charts/health.html", {
        "rows": [(code, n, validate.CODES.get(code, code)) for code, n in counts.items()],
        "total": Chart.objects.count()})


@login_required
def generator_page(request):
    """Audio → chart: upload with a progress bar, then the job's stages, then the new chart."""
    from django.conf import settings

    from .generator import AUDIO_EXTENSIONS

    return render(request, "charts/generator.html", {
        "accept": ",".join(sorted(AUDIO_EXTENSIONS)), "max_mb": settings.CHARTS_MAX_AUDIO_MB})
