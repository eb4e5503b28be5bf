from django.contrib import admin, messages

from . import services
from .models import Connection, Participant, PlayerState, QueueItem, Room


class ParticipantInline(admin.TabularInline):
    model = Participant
    extra = 0
    fields = ("user", "guest_name", "role", "can_control", "transpose", "joined_at", "last_seen",
              "left_at")
    readonly_fields = ("joined_at", "last_seen")
    autocomplete_fields = ("user",)


class QueueInline(admin.TabularInline):
    model = QueueItem
    extra = 0
    fields = ("title", "artist", "singer", "source", "added_at", "pinned_at")
    readonly_fields = ("added_at",)


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "host", "current_song", "current_page", "queue_mode",
                    "created_at", "closed_at")
    list_filter = ("queue_mode", ("closed_at", admin.EmptyFieldListFilter))
    search_fields = ("name", "host__username")
    list_select_related = ("host", "current_song")
    autocomplete_fields = ("host", "current_song")
    readonly_fields = ("state_version", "queue_version", "version", "created_at",
                       "password_hash")
    inlines = [ParticipantInline, QueueInline]
    actions = ["close_rooms"]

    @admin.action(description="Close the selected rooms")
    def close_rooms(self, request, queryset):
        """The same path as the host's "close room" (services.close_room)."""
        count = 0
        for room_id in queryset.filter(closed_at=None).values_list("pk", flat=True):
            try:
                services.close_room(room_id, actor=None)
                count += 1
            except services.Closed:  # closed meanwhile
                pass
        self.message_user(request, f"Closed {count} room(s).", messages.SUCCESS)


@admin.register(Participant)
class ParticipantAdmin(admin.ModelAdmin):
    list_display = ("id", "room", "user", "guest_name", "role", "can_control", "joined_at",
                    "left_at")
    list_filter = ("role", "can_control")
    search_fields = ("guest_name", "user__username", "room__name")
    list_select_related = ("room", "user")


@admin.register(QueueItem)
class QueueItemAdmin(admin.ModelAdmin):
    list_display = ("title", "artist", "room", "singer", "source", "added_at")
    list_filter = ("source",)
    search_fields = ("title", "artist", "singer", "room__name")
    list_select_related = ("room",)


@admin.register(PlayerState)
class PlayerStateAdmin(admin.ModelAdmin):
    list_display = ("room", "play_state", "current_time", "volume", "version", "updated_at")
    list_select_related = ("room",)


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    list_display = ("channel_name", "room", "client_type", "is_host", "connected_at", "last_seen")
    list_filter = ("client_type",)
    list_select_related = ("room",)
