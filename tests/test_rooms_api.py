"""Room REST API: permissions, passwords, closing, the one error shape, token auth."""

import json

import pytest

from rooms.models import Participant, Room
from songhub.models import ApiToken

pytestmark = pytest.mark.django_db(transaction=True)


def post(client, url, data=None, **headers):
    return client.post(url, json.dumps(data or {}), content_type="application/json",
                       headers=headers)


def test_create_list_and_get_rooms(client, host):
    client.force_login(host)
    created = post(client, "/rooms/", {"name": "Youth band", "password": "pw"})
    assert created.status_code == 201
    body = created.json()
    assert body["name"] == "Youth band" and body["has_password"] is True
    assert Room.objects.get(pk=body["id"]).password_hash.startswith("pbkdf2_")  # hashed
    listing = client.get("/rooms/", headers={"Accept": "application/json"}).json()
    assert [r["name"] for r in listing["rooms"]] == ["Youth band"]
    detail = client.get(f"/rooms/{body['id']}", headers={"Accept": "application/json"}).json()
    assert detail["me"]["role"] == "host" and detail["state"]["queue"]["items"] == []


def test_creating_needs_a_login_and_a_name(client, host):
    assert post(client, "/rooms/", {"name": "x"}).status_code == 401
    client.force_login(host)
    response = post(client, "/rooms/", {"name": "  "})
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid"


def test_non_host_gets_403_on_song_and_page(client, room, song, guest_user):
    client.force_login(guest_user)
    assert post(client, f"/rooms/{room.id}/join", {"role": "viewer"}).status_code == 200
    for url, data in ((f"/rooms/{room.id}/song", {"song_id": song.id}),
                      (f"/rooms/{room.id}/page", {"page": 2})):
        response = post(client, url, data)
        assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden"


def test_a_stranger_who_never_joined_is_refused(client, room, song, stranger):
    client.force_login(stranger)
    assert post(client, f"/rooms/{room.id}/song", {"song_id": song.id}).status_code == 403


def test_host_selects_a_song_and_turns_pages_within_range(client, room, song, host):
    client.force_login(host)
    selected = post(client, f"/rooms/{room.id}/song", {"song_id": song.id}).json()
    assert selected["current_page"] == 1 and selected["total_pages"] == 3
    assert post(client, f"/rooms/{room.id}/page", {"page": 3}).json()["current_page"] == 3
    beyond = post(client, f"/rooms/{room.id}/page", {"page": 4})
    assert beyond.status_code == 400 and beyond.json()["error"]["details"] == {"total_pages": 3}
    assert post(client, f"/rooms/{room.id}/page", {"page": "2"}).status_code == 400
    assert Room.objects.get(pk=room.id).current_page == 3


def test_a_wrong_password_is_rejected_and_verify_is_rate_limited(client, locked_room,
                                                                guest_user, settings):
    client.force_login(guest_user)
    denied = post(client, f"/rooms/{locked_room.id}/join", {"password": "nope"})
    assert denied.status_code == 403
    assert post(client, f"/rooms/{locked_room.id}/join", {"password": "hallelujah"}).status_code == 200
    assert post(client, f"/rooms/{locked_room.id}/verify", {"password": "nope"}).json() == {"valid": False}
    assert post(client, f"/rooms/{locked_room.id}/verify",
                {"password": "hallelujah"}).json() == {"valid": True}
    settings.ROOMS_VERIFY_ATTEMPTS_PER_MINUTE = 3
    codes = [post(client, f"/rooms/{locked_room.id}/verify", {"password": "x"}).status_code
             for _ in range(3)]
    assert codes[-1] == 429


def test_guests_join_with_a_name_and_leave_through_their_session(client, room):
    from django.test import Client

    joined = post(client, f"/rooms/{room.id}/join", {"name": "Ann"})
    assert joined.json()["name"] == "Ann"
    assert post(Client(), f"/rooms/{room.id}/join", {}).status_code == 400  # no name
    again = post(client, f"/rooms/{room.id}/join", {})  # same browser: same participant
    assert again.json()["participant_id"] == joined.json()["participant_id"]
    left = post(client, f"/rooms/{room.id}/leave").json()
    assert left == {"left": True, "room_closed": False}


def test_the_host_leaving_closes_the_room_and_closed_rooms_reject_joins(client, room, host,
                                                                      guest_user):
    client.force_login(host)
    assert post(client, f"/rooms/{room.id}/leave").json()["room_closed"] is True
    client.force_login(guest_user)
    response = post(client, f"/rooms/{room.id}/join")
    assert response.status_code == 409 and response.json()["error"]["code"] == "room_closed"


def test_the_last_participant_leaving_closes_the_room(room, host):
    from rooms import services

    host_participant = Participant.objects.get(room=room, user=host)
    Participant.objects.filter(pk=host_participant.pk).update(role="controller")
    host_participant.refresh_from_db()
    assert services.leave(host_participant) is True
    assert Room.objects.get(pk=room.id).closed_at is not None


def test_host_can_allow_a_controller(client, room, song, host, guest_user):
    client.force_login(guest_user)
    me = post(client, f"/rooms/{room.id}/join", {"role": "controller"}).json()
    assert post(client, f"/rooms/{room.id}/song", {"song_id": song.id}).status_code == 403
    client.force_login(host)
    allowed = post(client, f"/rooms/{room.id}/participants/{me['participant_id']}/control",
                   {"allowed": True})
    assert allowed.json()["can_control"] is True
    client.force_login(guest_user)
    assert post(client, f"/rooms/{room.id}/song", {"song_id": song.id}).status_code == 200


def test_token_auth_works_without_csrf_and_bad_tokens_get_401(host, room, song):
    from django.test import Client

    _, key = ApiToken.issue(host, "tablet")
    api = Client(enforce_csrf_checks=True)
    response = post(api, f"/rooms/{room.id}/song", {"song_id": song.id},
                    Authorization=f"Token {key}")
    assert response.status_code == 200
    bad = post(api, f"/rooms/{room.id}/song", {"song_id": song.id}, Authorization="Token nope")
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "bad_token"


def test_session_posts_without_csrf_are_refused(host, room, song):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(host)
    assert post(browser, f"/rooms/{room.id}/song", {"song_id": song.id}).status_code == 403
    guest = Client(enforce_csrf_checks=True)  # no login: the operations are public to ninja
    refused = post(guest, f"/rooms/{room.id}/join", {"name": "Mallory"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "csrf_failed"
    assert not room.participants.filter(guest_name="Mallory").exists()


def test_malformed_json_gets_a_clear_400(client, host, room):
    client.force_login(host)
    response = client.post(f"/rooms/{room.id}/page", "{nope", content_type="application/json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "bad_json"


def test_room_pages_render(client, host, room):
    client.force_login(host)
    assert b"Sunday practice" in client.get("/rooms/", headers={"Accept": "text/html"}).content
    page = client.get(f"/rooms/{room.id}", headers={"Accept": "text/html"}).content.decode()
    assert 'data-is-host="1"' in page and "room.js" in page


def test_list_endpoint_query_budget(client, host, django_assert_max_num_queries):
    from rooms import services

    for n in range(5):
        services.create_room(host, f"Room {n}")
    with django_assert_max_num_queries(2):  # one query, whatever the number of rooms
        assert len(client.get("/rooms/", headers={"Accept": "application/json"})
                   .json()["rooms"]) == 5
