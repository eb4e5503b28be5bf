"""`manage.py import_charts PATH...`: archives (.zip/.7z/.rar) or song folders → the library.

Prints a JSON report per path on stdout. Exit codes: 0 all imported (duplicates are fine),
1 some paths refused or failed, 2 nothing could be done (e.g. a path does not exist).
"""

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand

from charts import importer, storage
from charts.progress import reporter


class Command(BaseCommand):
    help = "Import Clone Hero charts from archives or song folders into the chart storage."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+")

    def handle(self, *args, **opts):
        missing = [p for p in opts["paths"] if not Path(p).exists()]
        if missing:
            self.stderr.write(self.style.ERROR(f"no such file or folder: {', '.join(missing)}"))
            sys.exit(2)
        progress, bar = reporter(self.stdout, self.stderr, opts["verbosity"])
        problems = 0
        with bar:
            for path in opts["paths"]:
                try:
                    result = importer.import_path(path, progress=progress)
                    report = {"path": path, "status": "done", "added": len(result["songs"]),
                              "duplicates": len(result["duplicates"]), **result}
                except importer.ImportRefused as exc:
                    problems += 1
                    report = {"path": path, "status": "refused", "error": str(exc)}
                except storage.StorageError as exc:
                    problems += 1
                    report = {"path": path, "status": "failed", "error": f"storage: {exc}"}
                self.stdout.write(json.dumps(report))
        if problems:
            sys.exit(1)
