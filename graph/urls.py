from django.urls import path

from . import api, views

urlpatterns = [
    path("graph/", views.graph_page, name="graph"),
    path("graph/upload", views.upload, name="graph-upload"),
    path("graph/curate", views.curate, name="graph-curate"),
    path("api/graph", api.graph, name="api-graph"),
    path("api/graph/tracks/search", api.search, name="api-graph-search"),
    path("api/graph/tracks/<int:track_id>/next", api.next_tracks, name="api-graph-next"),
    path("api/graph/setlists", api.setlists, name="api-graph-setlists"),
    path("api/graph/setlists/<int:setlist_id>", api.setlist, name="api-graph-setlist"),
    path("api/graph/stats", api.stats, name="api-graph-stats"),
    path("api/graph/enrich", api.enrich_view, name="api-graph-enrich"),
    path("api/graph/targets", api.target_list, name="api-graph-targets"),
    path("api/graph/targets/<int:target_id>", api.target_detail, name="api-graph-target"),
]
