"""Song library HTTP endpoints: the gzip index, PDFs, page images, song JSON and pages."""

import functools

from django.conf import settings
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import get_script_prefix, reverse
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.views.decorators.http import condition, require_GET

from songhub.http import json_error

from .models import Song
from .songlist import load_index
from .store import SongStore
from .transposed import page_etag, request_render, transposed_path

ASSET_CACHE = {"public": True, "max_age": 300}


def _store() -> SongStore:
    return SongStore(settings.SONG_DATA_DIR)


def _etag_matches(request, etag: str) -> bool:
    header = request.headers.get("If-None-Match", "")
    return etag and (header.strip() == "*" or etag in [t.strip() for t in header.split(",")])


@functools.cache
def _page_path_format() -> str:
    """The page-image route as a format string, reversed once: `reverse` costs ~40 µs and a
    search answer lists 20 songs."""
    song, page = 900_000_001, 900_000_002
    path = reverse("song-page", args=[song, page]).removeprefix(get_script_prefix())
    return path.replace(str(page), "{page}").replace(str(song), "{song}")


def page_url(song_id: int, page: int) -> str:
    """`reverse("song-page", args=[song_id, page])`, fast (the script prefix is per request)."""
    return get_script_prefix() + _page_path_format().format(song=int(song_id), page=int(page))


def song_json(song: Song) -> dict:
    return {
        "id": song.id,
        "title": song.title,
        "subtitle": song.subtitle,
        "artist": song.artist,
        "key": song.key,
        "tempo": song.tempo,
        "time_signature": song.time_signature,
        "capo": song.capo,
        "genre": song.genre,
        "language": song.language,
        "filename": song.filename,
        "page_count": song.page_count,
        "pdf_url": reverse("song-pdf", args=[song.id]),
        "pdf_etag": song.pdf_etag,
        "image_etag": song.image_etag,
        "pages": [page_url(song.id, n) for n in range(1, song.page_count + 1)],
        "thumbnail_url": page_url(song.id, 1) if song.page_count else None,
        "metadata": song.metadata,
        "updated_at": song.updated_at.isoformat(),
    }


@require_GET
def song_list(request):
    """The pre-built index: no query on the songs table. Gzip bytes as-is when accepted."""
    index = load_index(_store().index_path)
    if index is None:
        return json_error("index_missing", "No song index yet: run a sync.", 503)
    gzip_ok = "gzip" in request.headers.get("Accept-Encoding", "")
    if _etag_matches(request, index.etag):
        response = HttpResponse(status=304)
    elif gzip_ok:
        response = HttpResponse(index.gzipped, content_type="application/json")
        response["Content-Encoding"] = "gzip"
    else:
        response = HttpResponse(index.json_bytes(), content_type="application/json")
    response["ETag"] = index.etag
    patch_vary_headers(response, ["Accept-Encoding"])
    patch_cache_control(response, public=True, max_age=60)
    return response


def _song_etag(request, song_id, *args):
    song = Song.objects.filter(pk=song_id).only("pdf_etag").first()
    return song.pdf_etag if song and song.pdf_etag else None


def _file_response(path, content_type):
    try:
        response = FileResponse(open(path, "rb"), content_type=content_type)
    except FileNotFoundError:
        raise Http404("Asset not rendered yet.") from None
    patch_cache_control(response, **ASSET_CACHE)
    return response


@require_GET
@condition(etag_func=_song_etag)
def song_pdf(request, song_id: int):
    song = get_object_or_404(Song.objects.only("id", "title"), pk=song_id)
    response = _file_response(_store().pdf_path(song.id), "application/pdf")
    response["Content-Disposition"] = f'inline; filename="{song.id}.pdf"'
    return response


def _semitones(request) -> int:
    """`?transpose=K&capo=C`: the chords a follower wants to see, K - C semitones away."""
    try:
        transpose = int(request.GET.get("transpose") or 0)
        capo = int(request.GET.get("capo") or 0)
    except ValueError:
        return 0
    if not -11 <= transpose <= 11 or not 0 <= capo <= 11:
        return 0
    return transpose - capo


def _page_etag(request, song_id, page):
    song = Song.objects.filter(pk=song_id).only("image_etag").first()
    if not song or not song.image_etag:
        return None
    return page_etag(song.image_etag, page, _semitones(request))


@require_GET
@condition(etag_func=_page_etag)
def song_page(request, song_id: int, page: int):
    song = get_object_or_404(Song.objects.only("id", "page_count", "filename", "source_sha"),
                             pk=song_id)
    if not 1 <= page <= song.page_count:
        raise Http404(f"Song {song_id} has {song.page_count} pages.")
    semitones = _semitones(request)
    if semitones % 12:
        return _transposed_page(request, song, page, semitones)
    return _file_response(_store().image_path(song.id, page), "image/webp")


def _may_transpose(request, song_id: int) -> bool:
    """Logged-in users, or members of an open room that shows this song (#11.14)."""
    if request.user.is_authenticated:
        return True
    from rooms import guests, services
    from rooms.views import SESSION_KEY

    memberships = request.session.get(SESSION_KEY, {}) if hasattr(request, "session") else {}
    return services.member_shows_song(song_id, list(memberships.values()),
                                      guests.read(request.COOKIES))


def _transposed_page(request, song, page: int, semitones: int):
    if not _may_transpose(request, song.id):
        return json_error("forbidden", "Log in, or join a room showing this song, to see it "
                          "in another key.", 403)
    path = transposed_path(_store(), song, page, semitones)
    if path.exists():
        return _file_response(path, "image/webp")
    state = request_render(song, semitones)
    if state == "busy":
        response = json_error("busy", "Too many keys are being rendered; try again shortly.",
                              503)
        response["Retry-After"] = "2"
    else:
        response = json_error("rendering", "This key is being rendered; try again shortly.",
                              202)
        response["Retry-After"] = "1"
    response["Cache-Control"] = "no-store"
    return response


def song_browser(request):
    songs = Song.objects.only("id", "title", "artist", "key", "page_count")[:200]
    return render(request, "ingestion/song_browser.html", {"songs": songs})


def song_detail(request, song_id: int):
    song = get_object_or_404(Song, pk=song_id)
    pages = [page_url(song.id, n) for n in range(1, song.page_count + 1)]
    return render(request, "ingestion/song_detail.html", {
        "song": song, "pages": pages,
        "show_warnings": request.user.is_staff,  # curators fix the source; readers need not see
    })
