from django.urls import path

from . import views

urlpatterns = [
    path("api/works/<int:work_id>", views.work_detail, name="work-api"),
    path("api/works/for/<str:kind>/<str:object_id>", views.for_thing, name="work-api-for"),
]
