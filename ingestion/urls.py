from django.urls import path

from . import views

urlpatterns = [
    path("songs/", views.song_browser, name="song-browser"),
    path("songs/<int:song_id>/", views.song_detail, name="song-detail"),
    path("songs/<int:song_id>/pdf", views.song_pdf, name="song-pdf"),
    path("songs/<int:song_id>/pages/<int:page>", views.song_page, name="song-page"),
]
