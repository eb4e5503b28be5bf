from django.urls import path

from . import views

urlpatterns = [
    path("analytics/", views.analytics, name="analytics"),
    path("analytics/login/", views.login_start, name="spotify-login"),
    path("analytics/loginResponse", views.login_response, name="spotify-login-response"),
    path("analytics/service/<str:action>", views.service_action, name="listening-service"),
    path("analytics/fromExport/", views.from_export, name="analytics-from-export"),
]
