"""JSON operations of the song library (ninja router, mounted by songhub.api): a song, the
search, and the gzip song index. The HTTP details (ETag, gzip) stay in ingestion.views."""

from ninja import Path, Router, Schema

from songhub.api import Error
from songhub.http import json_error

from . import search, views
from .models import Song

router = Router(tags=["songs"])

ID = Path(..., ge=0, le=2**31 - 1)


class SongOut(Schema):
    id: int
    title: str
    subtitle: str
    artist: str
    key: str
    tempo: str
    time_signature: str
    capo: int | None
    genre: str
    language: str
    filename: str
    page_count: int
    pdf_url: str
    pdf_etag: str
    image_etag: str
    pages: list[str]
    thumbnail_url: str | None
    metadata: dict
    updated_at: str


class SearchHit(Schema):
    id: int
    title: str
    artist: str
    key: str
    page_count: int
    score: float
    snippet: str | None = None
    thumbnail_url: str | None


class SearchOut(Schema):
    query: str
    mode: str
    count: int
    results: list[SearchHit]


class IndexEntry(Schema):
    id: int
    filename: str
    title: str


@router.get("songs/list", response={200: list[IndexEntry], 304: None, 503: Error},
            url_name="song-list", summary="The song index (id, filename, title), sorted by title")
def song_list(request):
    """Pre-built at each sync: no query on the songs table. Gzip bytes as stored when the
    client accepts gzip; `ETag`/`If-None-Match` answer 304."""
    return views.song_list(request)


@router.get("api/songs/search", response={200: SearchOut, 400: Error}, url_name="song-search",
            summary="Search songs by title, artist and lyrics")
def song_search(request, q: str | None = None, mode: str | None = None,
                limit: str | None = None, offset: str | None = None):
    """`mode`: auto, prefix, substring, fuzzy or lyrics (see docs/search.md); `limit` (at most
    100) and `offset` are whole numbers. Bad values answer 400 with a specific code."""
    try:
        page = search.search(q, mode, limit, offset)
    except search.SearchError as exc:
        return json_error(exc.code, str(exc), 400)
    results = []
    for hit in page.hits:
        item = hit.as_dict()
        etag = item.pop("image_etag")
        item["thumbnail_url"] = f"{views.page_url(hit.id, 1)}?v={etag}" if hit.page_count else None
        results.append(item)
    return {"query": page.query, "mode": page.mode, "count": page.count, "results": results}


@router.get("api/songs/{int:song_id}", response={200: SongOut, 404: Error}, url_name="song-api",
            summary="One song's metadata, page image and PDF URLs")
def song_api(request, song_id: int = ID):
    song = Song.objects.filter(pk=song_id).first()
    if song is None:
        return json_error("not_found", f"No song with id {song_id}.", 404)
    return views.song_json(song)
