"""`manage.py update_song_ids`: merge tracks Spotify re-issued under new ids (daily)."""

import json

from django.core.management.base import BaseCommand

from listening.consolidation import consolidate
from songhub import locks


class Command(BaseCommand):
    help = "Merge duplicate tracks (same name and artists) into the most recently played id."

    def handle(self, *args, **options):
        with locks.exclusive("update-song-ids"):
            report = consolidate()
        self.stdout.write(json.dumps({"groups": report.groups,
                                      "merged_tracks": report.merged_tracks}))
