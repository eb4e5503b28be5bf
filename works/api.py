"""JSON operations of works (ninja router, mounted by songhub.api): what songhub knows about a
song elsewhere, from any one thing or from a work. The logic is works.related."""

from ninja import Path, Router, Schema, Status

from songhub.api import LOGGED_IN, Error

from .models import Kind, Work
from .related import related

router = Router(tags=["works"], auth=LOGGED_IN)


class WorkRef(Schema):
    id: int
    title: str
    artist: str


class Plays(Schema):
    count: int
    last_played: str | None


class Related(Schema):
    work: WorkRef
    songs: list[dict] = []
    charts: list[dict] = []
    spotify_tracks: list[str] = []
    plays: Plays | None = None
    next: list[dict] = []


ERRORS = {400: Error, 401: Error, 404: Error}


def _error(status: int, code: str, message: str):
    return Status(status, {"error": {"code": code, "message": message}})


@router.get("api/works/for/{kind}/{object_id}", response={200: Related, **ERRORS},
            url_name="work-api-for", summary="A thing's work and everything linked to it")
def for_thing(request, kind: str, object_id: str):
    """`kind`: song, chart, spotify or graph; `object_id` that thing's id."""
    if kind not in Kind.values:
        return _error(400, "bad_kind", f"kind must be one of {', '.join(Kind.values)}.")
    found = related(kind, object_id, request.user)
    if found is None:
        return _error(404, "not_found", "songhub has not linked this to a work yet.")
    return found


@router.get("api/works/{int:work_id}", response={200: Related, **ERRORS}, url_name="work-api",
            summary="A work and everything linked to it")
def work_detail(request, work_id: int = Path(..., ge=0, le=2**31 - 1)):
    work = Work.objects.filter(pk=work_id).first()
    if work is None:
        return _error(404, "not_found", f"No work {work_id}.")
    link = work.links.first()
    return (related(link.kind, link.object_id, request.user) if link else
            {"work": {"id": work.pk, "title": work.title, "artist": work.artist}})
