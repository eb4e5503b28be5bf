"""`manage.py import_setlists PATH... [--format auto|mixesdb|text|cue|m3u|json|csv]`.

Each file is parsed completely before anything is written; a malformed file is reported with
its line and skipped (exit 1), the others are imported. `--dry-run` parses only."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand

from graph import etl
from graph.parsers import FORMATS, ParseError, detect, parse


class Command(BaseCommand):
    help = "Import setlist files into the transition graph."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+")
        parser.add_argument("--format", default="auto", choices=("auto",) + FORMATS)
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args, paths, format, dry_run, verbosity, **options):
        failed = imported = 0
        for name in paths:
            path = Path(name)
            try:
                text = path.read_text(encoding="utf-8-sig")
                fmt = detect(text, path.name) if format == "auto" else format
                setlist = parse(text, fmt, path.name)
            except (OSError, UnicodeDecodeError, ParseError) as exc:
                failed += 1
                self.stderr.write(f"{path}: {exc}")
                continue
            if dry_run:
                self.stdout.write(f"{path}: {fmt}, {len(setlist.entries)} entries (dry run)")
                continue
            try:
                result = etl.import_setlist(setlist, source="file", payload=text, fmt=fmt)
            except etl.GraphUnavailable as exc:
                self.stderr.write(str(exc))
                sys.exit(1)
            imported += 1
            if verbosity:
                self.stdout.write(f"{path}: {result.status}, {result.entries} entries, "
                                  f"{result.identified} identified")
        self.stdout.write(f"imported {imported}, failed {failed}")
        if failed:
            sys.exit(1)
