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
def fresh_limits():
    """Password-attempt counters live in the shared cache (Redis) for a minute, and every test
    database numbers its rooms from 1 again: start each room test with none."""
    from django.core.cache import cache

    cache.delete_many([f"rooms:password:{n}:{client}" for n in range(1, 400)
                       for client in ("127.0.0.1", "?")])


@pytest.fixture
def room(host, fresh_limits):
    return services.create_room(host, "Sunday practice")


@pytest.fixture
def locked_room(host, fresh_limits):
    return services.create_room(host, "Choir only", password="hallelujah")
