"""`manage.py link_artists`: the daily artist linker (Kubernetes CronJob at 03:00).

Prints a JSON summary {"success", "successful_links", "failed_links", "total_processed"};
exit 0 on success, 1 on a fatal error (no token, rate limited, Spotify down, already running).
"""

import json
import sys

from django.core.management.base import BaseCommand

from listening import linker
from songhub import locks


class Command(BaseCommand):
    help = "Link tracks that have no artists, using the Spotify API (50 tracks per request)."

    def add_arguments(self, parser):
        parser.add_argument("--pace", type=float, default=None,
                            help="Seconds between API calls (default LINK_ARTISTS_PACE_SECONDS).")

    def handle(self, *args, pace, **options):
        try:
            with locks.exclusive("link-artists"):
                report = linker.link_artists(pace_seconds=pace)
        except locks.Busy as exc:
            report = linker.LinkReport(success=False, error=str(exc))
        self.stdout.write(json.dumps(report.summary()))
        if not report.success:
            sys.exit(1)
