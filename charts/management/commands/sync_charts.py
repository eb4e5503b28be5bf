"""`manage.py sync_charts`: the Songs folder on the chart storage → the library.

Prints the JSON summary {"synced", "added", "updated", "unchanged", "purged", "failed"} on
stdout. Exit codes: 0 success, 1 some folders failed, 2 fatal (storage unreachable, another
sync running, ...), like `retrieve_songs`.
"""

import json
import sys

from django.core.management.base import BaseCommand

from charts import sync
from charts.progress import reporter


class Command(BaseCommand):
    help = "Sync the chart library from the chart storage (Nextcloud or the local folder)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true",
                            help="Read and report; write nothing to the database.")
        parser.add_argument("--no-purge", action="store_true",
                            help="Keep rows whose folders are gone.")
        parser.add_argument("--full", action="store_true",
                            help="Walk the whole Songs folder, also where the folder ETags say "
                                 "nothing changed.")
        parser.add_argument("--trigger", default="cli", choices=["cli", "cron", "beat"],
                            help="Recorded on the run.")

    def handle(self, *args, **opts):
        progress, bar = reporter(self.stdout, self.stderr, opts["verbosity"])
        with bar:
            record, report = sync.run(trigger=opts["trigger"], dry_run=opts["dry_run"],
                                      purge=not opts["no_purge"], progress=progress,
                                      full=opts["full"])
        for error in report.errors[:50]:
            self.stderr.write(f"  failed: {error['folder']}: {error['message']}")
        if report.fatal:
            self.stderr.write(self.style.ERROR(f"Chart sync #{record.pk} failed: {report.fatal}"))
        self.stdout.write(json.dumps(report.summary()))
        if report.exit_code:
            sys.exit(report.exit_code)
