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


def test_delete_user_needs_the_username_as_confirmation(client, member):
    for confirm in (None, "", "CAROL", "yes"):
        response = client.post("/analytics/service/delete",
                               {} if confirm is None else {"confirm": confirm}, follow=True)
        assert b"Nothing was deleted" in response.content
    assert Listener.objects.filter(pk=member.pk).exists() and member.user.__class__.objects \
        .filter(username="carol").exists()


def test_delete_user_removes_the_account_and_everything_of_it(client, member, tmp_path,
                                                              django_user_model):
    from listening.models import ImportJob, Playlist

    other = Listener.objects.create(spotify_id="other")
    track = Track.objects.create(id="t" * 22, name="Song")
    for listener in (member, other):
        ListeningEvent.objects.create(listener=listener, track=track,
                                      played_at=datetime(2026, 1, 1, tzinfo=dt_timezone.utc))
        PlayCount.objects.create(listener=listener, track=track, count=1)
    Playlist.objects.create(id="p1", listener=member, name="Mix")
    upload = tmp_path / "queued.zip"
    upload.write_bytes(b"PK")
    ImportJob.objects.create(listener=member, upload_path=str(upload))
    response = client.post("/analytics/service/delete", {"confirm": "carol"})
    assert response.status_code == 302
    assert not django_user_model.objects.filter(username="carol").exists()
    assert list(Listener.objects.all()) == [other]
    assert list(ListeningEvent.objects.values_list("listener", flat=True)) == [other.pk]
    assert PlayCount.objects.get().listener == other
    assert not Playlist.objects.exists() and not ImportJob.objects.exists()
    assert not upload.exists() and Track.objects.exists()  # tracks are shared: they stay
    assert "_auth_user_id" not in client.session  # logged out


def test_the_settings_menu_needs_a_login_and_post(client):
    assert client.get("/analytics/service/stop").status_code == 405
    assert client.post("/analytics/service/stop").status_code == 302  # to the login page
