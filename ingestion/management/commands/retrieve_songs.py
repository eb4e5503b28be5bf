"""`manage.py retrieve_songs`: sync, render and index the song library.

Exit codes: 0 success, 1 some songs failed, 2 fatal (source unreachable or empty, a refused
prune, rate limited, ...). What a sync may remove is decided in `ingestion.pipeline`.
"""

import argparse
import logging
import sys
from contextlib import contextmanager, nullcontext

from django.core.management.base import BaseCommand, CommandError

from ingestion import pipeline
from ingestion.models import Song, SyncRun


class Command(BaseCommand):
    help = "Sync ChordPro songs from GitHub (or a folder), render PDFs/images, upsert, index."

    def add_arguments(self, parser):
        parser.add_argument("--reset-songs", action="store_true", help="Delete all songs first.")
        parser.add_argument("--only-reset", action="store_true",
                            help="Wipe the songs table and stop.")
        parser.add_argument("--regen-assets", action="store_true",
                            help="Re-render every PDF and image.")
        parser.add_argument("--concurrency", type=int, default=0,
                            help="Render processes (default: number of CPUs).")
        parser.add_argument("--no-sync", action="store_true",
                            help="Process the files already in SONG_DATA_DIR/songs.")
        parser.add_argument("--sync-only", action="store_true",
                            help="Sync and update metadata; no PDFs or images.")
        parser.add_argument("--source-dir", default="",
                            help="Take ChordPro files from this folder instead of GitHub.")
        parser.add_argument("--prune", action=argparse.BooleanOptionalAction, default=None,
                            help="Remove songs that came from this source and are no longer "
                                 "in it (default: on for GitHub and --no-sync, off for "
                                 "--source-dir). Songs from other sources are never removed.")
        parser.add_argument("--yes", action="store_true",
                            help="Allow a prune that removes more than half the library.")
        parser.add_argument("--repo", default="", help="owner/name (default: SONGS_REPO).")
        parser.add_argument("--ref", default="", help="Branch, tag or commit (default: HEAD).")
        parser.add_argument("--ensure-search-infra", action="store_true",
                            help="Create missing search extensions and indexes.")
        parser.add_argument("--allow-blocking", action="store_true",
                            help="Build search indexes inside a transaction (not CONCURRENTLY).")
        parser.add_argument("--fts-mode", choices=["column", "expression", "off"],
                            default="column", help="Full-text index layout.")
        parser.add_argument("--trigger", default=SyncRun.Trigger.CLI,
                            choices=SyncRun.Trigger.values, help="Recorded on the run.")

    def handle(self, *args, **opts):
        if opts["concurrency"] < 0:
            raise CommandError("--concurrency must be 0 (auto) or more")
        if opts["no_sync"] and opts["source_dir"]:
            raise CommandError("--no-sync and --source-dir exclude each other")
        if opts["only_reset"]:
            deleted, _ = Song.objects.all().delete()
            self.stdout.write(f"Deleted {deleted} songs.")
            return
        if opts["ensure_search_infra"]:
            self.ensure_search_infra(opts)

        options = pipeline.SyncOptions(
            source="local" if opts["no_sync"] else ("dir" if opts["source_dir"] else "github"),
            source_dir=opts["source_dir"], repo=opts["repo"], ref=opts["ref"],
            regen_assets=opts["regen_assets"], sync_only=opts["sync_only"],
            reset_songs=opts["reset_songs"], concurrency=opts["concurrency"],
            prune=opts["prune"], confirm_mass_prune=opts["yes"],
        )
        run = SyncRun.objects.create(status=SyncRun.Status.RUNNING, trigger=opts["trigger"],
                                     options={k: v for k, v in vars(options).items()})
        verbosity = opts["verbosity"]
        progress, bar = self.progress_reporter(verbosity)
        notify = self.stdout.write if verbosity else None
        with bar or nullcontext(), pipeline_logs_quiet(verbosity):
            report = pipeline.run_sync(options, run, progress, notify)
        if verbosity:
            self.print_details(report, verbosity)
        style = self.style.ERROR if report.exit_code else self.style.SUCCESS
        self.stdout.write(style(f"Sync #{run.pk}: {report.summary()}"))
        if report.exit_code:
            sys.exit(report.exit_code)

    def print_details(self, report, verbosity):
        """Per-file problems before the one summary line: failures, then parse warnings."""
        for error in report.errors[:50]:
            self.stderr.write(f"failed: {error['file']}: {error['message']}")
        limit = None if verbosity > 1 else 50
        for item in sorted(report.warnings, key=lambda w: w["file"])[:limit]:
            count = len(item["warnings"])
            self.stdout.write(self.style.WARNING(
                f"{item['file']}: {count} warning{'s' if count != 1 else ''}"))
            for warning in item["warnings"]:
                self.stdout.write(f"  {warning}")
        if limit is not None and len(report.warnings) > limit:
            self.stdout.write(f"... and {len(report.warnings) - limit} more files with "
                              "warnings (-v 2 lists all)")
        for skipped in report.skipped[:50] if verbosity > 1 else []:
            self.stdout.write(f"skipped: {skipped['path']}: {skipped['reason']}")

    def ensure_search_infra(self, opts):
        from ingestion import search_infra

        for line in search_infra.ensure(fts_mode=opts["fts_mode"],
                                        allow_blocking=opts["allow_blocking"]):
            self.stdout.write(f"search: {line}")

    def progress_reporter(self, verbosity):
        """A rich progress bar on a terminal; plain stage lines otherwise."""
        if verbosity == 0:
            return None, None
        if sys.stdout.isatty():
            from rich.progress import Progress

            bar = Progress(transient=False)
            tasks = {}

            def update(stage, done, total):
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stage, total=total or 1)
                bar.update(tasks[stage], completed=done, total=total or 1)

            return update, bar

        last = {}
        labels = {"download": ("Downloading", "files"), "render": ("Processing", "songs")}

        def log(stage, done, total):
            if stage not in labels:  # "list": one request, nothing to count
                if done == 0:
                    self.stdout.write("Reading the source...")
                return
            step = max(1, total // 10)
            if total and (done == total or done - last.get(stage, 0) >= step):
                last[stage] = done
                verb, unit = labels[stage]
                self.stdout.write(f"{verb}: {done} of {total} {unit}")

        return log, None


@contextmanager
def pipeline_logs_quiet(verbosity):
    """The command prints the run's failures and summary itself; the pipeline's own INFO and
    WARNING log lines would say the same things again (the summary twice), so they are held
    back unless -v 2 or more asks for everything."""
    pipeline_logger = logging.getLogger(pipeline.__name__)
    previous = pipeline_logger.level
    if verbosity < 2:
        pipeline_logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        pipeline_logger.setLevel(previous)
