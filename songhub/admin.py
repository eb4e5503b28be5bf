from django.contrib import admin

from .models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "created_at", "last_used_at")
    search_fields = ("name", "user__username")
    list_select_related = ("user",)
    readonly_fields = ("key_hash", "created_at", "last_used_at")
