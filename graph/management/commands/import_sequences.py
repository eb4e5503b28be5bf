"""`manage.py import_sequences [--since-days 2]`: room plays and opted-in listening sessions
of the last days as setlists (unchanged sessions change nothing)."""

from django.core.management.base import BaseCommand

from graph.sources import local


class Command(BaseCommand):
    help = "Import songhub's own play sequences (rooms, opted-in listening) into the graph."

    def add_arguments(self, parser):
        parser.add_argument("--since-days", type=int, default=2)

    def handle(self, *args, since_days, **options):
        rooms = local.import_rooms(since_days)
        listening = local.import_listening(since_days)
        self.stdout.write(f"rooms: {rooms or 'nothing'}; listening: {listening or 'nothing'}")
