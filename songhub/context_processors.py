from django.conf import settings


def version(request):
    return {"songhub_version": settings.VERSION}
