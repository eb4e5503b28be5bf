from django import forms
from django.contrib import admin, messages

from . import library, sync, validate
from .formats.common import DIFF_KEYS
from .models import Chart, ChartImportJob, ChartSyncRun
from .storage.base import StorageError


class InstrumentFilter(admin.SimpleListFilter):
    title = "instrument"
    parameter_name = "instrument"

    def lookups(self, request, model_admin):
        return [(i, i) for i in DIFF_KEYS]

    def queryset(self, request, queryset):
        return queryset.filter(note_counts__has_key=self.value()) if self.value() else queryset


class IssueFilter(admin.SimpleListFilter):
    title = "issue"
    parameter_name = "issue"

    def lookups(self, request, model_admin):
        return [("none", "no issues"), *[(c, c) for c in validate.CODES]]

    def queryset(self, request, queryset):
        if self.value() == "none":
            return queryset.filter(issues=[])
        return queryset.filter(issues__icontains=f'"{self.value()}"') if self.value() \
            else queryset


class ChartAdminForm(forms.ModelForm):
    """The metadata editor: title/artist/album/genre/year/charter are written to song.ini."""

    class Meta:
        model = Chart
        fields = ["title", "artist", "album", "genre", "year", "charter"]


@admin.register(Chart)
class ChartAdmin(admin.ModelAdmin):
    form = ChartAdminForm
    list_display = ("title", "artist", "charter", "chart_format", "issue_list", "synced_at")
    list_filter = (InstrumentFilter, IssueFilter, "chart_format", "has_audio")
    search_fields = ("title", "artist", "charter", "album", "remote_path")
    readonly_fields = ("remote_path", "note_counts", "diffs", "issues", "files", "ini_other",
                       "chart_hash", "synced_at")
    fieldsets = [(None, {"fields": ["title", "artist", "album", "genre", "year", "charter"]}),
                 ("From the storage", {"fields": readonly_fields})]
    actions = ["resync"]

    @admin.display(description="issues")
    def issue_list(self, obj):
        return ", ".join(obj.issues)

    def save_model(self, request, obj, form, change):
        """Edits go through the same service as the API: song.ini first, then the row."""
        if not change:
            messages.error(request, "Charts are added by upload or sync, not here.")
            return
        keys = {"title": "name", "artist": "artist", "album": "album", "genre": "genre",
                "year": "year", "charter": "charter"}
        changes = {keys[f]: form.cleaned_data[f] for f in form.changed_data if f in keys}
        original = Chart.objects.get(pk=obj.pk)
        try:
            if changes:
                library.update_metadata(original, library.clean_fields(changes))
        except (library.LibraryError, StorageError) as exc:
            messages.error(request, f"Not saved: {exc}")

    def delete_model(self, request, obj):
        library.delete_chart(obj)

    def delete_queryset(self, request, queryset):
        for chart in queryset:
            library.delete_chart(chart)

    @admin.action(description="Re-read the selected folders from the storage")
    def resync(self, request, queryset):
        for chart in queryset:
            sync.refresh_folder(chart.remote_path)
        self.message_user(request, f"Re-read {queryset.count()} folders.")


@admin.register(ChartSyncRun)
class ChartSyncRunAdmin(admin.ModelAdmin):
    list_display = ("id", "status", "trigger", "started_at", "finished_at", "summary")
    list_filter = ("status", "trigger")
    actions = ["sync_now"]

    @admin.action(description="Queue a library sync")
    def sync_now(self, request, queryset):
        run = sync.queue(trigger="admin")
        self.message_user(request, f"Queued chart sync #{run.pk}.")


@admin.register(ChartImportJob)
class ChartImportJobAdmin(admin.ModelAdmin):
    list_display = ("id", "status", "user", "created_at", "finished_at")
    list_filter = ("status",)
    list_select_related = ("user",)
    search_fields = ("user__username",)
    readonly_fields = ("files", "paths", "error")

