"""Personas and helpers shared by the room tests."""

import pytest

from ingestion.models import Song
from rooms import services


@pytest.fixture
def host(django_user_model):
    return django_user_model.objects.create_user("host", password="pw-host-123")


@pytest.fixture
def guest_user(django_user_model):
    return django_user_model.objects.create_user("guest", password="pw-guest-123")


@pytest.fixture
def stranger(django_user_model):
    return django_user_model.objects.create_user("stranger", password="pw-stranger-123")


@pytest.fixture
def song():
    return Song.objects.create(id=1, title="Amazing Grace", artist="John Newton", filename="a.cho",
                               source_sha="x", page_count=3, image_etag="etag1")


@pytest.fixture
def room(host):
    return services.create_room(host, "Sunday practice")


@pytest.fixture
def locked_room(host):
    return services.create_room(host, "Choir only", password="hallelujah")
