from django.urls import path

from . import views

# The room operations (/rooms/…) are rooms.api's router, mounted by songhub.api.
urlpatterns = [
    path("rooms/<int:room_id>/display", views.display, name="room-display"),
]
