from django.urls import path

from . import views

# The JSON operations and exports are setlists.api's router, mounted by songhub.api.
urlpatterns = [
    path("setlists/", views.list_page, name="setlists"),
    path("setlists/usage", views.usage_page, name="setlists-usage"),
    path("setlists/<int:setlist_id>", views.edit_page, name="setlist-edit"),
]
