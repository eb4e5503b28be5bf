"""The library health report shown with each sync run: what a curator should fix."""

from .models import Song

LIMIT = 200  # per list: enough to act on, small enough for a JSON column


def library_health(skipped: list[dict], errors: list[dict]) -> dict:
    missing = {
        "title": list(Song.objects.filter(title_from_filename=True)
                      .values_list("filename", flat=True)[:LIMIT]),
        "key": list(Song.objects.filter(key="").values_list("filename", flat=True)[:LIMIT]),
        "artist": list(Song.objects.filter(artist="").values_list("filename", flat=True)[:LIMIT]),
    }
    directive_warnings = []
    for filename, warnings in (Song.objects.filter(warning_count__gt=0)
                               .values_list("filename", "warnings")[:LIMIT]):
        directive_warnings.extend({"file": filename, "warning": w} for w in warnings)
    return {
        "missing": missing,
        "missing_counts": {
            "title": Song.objects.filter(title_from_filename=True).count(),
            "key": Song.objects.filter(key="").count(),
            "artist": Song.objects.filter(artist="").count(),
        },
        "warnings": directive_warnings[: LIMIT * 5],
        "skipped": skipped[:LIMIT],
        "failed": errors[:LIMIT],
    }
