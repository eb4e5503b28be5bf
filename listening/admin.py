from django.contrib import admin

from . import service

from .models import (Artist, ListeningEvent, Listener, PlayCount, Playlist, PlaylistTrack,
                     SpotifyApp, Track)
from .spotify import configured_apps


@admin.register(Listener)
class ListenerAdmin(admin.ModelAdmin):
    list_display = ("spotify_id", "display_name", "user", "enabled", "mode", "status_song",
                    "status_playlist", "assigned_worker", "last_history_poll")
    list_filter = ("enabled", "mode", "status_song", "status_playlist")
    search_fields = ("spotify_id", "display_name", "user__username")
    list_select_related = ("user", "assigned_worker")
    readonly_fields = ("expires_at", "backoff_until", "last_history_poll", "last_realtime_poll",
                       "last_playlist_scan", "created_at")
    exclude = ("access_token_encrypted", "refresh_token_encrypted")
    actions = ["start_service", "stop_service", "delete_data"]

    @admin.action(description="Start the listening service")
    def start_service(self, request, queryset):
        for listener in queryset:
            service.start(listener)

    @admin.action(description="Stop the listening service")
    def stop_service(self, request, queryset):
        for listener in queryset:
            service.stop(listener)

    @admin.action(description="Delete the listener and all its data")
    def delete_data(self, request, queryset):
        for listener in queryset:
            service.delete_data(listener)


@admin.register(Artist)
class ArtistAdmin(admin.ModelAdmin):
    list_display = ("id", "name")
    search_fields = ("name", "=id")


@admin.register(Track)
class TrackAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "album", "duration_ms")
    search_fields = ("name", "album", "=id")
    autocomplete_fields = ("artists",)


@admin.register(ListeningEvent)
class ListeningEventAdmin(admin.ModelAdmin):
    list_display = ("played_at", "listener", "track")
    list_filter = ("listener",)
    date_hierarchy = "played_at"
    list_select_related = ("listener", "track")
    autocomplete_fields = ("track",)
    raw_id_fields = ("listener",)


@admin.register(PlayCount)
class PlayCountAdmin(admin.ModelAdmin):
    list_display = ("listener", "track", "count")
    list_select_related = ("listener", "track")
    search_fields = ("track__name",)
    raw_id_fields = ("listener", "track")


@admin.register(Playlist)
class PlaylistAdmin(admin.ModelAdmin):
    list_display = ("name", "listener", "scanned_at")
    search_fields = ("name", "=id")
    list_select_related = ("listener",)


@admin.register(PlaylistTrack)
class PlaylistTrackAdmin(admin.ModelAdmin):
    list_display = ("playlist", "position", "track", "added_at")
    list_select_related = ("playlist", "track")
    raw_id_fields = ("playlist", "track")


@admin.register(SpotifyApp)
class SpotifyAppAdmin(admin.ModelAdmin):
    """The configured apps (SPOTIFY_APPS) as songhub found them: their mode, listeners, and
    whether a batch endpoint's 403 switched them to per-id requests."""

    list_display = ("client_id", "mode", "listeners", "per_id_since", "per_id_reason")
    readonly_fields = ("client_id", "per_id_since", "per_id_reason")
    actions = ["retry_batches"]

    def get_queryset(self, request):
        for app in configured_apps():  # every configured app has a row to look at
            SpotifyApp.objects.get_or_create(client_id=app.client_id)
        return super().get_queryset(request)

    @admin.display(description="mode")
    def mode(self, obj):
        app = next((a for a in configured_apps() if a.client_id == obj.client_id), None)
        return app.mode if app else "not configured"

    @admin.display(description="listeners")
    def listeners(self, obj):
        return Listener.objects.filter(app_client_id=obj.client_id).count()

    @admin.action(description="Try batch requests again (after moving to Extended Quota)")
    def retry_batches(self, request, queryset):
        queryset.update(per_id_since=None, per_id_reason="")
