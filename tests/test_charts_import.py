"""Archive import: real zip/7z/rar archives, hostile ones refused with nothing written."""

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import py7zr
import pytest

from charts import archives, importer, sync
from charts.models import Chart, ChartImportJob
from tests.charts_support import chart_text, make_song_folder
from tests.conftest import REQUIRE_SERVICES
from tests.helpers import subprocess_env
from tests.rar5 import rar_folder, write_rar5

pytestmark = pytest.mark.django_db(transaction=True)
RAR = Path(__file__).parent / "fixtures" / "rar"


def zip_folder(src: Path, target: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(src.rglob("*")):
            if file.is_file():
                archive.write(file, prefix + file.relative_to(src).as_posix())
    return target


@pytest.fixture
def songs_dir(tmp_path):
    root = tmp_path / "pack"
    make_song_folder(root / "Alpha", "Alpha", "Band A", notes=20)
    make_song_folder(root / "nested" / "Beta", "Beta", "Band B", notes=30)
    return root


def stored_folders(webdav):
    songs = webdav.files / "Songs"
    return sorted(p.relative_to(songs).as_posix() for p in songs.glob("*/*")) \
        if songs.exists() else []


def test_a_zip_becomes_song_folders_and_rows(webdav, songs_dir, tmp_path):
    result = importer.import_path(zip_folder(songs_dir, tmp_path / "pack.zip"))
    assert sorted(s["title"] for s in result["songs"]) == ["Alpha", "Beta"]
    folders = stored_folders(webdav)
    assert [f.split("_")[0] for f in folders] == ["Band A/Alpha", "Band B/Beta"]
    alpha = Chart.objects.get(title="Alpha")
    assert alpha.remote_path == f"Songs/{folders[0]}" and alpha.note_counts["guitar"]["expert"] == 20
    # the row matches the folder: a sync right after downloads nothing
    _run, report = sync.run()
    assert report.unchanged == 2 and report.downloads == 0
    assert not list((Path(importer.temp_root())).iterdir())  # temp space cleaned


def test_a_7z_archive_imports(webdav, songs_dir, tmp_path):
    target = tmp_path / "pack.7z"
    with py7zr.SevenZipFile(target, "w") as archive:
        archive.writeall(songs_dir, "pack")
    result = importer.import_path(target)
    assert len(result["songs"]) == 2 and Chart.objects.count() == 2


def test_a_duplicate_chart_is_reported_not_stored_twice(webdav, songs_dir, tmp_path):
    importer.import_path(zip_folder(songs_dir, tmp_path / "a.zip"))
    result = importer.import_path(zip_folder(songs_dir, tmp_path / "b.zip", "again/"))
    assert result["songs"] == [] and len(result["duplicates"]) == 2
    assert Chart.objects.count() == 2 and len(stored_folders(webdav)) == 2


def test_a_chart_with_audio_and_no_ini_gets_a_generated_ini(webdav, tmp_path):
    folder = tmp_path / "bare" / "Gamma"
    folder.mkdir(parents=True)
    (folder / "notes.chart").write_text(chart_text("Gamma", "Band G"))
    (folder / "song.opus").write_bytes(b"OggS")
    result = importer.import_path(tmp_path / "bare")  # a bare folder, no archive
    assert result["songs"][0]["title"] == "Gamma"
    stored = webdav.files / Chart.objects.get().remote_path / "song.ini"
    assert b"name = Gamma" in stored.read_bytes()


def assert_refused(path, match, webdav):
    with pytest.raises(importer.ImportRefused, match=match):
        importer.import_path(path)
    assert Chart.objects.count() == 0 and stored_folders(webdav) == []
    assert not list(importer.temp_root().iterdir())


def test_hostile_zips_are_refused_before_anything_is_written(webdav, tmp_path, settings):
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("ok/song.ini", "[song]\nname=x\n")
        archive.writestr("../../escape.txt", "x")
    assert_refused(evil, "'..'", webdav)

    absolute = tmp_path / "abs.zip"
    with zipfile.ZipFile(absolute, "w") as archive:
        archive.writestr("/etc/cron.d/x", "x")
    assert_refused(absolute, "absolute", webdav)

    link = tmp_path / "link.zip"
    with zipfile.ZipFile(link, "w") as archive:
        info = zipfile.ZipInfo("song/link")
        info.external_attr = (0o120777 << 16)
        archive.writestr(info, "/etc/passwd")
    assert_refused(link, "link", webdav)

    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("song/notes.chart", b"\0" * (50 * 2**20))
    assert_refused(bomb, "zip bomb", webdav)

    settings.CHARTS_MAX_MEMBERS = 5
    many = tmp_path / "many.zip"
    with zipfile.ZipFile(many, "w") as archive:
        for i in range(6):
            archive.writestr(f"f{i}.txt", "x")
    assert_refused(many, "6 entries", webdav)

    settings.CHARTS_MAX_MEMBERS, settings.CHARTS_MAX_UNCOMPRESSED_MB = 100, 1
    big = tmp_path / "big.zip"
    with zipfile.ZipFile(big, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("song/song.ogg", b"x" * (2 * 2**20))
    assert_refused(big, "unpacks to", webdav)


def test_a_zip_whose_header_lies_is_stopped_while_extracting(webdav, tmp_path):
    liar = tmp_path / "liar.zip"
    with zipfile.ZipFile(liar, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("s/song.ini", "[song]\nname = a long enough value\n")
    data = bytearray(liar.read_bytes())
    # shrink the declared uncompressed size in the central directory (the header lies)
    central = data.rfind(b"PK\x01\x02")
    data[central + 24:central + 28] = (4).to_bytes(4, "little")
    liar.write_bytes(bytes(data))
    with pytest.raises(archives.ArchiveRefused):
        archives.extract(liar, tmp_path / "out")


def test_encrypted_and_unknown_files_get_clear_messages(webdav, tmp_path):
    locked = tmp_path / "locked.7z"
    with py7zr.SevenZipFile(locked, "w", password="secret") as archive:
        archive.writestr(b"x", "song/song.ini")
    assert_refused(locked, "encrypted", webdav)
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not an archive at all")
    assert_refused(junk, "Not a .zip", webdav)


def rar_backend_or_skip():
    import rarfile

    try:
        rarfile.tool_setup()
    except rarfile.RarCannotExec:
        if REQUIRE_SERVICES:
            pytest.fail("no RAR backend (apt-get install unar) but SONGHUB_REQUIRE_SERVICES=1")
        pytest.skip("no RAR backend: apt-get install unar")


def test_rar_archives_extract_and_hostile_ones_are_refused(webdav, tmp_path):
    rar_backend_or_skip()
    members = archives.extract(RAR / "rar5-subdirs.rar", tmp_path / "out")
    assert (tmp_path / "out" / "sub" / "dir1" / "file1.txt").exists() and len(members) == 10
    assert_refused(RAR / "rar5-subdirs.rar", "No song folders", webdav)
    assert_refused(RAR / "rar3-comment-psw.rar", "encrypted", webdav)
    assert_refused(RAR / "rar5-symlink-unix.rar", "link", webdav)


def test_a_rar5_song_pack_imports(webdav, songs_dir, tmp_path):
    """A RAR5 pack built by tests/rar5.py, checked first by lsar (unar's lister), not by us."""
    rar_backend_or_skip()
    pack = rar_folder(songs_dir, tmp_path / "pack.rar", "pack/")
    listed = subprocess.run(["lsar", "-t", str(pack)], capture_output=True, text=True)
    assert listed.returncode == 0 and "0 failed" in listed.stdout, listed.stdout + listed.stderr
    result = importer.import_path(pack)
    assert sorted(s["title"] for s in result["songs"]) == ["Alpha", "Beta"]
    assert [f.split("_")[0] for f in stored_folders(webdav)] == ["Band A/Alpha", "Band B/Beta"]
    assert Chart.objects.get(title="Beta").note_counts["guitar"]["expert"] == 30


def test_hostile_or_damaged_rar5_packs_are_refused(webdav, songs_dir, tmp_path):
    rar_backend_or_skip()
    song_ini = (songs_dir / "Alpha" / "song.ini").read_bytes()
    escape = write_rar5(tmp_path / "escape.rar", {"Alpha/song.ini": song_ini, "../../x.txt": b"x"})
    assert_refused(escape, "'..'", webdav)
    absolute = write_rar5(tmp_path / "abs.rar", {"Alpha/song.ini": song_ini, "/etc/x": b"x"})
    assert_refused(absolute, "absolute", webdav)
    damaged = bytearray(rar_folder(songs_dir, tmp_path / "damaged.rar").read_bytes())
    damaged[-40] ^= 0xFF  # inside the last member's data: its CRC no longer matches
    (tmp_path / "damaged.rar").write_bytes(bytes(damaged))
    with pytest.raises(importer.ImportRefused, match="damaged"):
        importer.import_path(tmp_path / "damaged.rar")
    assert Chart.objects.count() == 0 and stored_folders(webdav) == []


def test_the_job_records_progress_per_file_and_cleans_up(webdav, songs_dir, tmp_path):
    good = zip_folder(songs_dir, tmp_path / "good.zip")
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"PK\x03\x04 broken")
    with zipfile.ZipFile(io.BytesIO(), "w"):
        pass
    job = ChartImportJob.objects.create(paths=[str(good), str(bad)],
                                        files=[{"name": "good.zip"}, {"name": "bad.zip"}])
    importer.run_job(job.pk)
    job.refresh_from_db()
    assert job.status == "done"
    first, second = job.files
    assert first["status"] == "done" and len(first["songs"]) == 2 and first["done"] == 2
    assert second["status"] == "refused" and "damaged" in second["error"]
    assert not good.exists() and not bad.exists()
    assert importer.run_job(job.pk) is None  # claimed once only


def test_asset_uploads_go_to_their_folder_with_extension_checks(webdav):
    path = importer.upload_asset("backgrounds", "sky.png", [b"\x89PNG"], size=4)
    assert path == "Backgrounds/sky.png" and (webdav.files / path).read_bytes() == b"\x89PNG"
    with pytest.raises(importer.ImportRefused, match="highways must be"):
        importer.upload_asset("highways", "evil.exe", [b"MZ"])
    with pytest.raises(importer.ImportRefused, match="type must be"):
        importer.upload_asset("songs", "x.png", [b""])


def test_the_import_command_reports_json(webdav, songs_dir, tmp_path, settings):
    env = subprocess_env(settings.SONG_DATA_DIR, NEXTCLOUD_URL=webdav.url,
                         NEXTCLOUD_USERNAME=settings.NEXTCLOUD_USERNAME,
                         NEXTCLOUD_PASSWORD=settings.NEXTCLOUD_PASSWORD)
    archive = zip_folder(songs_dir, tmp_path / "pack.zip")
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"junk")
    done = subprocess.run([sys.executable, "manage.py", "import_charts", str(archive), str(junk)],
                          env=env, capture_output=True, text=True, timeout=120)
    reports = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert done.returncode == 1
    assert [r["status"] for r in reports] == ["done", "refused"] and reports[0]["added"] == 2
