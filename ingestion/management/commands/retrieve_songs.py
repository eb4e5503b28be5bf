"""`manage.py retrieve_songs`: sync, render and index the song library.

Exit codes: 0 success, 1 some songs failed, 2 fatal (source unreachable, rate limited, ...).
"""

import sys
from contextlib import nullcontext

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
        )
        run = SyncRun.objects.create(status=SyncRun.Status.RUNNING, trigger=opts["trigger"],
                                     options={k: v for k, v in vars(options).items()})
        progress, bar = self.progress_reporter(opts["verbosity"])
        with bar or nullcontext():
            report = pipeline.run_sync(options, run, progress)
        for error in report.errors[:50]:
            self.stderr.write(f"  failed: {error['file']}: {error['message']}")
        for skipped in report.skipped[:50] if opts["verbosity"] > 1 else []:
            self.stdout.write(f"  skipped: {skipped['path']}: {skipped['reason']}")
        style = self.style.ERROR if report.exit_code else self.style.SUCCESS
        self.stdout.write(style(f"Sync #{run.pk}: {report.summary()}"))
        if report.exit_code:
            sys.exit(report.exit_code)

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

        def log(stage, done, total):
            step = max(1, total // 10)
            if done in (0, total) or done - last.get(stage, 0) >= step:
                last[stage] = done
                self.stdout.write(f"{stage}: {done}/{total}")

        return log, None
