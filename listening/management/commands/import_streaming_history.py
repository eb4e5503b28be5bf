"""`manage.py import_streaming_history my_spotify_data.zip (--listener SPOTIFY_ID | --user USERNAME)
[--analyze-only]`; `--user` works without Spotify (the user's export-only listener)."""

import json
import sys

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from listening import history_import, service
from listening.models import Listener


class Command(BaseCommand):
    help = "Import (or only analyze) a Spotify extended streaming history export."

    def add_arguments(self, parser):
        parser.add_argument("path")
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--listener", help="The listener's Spotify id.")
        who.add_argument("--user", help="A songhub username (a listener is made if needed).")
        parser.add_argument("--analyze-only", action="store_true")

    def handle(self, *args, path, listener, user, analyze_only, **options):
        if user:
            account = get_user_model().objects.filter(username=user).first()
            if account is None:
                raise CommandError(f"No songhub user {user!r}.")
            found = service.listener_for(account)
        else:
            found = Listener.objects.filter(spotify_id=listener).first()
        if found is None:
            raise CommandError(f"No listener with Spotify id {listener!r}.")
        try:
            analysis = history_import.analyze(path, found)
        except history_import.ImportFileError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps(analysis.as_dict(), indent=1))
        if analyze_only or not analysis.new:
            return
        if sys.stdout.isatty() and options["verbosity"]:
            from rich.progress import Progress

            with Progress() as bar:
                task = bar.add_task("importing", total=len(analysis.new))
                stored = history_import.execute(
                    found, analysis, lambda done, total: bar.update(task, completed=done))
        else:
            stored = history_import.execute(
                found, analysis, lambda done, total: self.stdout.write(f"imported {done}/{total}"))
        self.stdout.write(self.style.SUCCESS(f"Imported {stored} plays."))
