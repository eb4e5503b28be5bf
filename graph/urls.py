from django.urls import path

from . import views

urlpatterns = [
    path("graph/", views.graph_page, name="graph"),
    path("graph/upload", views.upload, name="graph-upload"),
    path("graph/curate", views.curate, name="graph-curate"),
]
