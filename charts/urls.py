from django.urls import path

from . import api, pages

urlpatterns = [
    path("charts/", pages.chart_library, name="chart-library"),
    path("charts/<int:chart_id>/", pages.chart_detail, name="chart-detail"),
    path("charts/<int:chart_id>/edit", pages.chart_edit, name="chart-edit"),
    path("charts/upload", pages.upload_page, name="chart-upload"),
    path("charts/browser", pages.browser_page, name="chart-browser"),
    path("charts/health", pages.health_page, name="chart-health"),
    path("api/charts", api.chart_list, name="chart-api-list"),
    path("api/charts/upload", api.upload, name="chart-api-upload"),
    path("api/charts/generate", api.generate, name="chart-api-generate"),
    path("charts/generator", pages.generator_page, name="chart-generator"),
    path("api/charts/jobs/<int:job_id>", api.job_status, name="chart-api-job"),
    path("api/charts/library/sync", api.library_sync, name="chart-api-sync"),
    path("api/charts/library/status", api.library_status, name="chart-api-status"),
    path("api/charts/storage/browse", api.storage_browse, name="chart-api-browse"),
    path("api/charts/storage/upload", api.storage_upload, name="chart-api-storage-upload"),
    path("api/charts/storage/mkdir", api.storage_mkdir, name="chart-api-mkdir"),
    path("api/charts/storage/delete", api.storage_delete, name="chart-api-delete"),
    path("api/charts/<int:chart_id>", api.chart_detail, name="chart-api-detail"),
    path("api/charts/<int:chart_id>/files/<path:name>", api.chart_file, name="chart-api-file"),
]
