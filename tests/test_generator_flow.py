"""The generate flow end to end: the API stages the audio, a real Celery worker analyses it,
the song folder lands on a real (loopback) WebDAV server via the Generator folder, and the
Chart it registers parses and validates with the library's own code."""

import signal
import subprocess
import sys
import time
import uuid
from io import BytesIO

import pytest

from charts import generator
from charts.formats import chart as chart_format
from charts.models import Chart, ChartImportJob
from tests.helpers import subprocess_env
from tests.synth_audio import click_track, write

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_generated_chart_parses_and_validates_with_the_library(tmp_path):
    from charts.validate import check

    samples, sr, _ = click_track(128, seconds=30, loud_from=15, accent_every=4)
    audio = write(tmp_path / "a.ogg", samples, sr)
    generator.generate(audio, tmp_path / "song", generator.ChartMeta("Click", "Metronome"))
    data = chart_format.parse((tmp_path / "song" / "notes.chart").read_bytes())
    assert not data.issues, data.issues
    counts = data.notes["guitar"]
    assert counts["expert"] >= counts["hard"] >= counts["medium"] >= counts["easy"] > 0
    assert data.sections and abs(data.length_ms - 30_000) < 1500
    from charts.formats import ini

    parsed_ini = ini.parse((tmp_path / "song" / "song.ini").read_bytes())
    codes = check(sorted(p.name for p in (tmp_path / "song").iterdir()), parsed_ini.values,
                  parsed_ini.issues, data)
    assert codes == [], codes


def test_the_api_refuses_bad_input_at_once_and_stores_nothing(client, curator, webdav, settings):
    client.force_login(curator)
    text = BytesIO(b"hello")
    text.name = "notes.txt"
    response = client.post("/api/charts/generate", {"file": text, "title": "T", "artist": "A"})
    assert response.status_code == 400 and "not a supported audio" in response.json()["error"]["message"]
    wav = BytesIO(b"RIFF" + b"\0" * 100)
    wav.name = "broken.wav"
    response = client.post("/api/charts/generate", {"file": wav, "title": "T", "artist": "A"})
    assert response.status_code == 400 and "cannot be decoded" in response.json()["error"]["message"]
    wav.seek(0)
    response = client.post("/api/charts/generate", {"file": wav, "title": "", "artist": "A"})
    assert response.status_code == 400 and response.json()["error"]["details"] == {"fields": ["title"]}
    settings.CHARTS_MAX_AUDIO_MB = 0
    big = BytesIO(b"x" * (2 * 2**20))
    big.name = "big.wav"
    assert client.post("/api/charts/generate", {"file": big, "title": "T",
                                                "artist": "A"}).status_code == 413
    client.logout()
    assert client.post("/api/charts/generate", {}).status_code == 401
    assert not ChartImportJob.objects.exists() and not Chart.objects.exists()
    assert not list((settings.SONG_DATA_DIR / "charts-uploads").glob("*"))


def test_the_api_refuses_control_characters_in_the_metadata(client, curator, settings,
                                                            tmp_path):
    """A NUL in the title of good audio reached the job's JSON, which PostgreSQL refused:
    a 500 that left the staged audio behind."""
    client.force_login(curator)
    samples, sr, _ = click_track(120, seconds=4)
    with open(write(tmp_path / "click.wav", samples, sr), "rb") as audio:
        response = client.post("/api/charts/generate",
                               {"file": audio, "title": "T\x00", "artist": "A"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "bad_text"
    assert not ChartImportJob.objects.exists()
    assert not list((settings.SONG_DATA_DIR / "charts-uploads").glob("*"))


@pytest.mark.redis
@pytest.mark.slow
def test_generate_through_the_api_a_real_worker_and_webdav(client, curator, webdav, tmp_path,
                                                           settings):
    samples, sr, _ = click_track(120, seconds=40, loud_from=20, stereo=True)
    audio = write(tmp_path / "upload.ogg", samples, sr)
    queue = f"gen-{uuid.uuid4().hex[:6]}"
    env = subprocess_env(tmp_path / "worker", NEXTCLOUD_URL=webdav.url,
                         NEXTCLOUD_USERNAME=settings.NEXTCLOUD_USERNAME,
                         NEXTCLOUD_PASSWORD=settings.NEXTCLOUD_PASSWORD,
                         NEXTCLOUD_REMOTE_PATH="CloneHero", WORKER_POLLING=0)
    settings.CELERY_TASK_DEFAULT_QUEUE = queue
    from songhub.celery import app

    app.conf.task_default_queue = queue
    log = open(tmp_path / "worker.log", "w+")
    worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "songhub", "worker", "-Q",
                               queue, "--concurrency", "1", "-l", "INFO", "-n", f"{queue}@%h"],
                              env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        client.force_login(curator)
        with open(audio, "rb") as handle:
            response = client.post("/api/charts/generate",
                                   {"file": handle, "title": "Click Song", "artist": "Metronome",
                                    "year": "2026"})
        assert response.status_code == 202
        url = response.json()["status_url"]
        stages = set()
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            job = client.get(url).json()
            stages.add(job["files"][0].get("stage"))
            if job["status"] in ("done", "failed"):
                break
            time.sleep(0.3)
        assert job["status"] == "done", (job, (tmp_path / "worker.log").read_text()[-3000:])
    finally:
        app.conf.task_default_queue = "celery"
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
        log.close()
    entry = job["files"][0]
    assert stages & {"decoding", "beats", "onsets", "charting", "uploading"}
    chart = Chart.objects.get(pk=entry["chart_id"])
    assert chart.issues == [] and chart.title == "Click Song" and chart.has_audio
    assert chart.remote_path.startswith("Songs/Metronome/Click Song_")
    folder = webdav.files / chart.remote_path
    assert sorted(p.name for p in folder.iterdir()) == ["notes.chart", "song.ini", "song.ogg"]
    assert not list((webdav.files / "Generator").glob("*"))  # staging moved, not copied
    assert not list((settings.SONG_DATA_DIR / "charts-uploads").glob("*"))
    page = client.get(f"/charts/{chart.pk}/").content.decode()
    assert "Click Song" in page and "audio" in page
