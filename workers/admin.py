from django.contrib import admin

from .models import Worker


@admin.register(Worker)
class WorkerAdmin(admin.ModelAdmin):
    list_display = ("id", "hostname", "pid", "started_at", "last_heartbeat", "healthy")
    list_filter = ("healthy", "hostname")
    search_fields = ("id", "hostname")
    readonly_fields = ("id", "hostname", "pid", "started_at", "last_heartbeat", "last_error")
