"""Hostile history exports (issue #11.2, #11.6): a zip bomb is refused in the request before
anything is inflated, and every way an import job can fail ends the job FAILED with a message."""

import json
import time
import zipfile
from pathlib import Path

import pytest

from listening import history_import as hi
from listening.models import ImportJob, ListeningEvent, Listener

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(client, django_user_model):
    user = django_user_model.objects.create_user("erin", password="pw-erin-12345")
    client.force_login(user)
    return Listener.objects.create(spotify_id="erin", user=user)


def _rss_peak_reset() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM (Linux >= 4.0)
        return True
    except OSError:
        return False


def _rss_peak_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def _bomb(path: Path, members=10, member_bytes=10 * 2**20) -> Path:
    """The issue's archive: many members of at most 10 MiB of plays, compressed ~1000x."""
    play = json.dumps({"ts": "2024-01-01T00:00:00Z", "ms_played": 200000,
                       "spotify_track_uri": "spotify:track:" + "a" * 22}) + ","
    body = ("[" + play * (member_bytes // len(play)))[:member_bytes - 1] + "]"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for n in range(members):
            archive.writestr(f"Streaming_History_Audio_{n}.json", body)
    return path


def test_a_zip_bomb_is_refused_in_the_request_fast_and_small(client, member, tmp_path, settings):
    bomb = _bomb(tmp_path / "bomb.zip", members=5)
    assert bomb.stat().st_size < 200_000  # ~180 KB uploaded, 50 MiB declared
    if not _rss_peak_reset():
        pytest.skip("cannot reset the peak RSS here")
    before = _rss_peak_bytes()
    started = time.monotonic()
    with open(bomb, "rb") as handle:
        response = client.post("/analytics/analyzeHistoricalImport/", {"file": handle})
    elapsed = time.monotonic() - started
    assert response.status_code == 400 and "zip bomb" in response.json()["error"]["message"]
    assert elapsed < 1.0
    assert _rss_peak_bytes() - before < 50 * 2**20
    assert not ImportJob.objects.exists()
    assert not list((settings.SONG_DATA_DIR / "imports").glob("*"))  # the upload is gone


def test_the_ratio_is_checked_for_small_members_too(tmp_path, settings):
    from listening.export_archive import ImportFileError, check_archive

    with pytest.raises(ImportFileError, match="zip bomb"):
        check_archive(_bomb(tmp_path / "one.zip", members=1, member_bytes=2 * 2**20))


def test_the_running_total_stops_a_lying_archive_while_reading(tmp_path, settings, member):
    """Declared sizes within the limit, but the stream is counted as it inflates."""
    path = tmp_path / "big.zip"
    plays = [{"ts": f"2024-01-01T00:{n % 60:02d}:00Z", "ms_played": 1000 + n,
              "spotify_track_uri": f"spotify:track:{n:022d}"} for n in range(3000)]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for n in range(3):
            archive.writestr(f"Streaming_History_Audio_{n}.json", json.dumps(plays))
    size = zipfile.ZipFile(path).infolist()[0].file_size
    settings.IMPORT_MAX_UNCOMPRESSED_BYTES = size * 3  # exactly enough: accepted
    assert hi.analyze(path, member).total == 9000
    settings.IMPORT_MAX_UNCOMPRESSED_BYTES = size * 3 - 1
    with pytest.raises(hi.ImportFileError, match="unpacks to more than"):
        hi.analyze(path, member)


def _job(member, path: Path, kind="analyze") -> ImportJob:
    return ImportJob.objects.create(listener=member, upload_path=str(path), kind=kind)


def _corrupt_member_data(path: Path) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("Streaming_History_Audio_0.json",
                         json.dumps([{"ts": f"2024-01-01T00:00:{n % 60:02d}Z", "n": n}
                                     for n in range(2000)]))
    data = bytearray(path.read_bytes())
    for offset in range(200, 400):  # inside the deflated data; the directory stays intact
        data[offset] ^= 0x5A
    path.write_bytes(bytes(data))
    return path


def _nested(path: Path, depth=200_000) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("Streaming_History_Audio_0.json", "[" * depth + "]" * depth)
    return path


def _wrong_types(path: Path) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("Streaming_History_Audio_0.json", json.dumps([
            {"ts": "2024-01-01T00:00:00Z", "ms_played": 40000, "spotify_track_uri": 123},
            {"ts": 5, "ms_played": "x", "master_metadata_track_name": ["a"],
             "spotify_track_uri": "spotify:track:" + "b" * 22},
            {"ts": "2024-01-01T00:05:00Z", "ms_played": True,
             "spotify_track_uri": "spotify:track:" + "c" * 22}]))
    return path


@pytest.mark.parametrize("build, message", [
    (_corrupt_member_data, "cannot be unpacked"),
    (_nested, ""),
    (lambda p: p, "not a ZIP"),  # the upload vanished before the worker ran
])
def test_every_job_failure_ends_failed_with_a_message(member, tmp_path, build, message):
    path = build(tmp_path / "upload.zip")
    job = _job(member, path)
    hi.run_job(job.pk)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED and job.finished_at is not None
    assert message in job.error and len(job.error) > 10
    assert not path.exists()


def test_wrong_item_types_are_counted_malformed_not_a_crash(member, tmp_path):
    path = _wrong_types(tmp_path / "upload.zip")
    job = _job(member, path, kind="import")
    hi.run_job(job.pk)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE, job.error
    assert job.stats["filtered"] == {"short": 0, "incognito": 0, "podcast": 1, "malformed": 2}
    assert not ListeningEvent.objects.exists()


def test_an_unexpected_error_still_ends_the_job(member, tmp_path, monkeypatch):
    """A bug of ours (any exception type) must not leave the job RUNNING."""
    path = tmp_path / "ok.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("Streaming_History_Audio_0.json", "[]")

    def broken(*args):
        raise AttributeError("'int' object has no attribute 'startswith'")

    monkeypatch.setattr(hi, "classify", broken)
    job = _job(member, path)
    hi.run_job(job.pk)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED and "AttributeError" in job.error
    assert not path.exists()


@pytest.mark.parametrize("payload, message", [
    (b"PK\x05\x06" + b"\0" * 18, "No streaming history"),  # an empty but valid ZIP
    (b"PK\x03\x04" + b"\xff" * 200, "not a ZIP"),  # a broken directory
])
def test_analyze_answers_400_with_the_reason(client, member, payload, message):
    import io

    response = client.post("/analytics/analyzeHistoricalImport/", {"file": io.BytesIO(payload)})
    assert response.status_code == 400
    assert message in response.json()["error"]["message"]
    assert not ImportJob.objects.exists()
