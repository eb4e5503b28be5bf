from django.urls import path

from . import pages

# The JSON operations (/api/charts…) are charts.api's router, mounted by songhub.api.
urlpatterns = [
    path("charts/", pages.chart_library, name="chart-library"),
    path("charts/<int:chart_id>/", pages.chart_detail, name="chart-detail"),
    path("charts/<int:chart_id>/edit", pages.chart_edit, name="chart-edit"),
    path("charts/upload", pages.upload_page, name="chart-upload"),
    path("charts/browser", pages.browser_page, name="chart-browser"),
    path("charts/health", pages.health_page, name="chart-health"),
    path("charts/generator", pages.generator_page, name="chart-generator"),
]
