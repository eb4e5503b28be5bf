"""`manage.py generate_chart AUDIO --title T --artist A [--no-upload --out DIR]`: audio → chart
here, with a progress bar on a terminal; uploads into the library unless --no-upload."""

import json
import shutil
import sys
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Generate a Clone Hero chart from an audio file."

    def add_arguments(self, parser):
        parser.add_argument("audio", type=Path)
        parser.add_argument("--title", required=True)
        parser.add_argument("--artist", required=True)
        for name in ("album", "genre", "year"):
            parser.add_argument(f"--{name}", default="")
        parser.add_argument("--no-upload", action="store_true",
                            help="only write the song folder (to --out)")
        parser.add_argument("--out", type=Path, help="folder for the song files")

    def handle(self, *args, audio, title, artist, album, genre, year, no_upload, out, **options):
        from charts import generator

        if no_upload and out is None:
            raise CommandError("--no-upload needs --out DIR")
        meta = generator.ChartMeta(title=title, artist=artist, album=album, genre=genre,
                                   year=year)
        work = out or Path(tempfile.mkdtemp(prefix="songhub-generate-"))
        try:
            with _progress(self.stdout) as report:
                summary = generator.generate(audio, work, meta, report,
                                             max_bytes=settings.CHARTS_MAX_AUDIO_MB * 2**20)
                if not no_upload:
                    report("uploading", 85)
                    summary.update(_upload(work, meta))
                report("done", 100)
        except generator.GeneratorError as exc:
            raise CommandError(str(exc)) from None
        finally:
            if out is None:
                shutil.rmtree(work, ignore_errors=True)
        self.stdout.write(json.dumps(summary, sort_keys=True))


def _upload(folder: Path, meta) -> dict:
    from charts import generation, storage as storage_mod

    storage = storage_mod.get_storage()
    chart, final = generation.publish(folder, meta, storage, generation.staging_path("cli"))
    return {"chart_id": chart.pk, "remote_path": final, "issues": chart.issues}


class _progress:
    """A rich progress bar on a terminal; plain stage lines otherwise."""

    def __init__(self, stdout):
        self.stdout = stdout
        self.tty = sys.stdout.isatty()

    def __enter__(self):
        if self.tty:
            from rich.progress import Progress

            self.bar = Progress()
            self.bar.start()
            self.task = self.bar.add_task("decoding", total=100)
        return self.report

    def report(self, stage, percent):
        if self.tty:
            self.bar.update(self.task, description=stage, completed=percent)
        else:
            self.stdout.write(f"{stage}: {percent}%")

    def __exit__(self, *exc):
        if self.tty:
            self.bar.stop()
