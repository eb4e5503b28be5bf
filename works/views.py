"""JSON: what songhub knows about a song elsewhere (`/api/works/for/<kind>/<id>`) and a work."""

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from songhub.http import json_error

from .models import Kind, Work
from .related import related


@require_GET
@login_required
def for_thing(request, kind: str, object_id: str):
    if kind not in Kind.values:
        return json_error("bad_kind", f"kind must be one of {', '.join(Kind.values)}.", 400)
    found = related(kind, object_id, request.user)
    if found is None:
        return json_error("not_found", "songhub has not linked this to a work yet.", 404)
    return JsonResponse(found)


@require_GET
@login_required
def work_detail(request, work_id: int):
    work = Work.objects.filter(pk=work_id).first()
    if work is None:
        return json_error("not_found", f"No work {work_id}.", 404)
    link = work.links.first()
    return JsonResponse(related(link.kind, link.object_id, request.user) if link else
                        {"work": {"id": work.pk, "title": work.title, "artist": work.artist}})
