import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "songhub.settings")
application = get_wsgi_application()

from songhub.checks import assert_safe_to_start  # noqa: E402

assert_safe_to_start()
