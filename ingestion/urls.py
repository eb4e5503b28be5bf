from django.urls import path

from . import views

urlpatterns = [
    path("songs/", views.song_browser, name="song-browser"),
    path("songs/list", views.song_list, name="song-list"),
    path("songs/<int:song_id>/", views.song_detail, name="song-detail"),
    path("songs/<int:song_id>/pdf", views.song_pdf, name="song-pdf"),
    path("songs/<int:song_id>/pages/<int:page>", views.song_page, name="song-page"),
    path("api/songs/search", views.song_search, name="song-search"),
    path("api/songs/<int:song_id>", views.song_api, name="song-api"),
]
