"""Token authentication for API clients, beside Django's session authentication."""

from django.utils import timezone

from .http import json_error


class TokenAuthenticationMiddleware:
    """`Authorization: Token <key>` authenticates the request as the token's user. Such
    requests carry no cookies, so CSRF (a cookie attack) does not apply to them."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        header = request.headers.get("Authorization", "")
        if header.startswith("Token "):
            from .models import ApiToken, hash_token

            token = ApiToken.objects.select_related("user").filter(
                key_hash=hash_token(header[6:].strip())).first()
            if token is None or not token.user.is_active:
                return json_error("bad_token", "Invalid or revoked API token.", 401)
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
            request.user = token.user
            request._dont_enforce_csrf_checks = True
        return self.get_response(request)
