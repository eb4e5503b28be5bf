from django.urls import path

from . import views

urlpatterns = [
    path("rooms/", views.rooms, name="rooms"),
    path("rooms/<int:room_id>", views.room_detail, name="room-detail"),
    path("rooms/<int:room_id>/verify", views.verify, name="room-verify"),
    path("rooms/<int:room_id>/join", views.join, name="room-join"),
    path("rooms/<int:room_id>/leave", views.leave, name="room-leave"),
    path("rooms/<int:room_id>/close", views.close, name="room-close"),
    path("rooms/<int:room_id>/song", views.select_song, name="room-song"),
    path("rooms/<int:room_id>/page", views.set_page, name="room-page"),
    path("rooms/<int:room_id>/participants/<int:participant_id>/control", views.allow_control,
         name="room-allow-control"),
    path("rooms/<int:room_id>/display", views.display, name="room-display"),
    path("rooms/<int:room_id>/display-token", views.display_token, name="room-display-token"),
    # karaoke sources (/search, /get_video_url, /api/karaoke/…): rooms/api.py, via songhub.api
]
