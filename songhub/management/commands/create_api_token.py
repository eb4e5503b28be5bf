from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from songhub.models import ApiToken


class Command(BaseCommand):
    help = "Issue an API token for a user; the key is printed once."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="api client")

    def handle(self, *args, username, name, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user {username!r}.")
        _, key = ApiToken.issue(user, name)
        self.stdout.write(key)
