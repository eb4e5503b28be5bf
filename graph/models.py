"""The transition graph's three layers and its curation/scraping bookkeeping.

Bronze (`RawSetlist`) keeps every import exactly as received. Silver (`Setlist`, `Entry`) is
the parsed setlist. Gold (`Artist`, `Track`, `TrackArtist`, `EdgeOccurrence`, `Transition`) is
derived from silver by graph.etl only, and can be rebuilt from it. Readers of gold go through
the SQL views `graph_nodes` / `graph_edges` (see migrations), which apply the artist rule.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone


class RawSetlist(models.Model):
    """Bronze: one received revision of one setlist, never modified."""

    source = models.CharField(max_length=20)
    external_id = models.CharField(max_length=300)
    revision = models.CharField(max_length=80)
    url = models.URLField(max_length=500, blank=True)
    fmt = models.CharField(max_length=10)
    payload = models.TextField()
    meta = models.JSONField(default=dict, blank=True)
    fetched_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "external_id", "revision"],
                                               name="graph_raw_unique_revision")]

    def __str__(self):
        return f"{self.source}:{self.external_id}@{self.revision}"


class Setlist(models.Model):
    """Silver: the current revision of one setlist from one source."""

    source = models.CharField(max_length=20, db_index=True)
    external_id = models.CharField(max_length=300)
    raw = models.ForeignKey(RawSetlist, on_delete=models.PROTECT, related_name="+")
    title = models.CharField(max_length=300, blank=True)
    dj = models.CharField(max_length=300, blank=True)
    dj_key = models.CharField(max_length=300, blank=True)
    event = models.CharField(max_length=300, blank=True)
    venue = models.CharField(max_length=300, blank=True)
    date = models.DateField(null=True, blank=True)
    url = models.URLField(max_length=500, blank=True)
    imported_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "external_id"],
                                               name="graph_setlist_unique_source_id")]
        ordering = ["-date", "-id"]

    def __str__(self):
        return self.title or f"{self.dj} @ {self.event}"

    @property
    def seen_on(self):
        return self.date or self.imported_at.date()


class Artist(models.Model):
    name = models.CharField(max_length=300)
    name_key = models.CharField(max_length=300, unique=True)

    def __str__(self):
        return self.name


class Track(models.Model):
    """Gold: one track, identified by its primary artists and its title with version."""

    title = models.CharField(max_length=500)  # incl. version: "Strobe (Eric Prydz Remix)"
    version = models.CharField(max_length=300, blank=True)
    artist_key = models.CharField(max_length=500)
    title_key = models.CharField(max_length=500)
    label = models.CharField(max_length=300, blank=True)
    catalog = models.CharField(max_length=100, blank=True)
    isrc = models.CharField(max_length=12, blank=True)
    spotify_id = models.CharField(max_length=22, blank=True)
    bpm = models.FloatField(null=True, blank=True)
    key = models.CharField(max_length=20, blank=True)
    camelot = models.CharField(max_length=3, blank=True)
    enriched_at = models.DateTimeField(null=True, blank=True)
    # Set by database triggers only (migration 0004): the artist rule over this track's
    # primary artists and title. The gold views read it; writes to it are recomputed.
    attributed = models.BooleanField(default=False, db_default=False, editable=False)
    # Valid transitions touching this track, as of the last derivation (graph.etl); node size.
    degree = models.PositiveIntegerField(default=0, db_default=0, editable=False)
    artists = models.ManyToManyField(Artist, through="TrackArtist", related_name="tracks")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["artist_key", "title_key"],
                                               name="graph_track_unique_identity")]
        # graph_edges checks both ends of every edge against this (index-only, no heap visit)
        indexes = [models.Index(fields=["id"], condition=models.Q(attributed=True),
                                name="graph_track_attributed_ids")]

    def __str__(self):
        return f"{self.artist_key} - {self.title}"


class TrackArtist(models.Model):
    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="links")
    artist = models.ForeignKey(Artist, on_delete=models.CASCADE, related_name="links")
    role = models.CharField(max_length=10)  # identity.ROLES
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["track", "artist", "role"],
                                               name="graph_trackartist_unique")]


class Entry(models.Model):
    """Silver: one line of a setlist. `track` is its gold resolution (None: unidentified)."""

    setlist = models.ForeignKey(Setlist, on_delete=models.CASCADE, related_name="entries")
    position = models.PositiveIntegerField()
    timestamp = models.PositiveIntegerField(null=True, blank=True)
    raw_line = models.CharField(max_length=1000)
    raw_key = models.CharField(max_length=1000, db_index=True)  # normalised raw line
    artist_text = models.CharField(max_length=500, blank=True)
    artists = models.JSONField(default=list, blank=True)  # [[name, role, name key], ...]
    title = models.CharField(max_length=500, blank=True)
    artist_key = models.CharField(max_length=500, blank=True)  # identity.track_key
    title_key = models.CharField(max_length=500, blank=True)
    version = models.CharField(max_length=300, blank=True)
    label = models.CharField(max_length=300, blank=True)
    catalog = models.CharField(max_length=100, blank=True)
    identified = models.BooleanField(default=False)
    not_a_track = models.BooleanField(default=False)  # curated out: not part of the sequence
    track = models.ForeignKey(Track, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="entries")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["setlist", "position"],
                                               name="graph_entry_unique_position")]
        ordering = ["setlist", "position"]


class EdgeOccurrence(models.Model):
    """Gold: how often one setlist goes from one track straight to another."""

    # no single-column indexes where graph_occ_unique / graph_occ_pair lead with the column
    setlist = models.ForeignKey(Setlist, on_delete=models.CASCADE, related_name="+",
                                db_index=False)
    from_track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="+",
                                   db_index=False)
    to_track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="+")
    count = models.PositiveIntegerField(default=1)

    class Meta:
        indexes = [models.Index(fields=["from_track", "to_track"], name="graph_occ_pair")]
        constraints = [models.UniqueConstraint(fields=["setlist", "from_track", "to_track"],
                                               name="graph_occ_unique")]


class Transition(models.Model):
    """Gold: the aggregate of every `EdgeOccurrence` of one (from, to) pair."""

    # indexed by the unique pair and by the strength indexes below, not one per column
    from_track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="+",
                                   db_index=False)
    to_track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="+",
                                 db_index=False)
    occurrences = models.PositiveIntegerField()
    setlists = models.PositiveIntegerField()
    djs = models.PositiveIntegerField()
    first_seen = models.DateField()
    last_seen = models.DateField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["from_track", "to_track"],
                                               name="graph_transition_unique")]
        # a track's strongest edges in either direction, read in order (graph.queries)
        indexes = [models.Index("from_track", models.F("setlists").desc(),
                                models.F("occurrences").desc(), name="graph_transition_from_top"),
                   models.Index("to_track", models.F("setlists").desc(),
                                models.F("occurrences").desc(), name="graph_transition_to_top")]


class CurationRule(models.Model):
    """A curator's answer for every entry with this normalised raw line: an artist/title, or
    "not a track". `proposed` rules come from enrichment and do nothing until accepted."""

    class Status(models.TextChoices):
        ACCEPTED = "accepted"
        PROPOSED = "proposed"
        REJECTED = "rejected"

    raw_key = models.CharField(max_length=1000, unique=True)
    raw_line = models.CharField(max_length=1000)
    artist = models.CharField(max_length=300, blank=True)
    title = models.CharField(max_length=500, blank=True)
    not_a_track = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACCEPTED)
    source = models.CharField(max_length=20, default="curator")  # curator | spotify | musicbrainz
    confidence = models.FloatField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return self.raw_line


class CurationAudit(models.Model):
    rule = models.ForeignKey(CurationRule, null=True, on_delete=models.SET_NULL, related_name="audit")
    raw_line = models.CharField(max_length=1000)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    action = models.CharField(max_length=20)  # assign | not_a_track | accept | reject | clear
    before = models.JSONField(default=dict)
    after = models.JSONField(default=dict)
    setlists_rebuilt = models.PositiveIntegerField(default=0)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at"]


class TargetTrackSearch(models.Model):
    """The seed's target_track_searches: find setlists that contain this track."""

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    target_artist = models.CharField(max_length=300)
    target_title = models.CharField(max_length=500)
    search_query = models.CharField(max_length=800, blank=True,
                                    help_text='Empty: "<artist> <title>". Never artist or title alone.')
    scraper_name = models.CharField(max_length=20, default="mixesdb")  # mixesdb | setlistfm
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING,
                              db_index=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    setlists_found = models.PositiveIntegerField(default=0)
    setlists_imported = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["last_run_at", "id"]

    def save(self, *args, **kwargs):
        if not self.search_query.strip():
            self.search_query = f"{self.target_artist.strip()} {self.target_title.strip()}"
        super().save(*args, **kwargs)

    def __str__(self):
        return self.search_query


class ListeningOptIn(models.Model):
    """A listener who lets their listening sessions count as sequences (source `listening`)."""

    listener = models.OneToOneField("listening.Listener", on_delete=models.CASCADE,
                                    related_name="graph_opt_in")
    since = models.DateTimeField(default=timezone.now)


class EnrichmentFailure(models.Model):
    """Dead letters: an enrichment that failed for good, retried by `retry_dead_letters`."""

    track = models.ForeignKey(Track, null=True, on_delete=models.CASCADE, related_name="+")
    request = models.JSONField()
    error = models.TextField()
    attempts = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)


class RoomPlay(models.Model):
    """A song a room turned to (recorded from Room saves by graph.signals), the raw material
    of the `rooms` sequences."""

    room = models.ForeignKey("rooms.Room", on_delete=models.CASCADE, related_name="+")
    title = models.CharField(max_length=500)
    artist = models.CharField(max_length=500, blank=True)
    played_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["room", "played_at", "id"]
