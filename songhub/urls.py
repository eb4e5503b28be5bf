from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import api, health, observability, views

urlpatterns = [
    path("", views.home, name="home"),
    path("health", health.health, name="health"),
    path("health/live", health.live, name="health-live"),
    path("metrics", observability.metrics_view, name="metrics"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("", include("ingestion.urls")),
    path("", include("rooms.urls")),
    path("", include("listening.urls")),
    path("", include("charts.urls")),
    path("", include("graph.urls")),
    path("", include("setlists.urls")),
    *api.urls(),  # every JSON operation (songhub.api), /api/openapi.json and /api/docs
]

handler500 = "songhub.views.server_error"  # a database outage answers 503, not 500
