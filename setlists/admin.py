from django.contrib import admin

from . import services
from .models import Setlist, SetlistItem, SetlistRun, SongUse


class SetlistItemInline(admin.TabularInline):
    model = SetlistItem
    extra = 0
    fields = ("position", "song", "work", "title", "transpose", "capo", "duration", "notes")
    raw_id_fields = ("song", "work")


@admin.register(Setlist)
class SetlistAdmin(admin.ModelAdmin):
    list_display = ("name", "date", "owner", "played_at")
    search_fields = ("name", "items__title")
    date_hierarchy = "date"
    inlines = [SetlistItemInline]
    actions = ["duplicate"]

    @admin.action(description="Duplicate the selected setlists (dated today)")
    def duplicate(self, request, queryset):
        for setlist in queryset:
            services.duplicate(setlist, request.user)
        self.message_user(request, f"Duplicated {queryset.count()} setlists.")


@admin.register(SetlistRun)
class SetlistRunAdmin(admin.ModelAdmin):
    list_display = ("room", "setlist", "position", "started_at")


@admin.register(SongUse)
class SongUseAdmin(admin.ModelAdmin):
    list_display = ("song", "room", "setlist", "used_at")
    date_hierarchy = "used_at"
