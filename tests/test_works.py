"""Song identity: one Work for a chord sheet, a Spotify track, a chart and a graph track that
are the same song; versions and covers kept apart; curators' decisions kept; idempotent runs."""

import json

import pytest
from django.core.management import call_command

from charts.models import Chart
from graph import models as graph_models
from graph.identity import normalise
from ingestion.models import Song
from listening.models import Artist as SpotifyArtist, Track as SpotifyTrack
from tests.works_labelled import catalog
from works import curation
from works.linker import link_works
from works.models import Work, WorkLink

pytestmark = pytest.mark.django_db


def create(things: dict) -> dict:
    """Store every labelled thing; returns name -> (kind, object id)."""
    ids = {}
    for n, (name, (kind, title, artists, extra)) in enumerate(sorted(things.items())):
        if kind == "song":
            Song.objects.create(id=10_000 + n, title=title, artist=artists, filename=f"{n}.cho",
                                source_sha="x")
            ids[name] = ("song", str(10_000 + n))
        elif kind == "spotify":
            track = SpotifyTrack.objects.create(id=extra["id"], name=title)
            for a, artist in enumerate(artists):
                made, _ = SpotifyArtist.objects.get_or_create(id=f"ar{abs(hash(artist)):020d}"[:22],
                                                              defaults={"name": artist})
                track.artists.add(made)
            ids[name] = ("spotify", extra["id"])
        elif kind == "chart":
            chart = Chart.objects.create(title=title, artist=artists, remote_path=f"Songs/{n}")
            ids[name] = ("chart", str(chart.pk))
        else:
            track = graph_models.Track.objects.create(
                title=title, artist_key=" & ".join(sorted(normalise(a) for a in artists)),
                title_key=normalise(title), isrc=extra.get("isrc", ""),
                spotify_id=extra.get("spotify_id", ""))
            for position, artist in enumerate(artists):
                made, _ = graph_models.Artist.objects.get_or_create(
                    name_key=normalise(artist), defaults={"name": artist})
                graph_models.TrackArtist.objects.create(track=track, artist=made, role="primary",
                                                        position=position)
            ids[name] = ("graph", str(track.pk))
    return ids


def work_of(ref) -> int | None:
    kind, object_id = ref
    return WorkLink.objects.filter(kind=kind, object_id=object_id).values_list(
        "work_id", flat=True).first()


@pytest.fixture
def labelled():
    things, pairs = catalog()
    return create(things), pairs


def test_precision_and_recall_on_the_labelled_set(labelled, capsys):
    ids, pairs = labelled
    report = link_works()
    assert report.by_kind == {"song": 83, "spotify": 81, "chart": 81, "graph": 80}
    tp = fp = fn = tn = 0
    for a, b, same in pairs:
        predicted = work_of(ids[a]) is not None and work_of(ids[a]) == work_of(ids[b])
        tp += predicted and same
        fp += predicted and not same
        fn += same and not predicted
        tn += not same and not predicted
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    with capsys.disabled():
        print(f"\nworks matching: {len(pairs)} labelled pairs, precision {precision:.3f}, "
              f"recall {recall:.3f} (tp {tp}, fp {fp}, fn {fn}, tn {tn})")
    assert len(pairs) >= 200
    assert precision >= 0.98 and recall >= 0.9


def test_links_record_how_they_were_made(labelled):
    ids, _ = labelled
    link_works()
    by = {name: WorkLink.objects.get(kind=ids[name][0], object_id=ids[name][1])
          for name in ("s0.song", "s0.spotify", "s0.graph", "s3.chart")}
    assert by["s0.song"].method == "exact" and by["s0.song"].confidence == 1.0
    assert by["s0.graph"].method == "spotify_id"  # s0's graph track carries the Spotify id
    assert by["s3.chart"].method == "normalised" and by["s3.chart"].confidence < 1  # UPPER CASE
    assert Work.objects.get(pk=by["s0.song"].work_id).title == "Amazing Grace (My Chains Are Gone)"


def test_a_second_run_changes_nothing(labelled):
    link_works()
    before = set(WorkLink.objects.values_list("kind", "object_id", "work_id"))
    again = link_works()
    assert (again.created, again.linked, again.moved, again.removed_links) == (0, 0, 0, 0)
    assert set(WorkLink.objects.values_list("kind", "object_id", "work_id")) == before


def test_curators_merges_and_splits_survive_the_matcher(labelled):
    ids, _ = labelled
    link_works()
    live, song = work_of(ids["s5.live"]), work_of(ids["s5.song"])
    assert live != song
    curation.merge(Work.objects.get(pk=song), [Work.objects.get(pk=live)])
    assert work_of(ids["s5.live"]) == song
    cover = WorkLink.objects.get(kind="chart", object_id=ids["s5.chart"][1])
    split_work = curation.split([cover])
    link_works()
    link_works()
    assert work_of(ids["s5.live"]) == song  # the merge held
    assert work_of(ids["s5.chart"]) == split_work.pk  # and so did the split
    assert WorkLink.objects.get(kind="chart", object_id=ids["s5.chart"][1]).method == "curator"


def test_things_that_go_take_their_links_and_empty_works_with_them(labelled):
    ids, _ = labelled
    link_works()
    acoustic = work_of(ids["s3.acoustic"])
    Song.objects.filter(pk=int(ids["s3.acoustic"][1])).delete()
    report = link_works()
    assert report.removed_links == 1 and report.removed_works >= 1
    assert not Work.objects.filter(pk=acoustic).exists()
    SpotifyTrack.objects.create(id="new" + "0" * 19, name="Hey Jude - 2015 Remaster")
    SpotifyTrack.objects.get(pk="new" + "0" * 19).artists.add(SpotifyArtist.objects.filter(
        name="The Beatles").first())
    assert link_works().linked == 1
    assert work_of(("spotify", "new" + "0" * 19)) == work_of(ids["s7.song"])


def test_the_command_prints_a_json_summary_and_dry_run_writes_nothing(labelled, capsys):
    call_command("link_works", "--dry-run")
    summary = json.loads(capsys.readouterr().out)
    assert summary["dry_run"] and summary["created"] > 100 and not Work.objects.exists()
    call_command("link_works")
    summary = json.loads(capsys.readouterr().out)
    assert summary["works"] == Work.objects.count() and summary["linked"] == 325


def test_a_library_change_schedules_one_matcher_run(settings):
    from django.core.cache import cache

    from songhub.signals import library_changed

    cache.delete("works:link-scheduled")
    library_changed.send(sender="test")
    assert cache.get("works:link-scheduled") == 1
    library_changed.send(sender="test")  # debounced: still one


@pytest.mark.postgres
def test_pages_and_api_show_the_song_elsewhere(client, host, django_user_model):
    from datetime import datetime, timezone as dt_tz

    from graph import etl
    from graph.parsers import parse
    from listening.models import ListeningEvent, Listener

    song = Song.objects.create(id=7, title="Strobe", artist="deadmau5", filename="s.cho",
                               source_sha="x", page_count=1)
    chart = Chart.objects.create(title="STROBE", artist="Deadmau5", remote_path="Songs/strobe",
                                 note_counts={"guitar": {"expert": 900, "hard": 600}})
    track = SpotifyTrack.objects.create(id="st" + "0" * 20, name="Strobe - Radio Edit")
    original = SpotifyTrack.objects.create(id="so" + "0" * 20, name="Strobe")
    artist = SpotifyArtist.objects.create(id="d" * 22, name="deadmau5")
    track.artists.add(artist)
    original.artists.add(artist)
    listener = Listener.objects.create(spotify_id="me", user=host)
    for day in (1, 2, 3):
        ListeningEvent.objects.create(listener=listener, track=original,
                                      played_at=datetime(2026, 11, day, tzinfo=dt_tz.utc))
    ListeningEvent.objects.create(listener=listener, track=track,  # another recording
                                  played_at=datetime(2026, 11, 4, tzinfo=dt_tz.utc))
    for n in range(2):
        text = "deadmau5 - Strobe\nEric Prydz - Opus\nAvicii - Levels\n"
        etl.import_setlist(parse(text, "text"), source="file", payload=text + str(n),
                           fmt="text", meta={"dj": f"DJ {n}"})
    link_works()

    client.force_login(host)
    page = client.get(f"/songs/{song.id}/").content.decode()
    assert "Elsewhere in songhub" in page and f"/charts/{chart.pk}/" in page
    assert "You played it 3 times" in page and "last on 2026-11-03" in page
    assert "Eric Prydz – Opus" in page and "followed it in 2 setlists" in page
    chart_page = client.get(f"/charts/{chart.pk}/").content.decode()
    assert f"/songs/{song.id}/" in chart_page
    body = client.get(f"/api/works/for/song/{song.id}").json()
    assert body["work"]["title"] == "Strobe" and body["plays"]["count"] == 3
    assert body["charts"][0]["difficulties"] == {"guitar": ["expert", "hard"]}
    assert client.get("/api/works/for/nope/1").status_code == 400
    assert client.get("/api/works/for/song/999").status_code == 404
    assert client.get(f"/api/works/{body['work']['id']}").json()["songs"][0]["id"] == song.id
