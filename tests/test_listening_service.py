"""Start, stop and delete from the settings menu; the status follows in-flight polls."""

from datetime import datetime, timezone as dt_timezone

import pytest

from listening import service
from listening.models import ListeningEvent, Listener, PlayCount, Track

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(client, django_user_model):
    user = django_user_model.objects.create_user("carol", password="pw-carol-123")
    listener = Listener.objects.create(spotify_id="carol", user=user, status_song=1)
    client.force_login(user)
    return listener


def test_stop_start_and_status(client, member):
    client.post("/analytics/service/stop")
    member.refresh_from_db()
    assert not member.enabled and member.status_song == Listener.Status.STOPPED
    client.post("/analytics/service/start")
    member.refresh_from_db()
    assert member.enabled and member.status_song == Listener.Status.RUNNING


def test_a_stop_during_a_call_waits_for_it_to_finish(member):
    service.poll_started(member.pk)
    service.stop(member)
    assert Listener.objects.get(pk=member.pk).status_song == Listener.Status.PROCESSING
    service.poll_finished(member.pk)
    assert Listener.objects.get(pk=member.pk).status_song == Listener.Status.STOPPED


def test_delete_removes_the_listener_and_its_plays_but_not_shared_tracks(client, member):
    track = Track.objects.create(id="t" * 22, name="Song")
    ListeningEvent.objects.create(listener=member, track=track,
                                  played_at=datetime(2026, 1, 1, tzinfo=dt_timezone.utc))
    PlayCount.objects.create(listener=member, track=track, count=1)
    response = client.post("/analytics/service/delete")
    assert response.status_code == 302
    assert not Listener.objects.exists() and not ListeningEvent.objects.exists()
    assert Track.objects.exists()
    assert "_auth_user_id" not in client.session  # logged out


def test_the_settings_menu_needs_a_login_and_post(client):
    assert client.get("/analytics/service/stop").status_code == 405
    assert client.post("/analytics/service/stop").status_code == 302  # to the login page
