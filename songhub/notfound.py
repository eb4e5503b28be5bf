"""The project's 404 page, also under DEBUG.

`make run` runs with DEBUG=1, where Django answers a missing page with its technical 404 (the
URLconf and settings hints): confusing for a user following an old song link. App pages get
`templates/404.html` whatever DEBUG says; JSON answers (APIs) keep their own body, and the admin
and static files keep Django's behaviour. Without DEBUG, Django's own handler404 already renders
the same template, so this middleware changes nothing there.
"""

from django.conf import settings
from django.shortcuts import render

KEEP_PREFIXES = ("/admin/",)


class NotFoundPageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (response.status_code == 404 and settings.DEBUG
                and response.get("Content-Type", "").startswith("text/html")
                and not request.path.startswith((*KEEP_PREFIXES, settings.STATIC_URL))):
            return render(request, "404.html", {"request_path": request.path}, status=404)
        return response
