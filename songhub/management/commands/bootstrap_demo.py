"""Load the bundled demo songbook and create the demo admin (its password is printed once)."""

import secrets
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from ingestion import pipeline
from ingestion.models import SyncRun

DEMO_SONGS = Path(__file__).resolve().parents[3] / "ingestion" / "demo_songs"


class Command(BaseCommand):
    help = "Load the demo songbook (offline) and create the 'admin' user if there is none."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument("--demo-analytics", action="store_true",  # listening/demo.py
                            help="Also load a generated sample Spotify export for the user.")

    def handle(self, *args, username, **options):
        self._handle(username, **options)
        if options.get("demo_analytics"):  # listening's demo, kept apart (listening/demo.py)
            from django.conf import settings

            from listening import demo

            self.stdout.write(demo.bootstrap(settings.SONG_DATA_DIR, username))

    def _handle(self, username, **options):
        run = SyncRun.objects.create(status=SyncRun.Status.RUNNING, trigger=SyncRun.Trigger.DEMO)
        report = pipeline.run_sync(
            pipeline.SyncOptions(source="dir", source_dir=str(DEMO_SONGS)), run)
        self.stdout.write(f"Demo songbook: {report.summary()}")

        User = get_user_model()
        if User.objects.filter(username=username).exists():
            self.stdout.write(f"Admin user {username!r} exists; its password is unchanged.")
            return
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser(username, "", password)
        self.stdout.write(self.style.SUCCESS(
            f"Created admin user {username!r} with password: {password}\n"
            "This password is shown only once; change it at /admin/password_change/."))
