from django.conf import settings
from django.contrib import admin, messages
from django.db import transaction
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.html import format_html

from .models import Song, SyncRun
from .store import SongStore, UnsafePath
from .tasks import rerender_songs, sync_songs


@admin.register(Song)
class SongAdmin(admin.ModelAdmin):
    list_display = ("id", "title", "artist", "key", "page_count", "warning_count", "updated_at")
    list_display_links = ("id", "title")
    search_fields = ("title", "artist", "filename", "=id")  # also serves autocomplete
    list_filter = ("key", "language", "title_from_filename", "page_count")
    ordering = ("title",)
    readonly_fields = ("id", "filename", "source_sha", "page_count", "pdf_etag", "image_etag",
                       "created_at", "updated_at", "preview", "source", "warnings")
    fieldsets = (
        (None, {"fields": ("id", "title", "subtitle", "artist", "key", "capo", "tempo",
                           "time_signature", "genre", "language")}),
        ("Rendering", {"fields": ("preview", "page_count", "pdf_etag", "image_etag")}),
        ("Source", {"fields": ("filename", "source_sha", "source", "warnings", "metadata"),
                    "classes": ("collapse",)}),
        ("History", {"fields": ("created_at", "updated_at")}),
    )
    actions = ["rerender"]

    @admin.display(description="Page 1")
    def preview(self, song):
        if not song.page_count:
            return "not rendered"
        url = reverse("song-page", args=[song.id, 1])
        return format_html('<img src="{}" alt="page 1" style="max-width:320px;border:1px solid #ccc">', url)

    @admin.display(description="ChordPro source")
    def source(self, song):
        try:
            text = SongStore(settings.SONG_DATA_DIR).source_path(song.filename).read_text(
                encoding="utf-8", errors="replace")
        except (OSError, UnsafePath) as exc:
            return f"unavailable: {exc}"
        return format_html('<pre style="max-height:30em;overflow:auto">{}</pre>', text)

    @admin.action(description="Re-render PDF and images of the selected songs")
    def rerender(self, request, queryset):
        ids = list(queryset.values_list("id", flat=True))
        transaction.on_commit(lambda: rerender_songs.delay(ids))
        self.message_user(request, f"Re-rendering {len(ids)} song(s) in the background.")


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    change_list_template = "admin/ingestion/syncrun/change_list.html"
    list_display = ("id", "status", "trigger", "started_at", "finished_at", "total", "added",
                    "updated", "unchanged", "removed", "failed")
    list_filter = ("status", "trigger")
    date_hierarchy = "started_at"
    readonly_fields = [f.name for f in SyncRun._meta.fields]

    def has_add_permission(self, request):
        return False

    def get_urls(self):
        return [path("sync-now/", self.admin_site.admin_view(self.sync_now), name="ingestion_sync_now"),
                *super().get_urls()]

    def sync_now(self, request):
        if request.method != "POST":
            return redirect("admin:ingestion_syncrun_changelist")
        with transaction.atomic():
            run = SyncRun.objects.create(trigger=SyncRun.Trigger.ADMIN,
                                         options={"source": settings.SONG_SYNC_SOURCE})
            sync_songs.delay_on_commit(run.pk)
        messages.success(request, f"Sync #{run.pk} queued; a worker will pick it up.")
        return redirect("admin:ingestion_syncrun_changelist")
