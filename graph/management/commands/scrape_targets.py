"""`manage.py scrape_targets [--limit 10] [--source mixesdb]`: the daily target-track search
(Kubernetes CronJob `scrape-targets`). Exit 1 when any target failed."""

import sys

from django.core.management.base import BaseCommand

from graph import sources, targets


class Command(BaseCommand):
    help = "Search pending target tracks and import every setlist that contains them."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=10, help="Targets per run (default 10).")
        parser.add_argument("--source", choices=sources.REMOTE_SOURCES, default=None)
        parser.add_argument("--per-target", type=int, default=5, help="Setlists per target.")
        parser.add_argument("--dry-run", action="store_true", help="Only list what would run.")

    def handle(self, *args, limit, source, per_target, dry_run, verbosity, **options):
        report = targets.run_targets(limit, source, per_target, dry_run)
        if verbosity > 1 or dry_run:
            for line in report.lines:
                self.stdout.write(line)
        self.stdout.write(f"targets: {report.targets}, failed: {report.failed}, setlists found: "
                          f"{report.setlists_found}, imported: {report.setlists_imported}")
        if report.failed:
            sys.exit(1)
