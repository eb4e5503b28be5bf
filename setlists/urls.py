from django.urls import path

from . import views

urlpatterns = [
    path("api/setlists", views.setlists, name="setlists-api"),
    path("api/setlists/suggest", views.suggest, name="setlists-suggest"),
    path("api/setlists/usage.csv", views.usage_csv, name="setlists-usage-csv"),
    path("api/setlists/<int:setlist_id>", views.setlist, name="setlist-api"),
    path("api/setlists/<int:setlist_id>/items", views.add_item, name="setlist-items"),
    path("api/setlists/<int:setlist_id>/duplicate", views.duplicate, name="setlist-duplicate"),
    path("setlists/<int:setlist_id>/setlist.pdf", views.export_pdf, name="setlist-pdf"),
    path("setlists/<int:setlist_id>/chordpro.zip", views.export_zip, name="setlist-zip"),
    path("api/rooms/<int:room_id>/setlist", views.room_setlist, name="room-setlist"),
    path("setlists/", views.list_page, name="setlists"),
    path("setlists/usage", views.usage_page, name="setlists-usage"),
    path("setlists/<int:setlist_id>", views.edit_page, name="setlist-edit"),
]
