"""Install the bundled demo songbook into an empty library, once; create the admin user.

The demo never touches anything else: it is skipped when the library has songs or a demo was
installed before (so a `make run` restart keeps the user's songs and the demo songs' IDs), and
its import adds only (a folder import never prunes). The admin password is shown once, see
`songhub.welcome`.
"""

import secrets
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from ingestion import pipeline
from ingestion.models import Song, SyncRun
from songhub import welcome

DEMO_SONGS = Path(__file__).resolve().parents[3] / "ingestion" / "demo_songs"


class Command(BaseCommand):
    help = ("Load the demo songbook into an empty library (once) and create the 'admin' user "
            "if there is none.")

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument("--defer-password", action="store_true",
                            help="Keep the new admin password for `runall` to print last "
                                 "(what `make run` does) instead of printing it here.")
        parser.add_argument("--demo-analytics", action="store_true",  # listening/demo.py
                            help="Also load a generated sample Spotify export for the user.")

    def handle(self, *args, username, defer_password, demo_analytics=False, **options):
        self.install_demo()
        self.ensure_admin(username, defer_password)
        if demo_analytics:  # listening's demo, kept apart (listening/demo.py)
            from django.conf import settings

            from listening import demo

            self.stdout.write(demo.bootstrap(settings.SONG_DATA_DIR, username))

    def ensure_admin(self, username, defer_password):
        User = get_user_model()
        if User.objects.filter(username=username).exists():
            self.stdout.write(f"Admin user {username!r} exists; its password is unchanged "
                              f"(manage.py changepassword {username} sets a new one).")
            return
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser(username, "", password)
        if defer_password:
            welcome.defer(username, password)
            self.stdout.write(f"Created admin user {username!r}; its password is shown once "
                              "when songhub is up.")
        else:
            self.stdout.write(self.style.SUCCESS(
                welcome.box(welcome.password_lines(username, password))))

    def install_demo(self):
        if SyncRun.objects.filter(trigger=SyncRun.Trigger.DEMO,
                                  status=SyncRun.Status.SUCCEEDED).exists():
            self.stdout.write("Demo songbook: installed before; left as it is.")
            return
        songs = Song.objects.count()
        if songs:
            self.stdout.write(f"Demo songbook: not installed, the library already has {songs} "
                              "songs (the demo goes into an empty library only).")
            return
        run = SyncRun.objects.create(status=SyncRun.Status.RUNNING, trigger=SyncRun.Trigger.DEMO)
        report = pipeline.run_sync(
            pipeline.SyncOptions(source="dir", source_dir=str(DEMO_SONGS), prune=False), run)
        self.stdout.write(f"Demo songbook: {report.summary()}")
