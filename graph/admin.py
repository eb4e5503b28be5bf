"""Admin for curators: target searches, setlists, tracks, curation rules and their audit."""

from django.contrib import admin, messages

from . import etl
from .models import (CurationAudit, CurationRule, EnrichmentFailure, Entry, ListeningOptIn,
                     Setlist, TargetTrackSearch, Track)


@admin.register(TargetTrackSearch)
class TargetTrackSearchAdmin(admin.ModelAdmin):
    list_display = ("search_query", "target_artist", "target_title", "scraper_name", "status",
                    "last_run_at", "setlists_found", "setlists_imported")
    list_filter = ("status", "scraper_name")
    search_fields = ("target_artist", "target_title", "search_query")
    readonly_fields = ("last_run_at", "setlists_found", "setlists_imported", "last_error")
    actions = ["mark_pending"]

    @admin.action(description="Search again on the next run")
    def mark_pending(self, request, queryset):
        queryset.update(status=TargetTrackSearch.Status.PENDING)


class EntryInline(admin.TabularInline):
    model = Entry
    fields = ("position", "timestamp", "raw_line", "identified", "track")
    readonly_fields = fields
    raw_id_fields = ("track",)
    extra = 0
    can_delete = False


@admin.register(Setlist)
class SetlistAdmin(admin.ModelAdmin):
    list_display = ("__str__", "source", "dj", "event", "date", "imported_at")
    list_filter = ("source",)
    search_fields = ("title", "dj", "event", "venue", "external_id")
    readonly_fields = ("raw",)
    inlines = [EntryInline]
    actions = ["rederive"]

    @admin.action(description="Derive the graph again for these setlists")
    def rederive(self, request, queryset):
        changed = etl.rederive_setlists(list(queryset.values_list("pk", flat=True)))
        messages.success(request, f"{changed} transitions updated.")


@admin.register(Track)
class TrackAdmin(admin.ModelAdmin):
    list_display = ("title", "artist_key", "camelot", "bpm", "spotify_id", "isrc")
    search_fields = ("title_key", "artist_key", "isrc", "spotify_id")


@admin.register(CurationRule)
class CurationRuleAdmin(admin.ModelAdmin):
    list_display = ("raw_line", "artist", "title", "not_a_track", "status", "source", "updated_at")
    list_filter = ("status", "source", "not_a_track")
    search_fields = ("raw_line", "artist", "title")
    readonly_fields = ("raw_key",)

    def has_change_permission(self, request, obj=None):
        return False  # changes go through the curation page, which re-derives and audits


@admin.register(CurationAudit)
class CurationAuditAdmin(admin.ModelAdmin):
    list_display = ("at", "user", "action", "raw_line", "setlists_rebuilt")
    list_select_related = ("user",)
    search_fields = ("raw_line",)

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(EnrichmentFailure)
class EnrichmentFailureAdmin(admin.ModelAdmin):
    list_display = ("created_at", "track", "attempts", "error", "resolved_at")
    list_filter = ("resolved_at",)
    raw_id_fields = ("track",)


@admin.register(ListeningOptIn)
class ListeningOptInAdmin(admin.ModelAdmin):
    list_display = ("listener", "since")
    raw_id_fields = ("listener",)
