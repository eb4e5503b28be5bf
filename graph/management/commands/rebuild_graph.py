"""`manage.py rebuild_graph`: derive all of gold (tracks, links, transitions) from silver."""

import time

from django.core.management.base import BaseCommand, CommandError

from graph import etl


class Command(BaseCommand):
    help = "Rebuild the transition graph's gold layer from the stored setlists."

    def handle(self, *args, **options):
        started = time.monotonic()
        try:
            result = etl.rebuild()
        except etl.GraphUnavailable as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"rebuilt: {result['tracks']} tracks, {result['transitions']} "
                          f"transitions in {time.monotonic() - started:.1f} s")
