from django import template

from works.related import related

register = template.Library()


@register.inclusion_tag("works/_related.html", takes_context=True)
def elsewhere(context, kind, object_id):
    """The "elsewhere in songhub" panel for a chord sheet, chart, Spotify track or graph track."""
    request = context.get("request")
    return {"found": related(kind, object_id, getattr(request, "user", None)), "kind": kind}
