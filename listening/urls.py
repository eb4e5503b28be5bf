from django.urls import path

from . import views

urlpatterns = [
    path("analytics/", views.analytics, name="analytics"),
    path("analytics/login/", views.login_start, name="spotify-login"),
    path("analytics/loginResponse", views.login_response, name="spotify-login-response"),
    path("analytics/service/<str:action>", views.service_action, name="listening-service"),
    path("analytics/analyzeHistoricalImport/", views.analyze_import, name="import-analyze"),
    path("analytics/executeHistoricalImport/", views.execute_import, name="import-execute"),
    path("analytics/importStatus/<int:job_id>", views.import_status, name="import-status"),
    path("analytics/playsPerDay/", views.plays_per_day, name="analytics-plays-per-day"),
    path("analytics/heatmap/", views.heatmap, name="analytics-heatmap"),
    path("analytics/top/", views.top, name="analytics-top"),
    path("analytics/listeningHistory/", views.listening_history, name="analytics-history"),
    path("analytics/status/", views.status, name="analytics-status"),
    path("analytics/authenticated", views.authenticated, name="analytics-authenticated"),
    path("analytics/fromExport/", views.from_export, name="analytics-from-export"),
]
