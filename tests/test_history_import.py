"""Historical import: the three duplicate phases on hand-built timelines, hostile archives,
idempotency, and the command."""

import io
import json
import zipfile
from datetime import datetime, timedelta, timezone as dt_timezone

import pytest
from django.core.management import CommandError, call_command

from listening import history_import as hi
from listening.models import ListeningEvent, Listener, PlayCount, Track

pytestmark = pytest.mark.django_db
T0 = datetime(2024, 5, 1, 20, 0, tzinfo=dt_timezone.utc)


def tid(n):
    return f"{n:022d}"


def record(minute_offset_seconds, track, ms=200_000, **extra):
    ts = (T0 + timedelta(seconds=minute_offset_seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"ts": ts, "ms_played": ms, "master_metadata_track_name": f"Song {track}",
            "master_metadata_album_artist_name": "Band", "master_metadata_album_album_name": "LP",
            "spotify_track_uri": f"spotify:track:{tid(track)}", "episode_name": None,
            "incognito_mode": False, "skipped": False, "reason_end": "trackdone",
            "platform": "android", "conn_country": "US", **extra}


def export(tmp_path, records, name="Spotify Extended Streaming History/"
           "Streaming_History_Audio_2024.json"):
    path = tmp_path / "my_spotify_data.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, json.dumps(records))
    return path


@pytest.fixture
def listener():
    return Listener.objects.create(spotify_id="dana")


def store(listener, seconds, track):
    Track.objects.get_or_create(id=tid(track), defaults={"name": f"Song {track}"})
    ListeningEvent.objects.create(listener=listener, track_id=tid(track),
                                  played_at=T0 + timedelta(seconds=seconds))


def test_phase_1_exact_timestamps(tmp_path, listener):
    store(listener, 0, 1)
    analysis = hi.analyze(export(tmp_path, [record(0, 1), record(3000, 2)]), listener)
    assert analysis.duplicates == {"exact": 1, "near": 0, "sequential": 0}
    assert analysis.to_import == 1


def test_phase_2_same_track_within_450_seconds_with_drift(tmp_path, listener):
    store(listener, 1000, 1)
    analysis = hi.analyze(export(tmp_path, [record(1000 - 300, 1), record(1000 + 440, 1)]),
                          listener)
    assert analysis.duplicates["near"] == 2  # -300 s and +440 s drift
    beyond = hi.analyze(export(tmp_path, [record(1000 + 460, 1), record(5000, 2)]), listener)
    assert beyond.duplicates["near"] == 0 and beyond.to_import == 2  # 460 s apart: a new play


def test_phase_3_sequential_context(tmp_path, listener):
    # stored session: tracks 1, 2, 3 around T0; the export's clock is 700 s off for track 2
    store(listener, 0, 1)
    store(listener, 200, 2)
    store(listener, 400, 3)
    records = [record(0, 1), record(200 + 700, 2), record(400, 3)]
    analysis = hi.analyze(export(tmp_path, records), listener)
    assert analysis.duplicates == {"exact": 2, "near": 0, "sequential": 1}
    lonely = hi.analyze(export(tmp_path, [record(5000, 4), record(5000 + 700, 4)]), listener)
    assert lonely.duplicates["sequential"] == 0  # no stored neighbour: not a duplicate


# The seed's phase 3, example by example: `epoch // 900` buckets, the stored plays of the
# bucket and the one on either side, and the import's previous and next track ids.
def test_seed_phase_3_previous_track_stored_in_the_bucket_before(tmp_path, listener):
    store(listener, 800, 1)  # bucket 0
    records = [record(1000, 1), record(2000, 2)]  # track 1 is near; track 2 is in bucket 2
    analysis = hi.analyze(export(tmp_path, records), listener)
    assert analysis.duplicates == {"exact": 0, "near": 1, "sequential": 0}  # bucket 0 is 2 away
    records = [record(1000, 1), record(1500, 2)]  # track 2 in bucket 1: bucket 0 is adjacent
    analysis = hi.analyze(export(tmp_path, records), listener)
    assert analysis.duplicates == {"exact": 0, "near": 1, "sequential": 1}


def test_seed_phase_3_next_track_stored_in_the_bucket_after(tmp_path, listener):
    store(listener, 2 * 900 + 10, 7)  # bucket 2
    records = [record(900 + 600, 6), record(3 * 900 + 100, 7)]  # 6 in bucket 1, 7 drifted
    analysis = hi.analyze(export(tmp_path, records), listener)
    assert analysis.duplicates["sequential"] == 1  # track 6: its next track 7 is in bucket 2
    assert analysis.duplicates["near"] == 0 and analysis.to_import == 1  # 7 is 990 s away


def test_seed_phase_3_does_not_need_the_play_s_own_track_stored(tmp_path, listener):
    store(listener, 0, 1)
    store(listener, 400, 3)
    records = [record(0, 1), record(200, 2), record(400, 3)]  # 2 was never polled
    analysis = hi.analyze(export(tmp_path, records), listener)
    assert analysis.duplicates == {"exact": 2, "near": 0, "sequential": 1}


def test_seed_phase_3_ignores_stored_tracks_that_are_not_neighbours(tmp_path, listener):
    store(listener, 100, 9)  # stored in the same bucket, but not the previous or next track
    records = [record(0, 1), record(200, 2), record(3000, 3)]
    analysis = hi.analyze(export(tmp_path, records), listener)
    assert analysis.duplicates == {"exact": 0, "near": 0, "sequential": 0}
    assert analysis.to_import == 3


def test_filters_short_incognito_podcasts_and_malformed(tmp_path, listener):
    records = [record(0, 1, ms=10_000), record(100, 2, incognito_mode=True),
               record(200, 3, episode_name="Ep 1", spotify_track_uri=None),
               {"ts": "yesterday"}, "not a dict", record(300, 4)]
    analysis = hi.analyze(export(tmp_path, records), listener)
    # no track uri counts with podcasts ("podcasts/no track uri"); a non-object is malformed
    assert analysis.filtered == {"short": 1, "incognito": 1, "podcast": 2, "malformed": 1}
    assert analysis.total == 6 and analysis.to_import == 1
    assert analysis.as_dict()["per_year"] == {"2024": 1}


def test_execute_is_idempotent_and_counts_plays(tmp_path, listener, settings):
    settings.IMPORT_MAX_RATIO = 1000  # this synthetic export compresses ~100x; a real one ~10x
    path = export(tmp_path, [record(n * 300, n % 3) for n in range(2500)])
    first = hi.analyze(path, listener)
    assert hi.execute(listener, first) == 2500
    assert ListeningEvent.objects.filter(listener=listener).count() == 2500
    assert sum(PlayCount.objects.filter(listener=listener).values_list("count", flat=True)) == 2500
    again = hi.analyze(path, listener)
    assert again.to_import == 0 and again.duplicates["exact"] == 2500
    assert hi.execute(listener, again) == 0


@pytest.mark.parametrize("build, message", [
    (lambda p: p.write_bytes(b"PK\x03\x04 not really"), "not a ZIP"),
    (lambda p: p.write_text("hello"), "not a ZIP"),
])
def test_files_that_are_not_zips(tmp_path, listener, build, message):
    path = tmp_path / "upload.zip"
    build(path)
    with pytest.raises(hi.ImportFileError, match=message):
        hi.analyze(path, listener)


def test_hostile_and_wrong_archives_are_refused(tmp_path, listener, settings):
    traversal = export(tmp_path, [record(0, 1)], name="../../etc/Streaming_History_Audio_x.json")
    with pytest.raises(hi.ImportFileError, match="unsafe path"):
        hi.analyze(traversal, listener)
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("Streaming_History_Audio_1.json", "[" + " " * 20_000_000 + "]")
    with pytest.raises(hi.ImportFileError, match="zip bomb"):
        hi.analyze(bomb, listener)
    settings.IMPORT_MAX_UNCOMPRESSED_BYTES = 100
    with pytest.raises(hi.ImportFileError, match="unpacks to more than"):
        hi.analyze(export(tmp_path, [record(0, 1)] * 10), listener)
    settings.IMPORT_MAX_UNCOMPRESSED_BYTES = 10**9
    with pytest.raises(hi.ImportFileError, match="No streaming history"):
        hi.analyze(export(tmp_path, [], name="Userdata.json"), listener)
    bad_json = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad_json, "w") as archive:
        archive.writestr("Streaming_History_Audio_1.json", "{nope")
    with pytest.raises(hi.ImportFileError, match="not valid JSON"):
        hi.analyze(bad_json, listener)
    with pytest.raises(hi.ImportFileError, match="list of plays"):
        hi.analyze(export(tmp_path, {"plays": []}), listener)
    assert not ListeningEvent.objects.exists()


def test_older_export_names_are_accepted(tmp_path, listener):
    path = export(tmp_path, [record(0, 1)], name="MyData/endsong_0.json")
    assert hi.analyze(path, listener).to_import == 1


def test_the_command_analyzes_and_imports(tmp_path, listener):
    path = export(tmp_path, [record(0, 1), record(300, 2)])
    out = io.StringIO()
    call_command("import_streaming_history", str(path), "--listener", "dana", "--analyze-only",
                 stdout=out)
    assert json.loads(out.getvalue())["to_import"] == 2 and not ListeningEvent.objects.exists()
    out = io.StringIO()
    call_command("import_streaming_history", str(path), "--listener", "dana", stdout=out)
    assert "Imported 2 plays." in out.getvalue()
    with pytest.raises(CommandError, match="No listener"):
        call_command("import_streaming_history", str(path), "--listener", "nobody")
    with pytest.raises(CommandError, match="not a ZIP"):
        call_command("import_streaming_history", __file__, "--listener", "dana")


@pytest.fixture
def member(client, django_user_model, listener):
    user = django_user_model.objects.create_user("dana", password="pw-dana-12345")
    Listener.objects.filter(pk=listener.pk).update(user=user)
    client.force_login(user)
    return Listener.objects.get(pk=listener.pk)


def test_analyze_endpoint_streams_the_upload_and_writes_nothing(client, member, tmp_path):
    path = export(tmp_path, [record(0, 1), record(300, 2), record(600, 3, ms=1000)])
    with open(path, "rb") as handle:
        response = client.post("/analytics/analyzeHistoricalImport/", {"file": handle})
    assert response.status_code == 202 and response.json()["kind"] == "analyze"
    hi.run_job(response.json()["job_id"])  # what the worker runs
    body = client.get(response.json()["status_url"]).json()
    assert body["status"] == "done"
    assert body["stats"]["to_import"] == 2 and body["stats"]["filtered"]["short"] == 1
    assert not ListeningEvent.objects.exists()
    bad = client.post("/analytics/analyzeHistoricalImport/",
                      {"file": io.BytesIO(b"not a zip")})
    assert bad.status_code == 400 and "not a ZIP" in bad.json()["error"]["message"]


def test_uploads_over_the_limit_get_413(client, member, tmp_path, settings):
    settings.IMPORT_MAX_UPLOAD_BYTES = 100
    path = export(tmp_path, [record(n, 1) for n in range(50)])
    with open(path, "rb") as handle:
        response = client.post("/analytics/analyzeHistoricalImport/", {"file": handle})
    assert response.status_code == 413


def test_execute_runs_as_a_job_with_progress(client, member, tmp_path, settings):
    settings.IMPORT_MAX_RATIO = 1000  # this synthetic export compresses ~100x; a real one ~10x
    from listening.history_import import run_job
    from listening.models import ImportJob

    path = export(tmp_path, [record(n * 300, n % 5) for n in range(1500)])
    with open(path, "rb") as handle:
        response = client.post("/analytics/executeHistoricalImport/", {"file": handle})
    assert response.status_code == 202
    job_id = response.json()["job_id"]
    run_job(job_id)  # what the worker runs
    status = client.get(f"/analytics/importStatus/{job_id}").json()
    assert status["status"] == "done" and status["done"] == status["total"] == 1500
    assert ListeningEvent.objects.count() == 1500
    assert not __import__("pathlib").Path(ImportJob.objects.get().upload_path).exists()
