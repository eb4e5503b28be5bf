"""Remote sources against loopback servers: the target-track search pattern end to end,
setlist.fm, politeness (User-Agent, pacing, Retry-After, backoff) and the circuit breaker."""

import time
from pathlib import Path

import pytest
from django.core.management import call_command

from graph import targets
from graph.models import Entry, Setlist, TargetTrackSearch, Transition
from graph.resilience import Breaker, CircuitOpen, PoliteClient, SourceError

pytestmark = [pytest.mark.postgres, pytest.mark.django_db, pytest.mark.usefixtures("graph_fast")]
WIKI = (Path(__file__).parent / "fixtures" / "graph" / "ultra.wiki").read_text()


def test_scrape_targets_searches_artist_and_title_and_imports_whole_setlists(mixesdb):
    mixesdb.add_page("2019-06-15 - Deadmau5 @ Ultra Music Festival, Miami", WIKI, revid=7)
    mixesdb.add_page("2019-01-01 - Deadmau5 @ Other", "# Deadmau5 - Some Chords\n# A - B\n")
    TargetTrackSearch.objects.create(target_artist="Deadmau5", target_title="Strobe")
    call_command("scrape_targets", "--limit", "10", "--source", "mixesdb")
    searches = [r["query"] for r in mixesdb.requests if r["query"].get("list") == "search"]
    assert [s["srsearch"] for s in searches] == ["Deadmau5 Strobe"]  # never artist-only
    setlist = Setlist.objects.get()
    assert (setlist.dj, setlist.event, setlist.venue, str(setlist.date), setlist.external_id) == \
        ("Deadmau5", "Ultra Music Festival", "Miami", "2019-06-15", "1000")
    assert Entry.objects.filter(setlist=setlist).count() == 6  # the entire setlist
    assert Transition.objects.count() == 3  # ghosts→strobe, pjanoo→i remember→some chords
    target = TargetTrackSearch.objects.get()
    assert (target.status, target.setlists_found, target.setlists_imported) == ("done", 1, 1)
    assert target.last_run_at is not None


def test_a_second_run_leaves_done_targets_and_reimports_nothing(mixesdb):
    mixesdb.add_page("2019-06-15 - Deadmau5 @ Ultra", WIKI)
    TargetTrackSearch.objects.create(target_artist="Deadmau5", target_title="Strobe")
    targets.run_targets()
    report = targets.run_targets()
    assert report.targets == 0 and Setlist.objects.count() == 1


def test_search_query_never_artist_only():
    with pytest.raises(targets.InvalidTarget):
        targets.create({"target_artist": "Deadmau5", "target_title": "Strobe",
                        "search_query": "Deadmau5"})
    with pytest.raises(targets.InvalidTarget):
        targets.create({"target_artist": "Deadmau5", "target_title": ""})
    assert targets.create({"target_artist": "Deadmau5", "target_title": "Strobe"}).search_query \
        == "Deadmau5 Strobe"


def test_a_failing_source_marks_the_target_failed_with_the_message(mixesdb, capsys):
    mixesdb.inject(500, times=10)
    TargetTrackSearch.objects.create(target_artist="Deadmau5", target_title="Strobe")
    with pytest.raises(SystemExit) as exited:
        call_command("scrape_targets")
    assert exited.value.code == 1
    target = TargetTrackSearch.objects.get()
    assert target.status == "failed" and "500" in target.last_error


def test_setlistfm_targets_keep_only_setlists_with_the_title(setlistfm):
    setlistfm.add_setlist("Coldplay", ["Yellow", "Clocks", {"name": "Heroes",
                                                           "cover": {"name": "David Bowie"}}])
    setlistfm.add_setlist("Coldplay", ["Fix You", "Paradise"])
    TargetTrackSearch.objects.create(target_artist="Coldplay", target_title="Clocks",
                                     scraper_name="setlistfm")
    report = targets.run_targets(source="setlistfm")
    assert report.setlists_imported == 1
    setlist = Setlist.objects.get()
    assert (setlist.source, setlist.dj, str(setlist.date)) == ("setlistfm", "Coldplay", "2019-06-15")
    assert list(Entry.objects.order_by("position").values_list("artist_text", "title")) == \
        [("Coldplay", "Yellow"), ("Coldplay", "Clocks"), ("David Bowie", "Heroes")]
    assert setlistfm.requests[0]["headers"]["x-api-key"] == "setlistfm-key"


def test_requests_carry_a_descriptive_user_agent(mixesdb, settings):
    mixesdb.add_page("2019-06-15 - X @ Y", WIKI)
    targets.create({"target_artist": "Deadmau5", "target_title": "Strobe"})
    targets.run_targets()
    assert all(r["headers"]["User-Agent"] == settings.GRAPH_USER_AGENT for r in mixesdb.requests)
    assert "songhub" in settings.GRAPH_USER_AGENT


def test_at_most_one_request_per_interval(mixesdb, settings):
    settings.GRAPH_REQUEST_INTERVAL_SECONDS = 1.0
    client = PoliteClient("mixesdb", mixesdb.url, 1.0)
    for _ in range(3):
        client.get(mixesdb.api_path, {"action": "query", "list": "search", "srsearch": "x"})
    times = [r["at"] for r in mixesdb.requests]
    assert all(b - a >= 0.95 for a, b in zip(times, times[1:]))


def test_retry_after_is_honoured_then_the_call_succeeds(mixesdb):
    mixesdb.inject(429, {"Retry-After": "1"})
    client = PoliteClient("mixesdb", mixesdb.url, 0)
    started = time.monotonic()
    body = client.get(mixesdb.api_path, {"action": "query", "list": "search", "srsearch": "x"})
    assert body == {"query": {"search": []}} and time.monotonic() - started >= 0.95
    assert len(mixesdb.requests) == 2


def test_backoff_retries_503_a_bounded_number_of_times(mixesdb):
    mixesdb.inject(503, times=10)
    client = PoliteClient("mixesdb", mixesdb.url, 0, attempts=3)
    with pytest.raises(SourceError, match="503"):
        client.get(mixesdb.api_path, {})
    assert len(mixesdb.requests) == 3


def test_the_breaker_opens_after_repeated_failures_and_fails_fast(mixesdb):
    mixesdb.inject(500, times=100)
    client = PoliteClient("mixesdb", mixesdb.url, 0, attempts=1)
    for _ in range(3):  # GRAPH_BREAKER_THRESHOLD in tests
        with pytest.raises(SourceError):
            client.get(mixesdb.api_path, {})
    sent = len(mixesdb.requests)
    with pytest.raises(CircuitOpen):
        client.get(mixesdb.api_path, {})
    assert len(mixesdb.requests) == sent  # nothing sent while open
    Breaker("mixesdb").success()
    mixesdb.injected.clear()
    assert client.get(mixesdb.api_path, {"action": "query", "list": "search", "srsearch": "x"})


def test_targets_api_is_staff_only_and_validates(client, curator):
    body = {"target_artist": "Deadmau5", "target_title": "Strobe"}
    assert client.post("/api/graph/targets", body, content_type="application/json").status_code == 401
    client.force_login(curator)
    created = client.post("/api/graph/targets", body, content_type="application/json")
    assert created.status_code == 201 and created.json()["search_query"] == "Deadmau5 Strobe"
    target_id = created.json()["id"]
    bad = client.patch(f"/api/graph/targets/{target_id}", {"search_query": "Strobe"},
                       content_type="application/json")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid"
    assert client.get("/api/graph/targets").json()["items"][0]["status"] == "pending"
    assert client.delete(f"/api/graph/targets/{target_id}").status_code == 204
    assert client.get(f"/api/graph/targets/{target_id}").json()["error"]["code"] == "not_found"
