"""JSON operations of works (ninja router, mounted by songhub.api): what songhub knows about a
song elsewhere, from any one thing or from a work. The logic is works.related."""

from ninja import Path, Router, Schema

from songhub.api import LOGGED_IN, Error
from songhub.http import json_error

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


@router.get("api/works/for/{kind}/{object_id}", response={200: Related, **ERRORS},
            url_name="work-api-for", summary="A thing's work and everything linked to it")
def for_thing(request, kind: Kind, object_id: str):
    """`kind`: song, chart, spotify or graph (another answers 400); `object_id` that thing's
    id."""
    found = related(kind, object_id, request.user)
    if found is None:
        return json_error("not_found", "songhub has not linked this to a work yet.", 404)
    return found


@router.get("api/works/{int:work_id}", response={200: Related, **ERRORS}, url_name="work-api",
            summary="A work and everything linked to it")
def work_detail(request, work_id: int = Path(..., ge=0, le=2**31 - 1)):
    work = Work.objects.filter(pk=work_id).first()
    if work is None:
        return json_error("not_found", f"No work {work_id}.", 404)
    link = work.links.first()
    return (related(link.kind, link.object_id, request.user) if link else
            {"work": {"id": work.pk, "title": work.title, "artist": work.artist}})
