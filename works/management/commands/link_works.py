"""`manage.py link_works [--dry-run]`: one matcher pass; JSON summary on stdout."""

import json

from django.core.management.base import BaseCommand

from songhub import locks


class Command(BaseCommand):
    help = "Link chord sheets, Spotify tracks, charts and graph tracks to their works."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="match, report, write nothing")

    def handle(self, *args, dry_run, **options):
        from works.linker import link_works

        try:
            with locks.exclusive("works.link"):
                report = link_works(dry_run=dry_run)
        except locks.Busy as exc:
            self.stderr.write(f"link_works: {exc}")
            raise SystemExit(2) from None
        self.stdout.write(json.dumps(report.summary(), sort_keys=True))
