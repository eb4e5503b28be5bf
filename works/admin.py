from django.contrib import admin, messages

from . import curation
from .models import Work, WorkLink


class WorkLinkInline(admin.TabularInline):
    model = WorkLink
    extra = 0
    fields = ("kind", "object_id", "label", "method", "confidence", "locked")
    readonly_fields = ("kind", "object_id", "label", "method", "confidence")


@admin.register(Work)
class WorkAdmin(admin.ModelAdmin):
    list_display = ("title", "artist", "curated", "created_at")
    search_fields = ("title", "artist", "title_key")
    list_filter = ("curated", "links__kind")
    inlines = [WorkLinkInline]
    actions = ["merge_works"]

    @admin.action(description="Merge the selected works into the first one")
    def merge_works(self, request, queryset):
        works = list(queryset.order_by("pk"))
        if len(works) < 2:
            self.message_user(request, "Select two or more works to merge.", messages.WARNING)
            return
        moved = curation.merge(works[0], works[1:])
        self.message_user(request, f"Merged {len(works) - 1} works into “{works[0]}” "
                                   f"({moved} links moved and locked).")

    def save_formset(self, request, form, formset, change):
        """A curator's edit of a link (e.g. ticking locked) is a curator's decision."""
        for link in formset.save(commit=False):
            link.method, link.locked, link.confidence = "curator", True, 1.0
            link.save()
        formset.save_m2m()


@admin.register(WorkLink)
class WorkLinkAdmin(admin.ModelAdmin):
    list_display = ("label", "kind", "work", "method", "confidence", "locked")
    list_filter = ("kind", "method", "locked")
    search_fields = ("label", "object_id", "work__title")
    list_select_related = ("work",)
    autocomplete_fields = ("work",)
    actions = ["split_out", "lock_links"]

    @admin.action(description="Split the selected links into a new work")
    def split_out(self, request, queryset):
        work = curation.split(queryset.select_related("work"))
        self.message_user(request, f"Moved {queryset.count()} links into the new work {work.pk}.")

    @admin.action(description="Lock the selected links where they are")
    def lock_links(self, request, queryset):
        self.message_user(request, f"Locked {curation.lock(queryset)} links.")

    def save_model(self, request, obj, form, change):
        obj.method, obj.locked, obj.confidence = "curator", True, 1.0
        super().save_model(request, obj, form, change)
