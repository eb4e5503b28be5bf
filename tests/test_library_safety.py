"""No lost libraries (#12.1, #12.2): the demo goes into an empty library once; a sync removes
only songs of its own source, a folder import only with --prune, a mass prune only with --yes,
and an empty source is an error."""

import shutil

import pytest
from django.core.management import call_command

from ingestion import pipeline
from ingestion.models import Song, SyncRun
from ingestion.store import SongStore
from tests.conftest import DEMO_SONGS

pytestmark = pytest.mark.django_db(transaction=True)

MY_SONGS = {
    "mine/blue_moon.cho": "{title: Blue Moon}\n[C]Blue moon\n",
    "mine/yesterday.cho": "{title: Yesterday}\n[F]Yesterday\n",
    "mine/let_it_be.cho": "{title: Let It Be}\n[C]When I find\n",
}


@pytest.fixture
def my_folder(tmp_path):
    folder = tmp_path / "my_songs"
    for path, text in MY_SONGS.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text(text)
    return folder


def retrieve(*args):
    """Run the command; its exit code (0 unless it called sys.exit)."""
    try:
        call_command("retrieve_songs", "--concurrency=1", *args)
    except SystemExit as exc:
        return exc.code
    return 0


def ids_by_file():
    return dict(Song.objects.values_list("filename", "id"))


# -- #12.1: the demo songbook -----------------------------------------------------------------
def test_a_restart_keeps_the_users_songs_and_the_demo_ids(my_folder, capsys):
    call_command("bootstrap_demo")
    demo_ids = ids_by_file()
    assert len(demo_ids) == 5
    assert retrieve("--source-dir", str(my_folder)) == 0
    before = ids_by_file()
    assert len(before) == 8

    call_command("bootstrap_demo")  # what every `make run` does

    assert ids_by_file() == before
    assert "installed before" in capsys.readouterr().out


def test_the_demo_is_not_installed_into_a_library_that_has_songs(my_folder, capsys):
    assert retrieve("--source-dir", str(my_folder)) == 0
    call_command("bootstrap_demo")
    assert sorted(ids_by_file()) == sorted(MY_SONGS)
    assert "already has 3 songs" in capsys.readouterr().out
    assert not SyncRun.objects.filter(trigger=SyncRun.Trigger.DEMO).exists()


def test_the_demo_comes_back_only_once_even_if_the_user_empties_the_library():
    call_command("bootstrap_demo")
    Song.objects.all().delete()
    call_command("bootstrap_demo")
    assert Song.objects.count() == 0


# -- #12.2: folder imports add; --prune removes that folder's songs only -----------------------
def test_a_folder_import_keeps_songs_missing_from_the_folder(my_folder, capsys):
    call_command("bootstrap_demo")
    assert retrieve("--source-dir", str(my_folder)) == 0
    (my_folder / "mine/yesterday.cho").unlink()
    assert retrieve("--source-dir", str(my_folder)) == 0
    assert Song.objects.count() == 8
    out = capsys.readouterr().out
    assert "1 songs no longer in the source kept (--prune removes them)" in out


def test_prune_removes_only_songs_from_the_same_folder_and_shows_the_count_first(
        my_folder, settings, capsys):
    call_command("bootstrap_demo")
    demo_ids = ids_by_file()
    assert retrieve("--source-dir", str(my_folder)) == 0
    (my_folder / "mine/yesterday.cho").unlink()
    capsys.readouterr()

    assert retrieve("--source-dir", str(my_folder), "--prune") == 0

    out = capsys.readouterr().out
    assert out.index("Removing 1 of 8 songs") < out.index("Sync #")
    remaining = ids_by_file()
    assert "mine/yesterday.cho" not in remaining and len(remaining) == 7
    assert all(remaining[name] == pk for name, pk in demo_ids.items())
    store = SongStore(settings.SONG_DATA_DIR).load()
    assert not store.source_path("mine/yesterday.cho").exists()
    assert store.entries["mine/blue_moon.cho"].source == f"dir:{my_folder.resolve()}"


def test_a_prune_of_more_than_half_the_library_needs_yes(my_folder, capsys):
    assert retrieve("--source-dir", str(my_folder)) == 0
    for path in ("mine/yesterday.cho", "mine/let_it_be.cho"):
        (my_folder / path).unlink()
    before = ids_by_file()

    assert retrieve("--source-dir", str(my_folder), "--prune") == 2

    out = capsys.readouterr().out
    assert "would remove 2 of 3 songs" in out and "--yes" in out
    assert ids_by_file() == before  # nothing changed
    assert retrieve("--source-dir", str(my_folder), "--prune", "--yes") == 0
    assert list(ids_by_file()) == ["mine/blue_moon.cho"]


@pytest.mark.parametrize("make_source", [
    lambda tmp: tmp / "no_such_folder",
    lambda tmp: (tmp / "empty").mkdir() or tmp / "empty",
    lambda tmp: ((tmp / "notes").mkdir(), (tmp / "notes" / "readme.txt").write_text("hi"))
    and tmp / "notes",
], ids=["missing", "empty", "no-chordpro"])
def test_an_empty_or_missing_folder_is_an_error_that_removes_nothing(
        make_source, my_folder, tmp_path, capsys):
    assert retrieve("--source-dir", str(my_folder)) == 0
    before = ids_by_file()
    source = make_source(tmp_path)

    assert retrieve("--source-dir", str(source), "--prune", "--yes") == 2

    out = capsys.readouterr().out
    assert str(source) in out and "FAILED" in out
    assert ids_by_file() == before
    assert SyncRun.objects.latest("pk").status == SyncRun.Status.FAILED


# -- the GitHub source and the Celery sync task: mirror their own repo, nothing else -----------
def test_a_github_sync_mirrors_its_repo_and_keeps_songs_imported_from_folders(
        github, my_folder):
    assert retrieve("--source-dir", str(my_folder)) == 0
    assert retrieve() == 0
    mine = {name: pk for name, pk in ids_by_file().items() if name.startswith("mine/")}
    github.delete("hymns/it_is_well.cho")

    assert retrieve() == 0  # GitHub prunes by default: it owns its repository

    remaining = ids_by_file()
    assert "hymns/it_is_well.cho" not in remaining and len(remaining) == 7
    assert {name: remaining[name] for name in mine} == mine


def test_the_celery_sync_task_follows_the_same_rules(github, my_folder):
    from ingestion.tasks import sync_songs

    assert retrieve("--source-dir", str(my_folder)) == 0
    sync_songs(options={"source": "github"})  # what beat runs
    assert Song.objects.count() == 8
    for path in list(github.files()):
        if path != "doxology.cho":
            github.delete(path)

    sync_songs(options={"source": "github"})  # 4 of 8 is not more than half: allowed
    assert Song.objects.count() == 4
    github.delete("doxology.cho")
    github.write("other.txt", "not a song")

    sync_songs(options={"source": "github"})  # an empty repository is an error
    run = SyncRun.objects.latest("pk")
    assert run.status == SyncRun.Status.FAILED and "has no ChordPro files" in run.message
    assert Song.objects.count() == 4


def test_a_sync_task_refuses_a_mass_prune_and_records_why(github):
    from ingestion.tasks import sync_songs

    sync_songs(options={"source": "github"})
    for path in ("hymns/it_is_well.cho", "hymns/holy_holy_holy.cho", "hymns/amazing_grace.cho"):
        github.delete(path)
    sync_songs(options={"source": "github"})
    run = SyncRun.objects.latest("pk")
    assert run.status == SyncRun.Status.FAILED and "would remove 3 of 5 songs" in run.message
    assert Song.objects.count() == 5


def test_no_sync_treats_the_songs_folder_as_the_whole_library(settings, my_folder):
    assert retrieve("--source-dir", str(my_folder)) == 0
    assert retrieve("--source-dir", str(DEMO_SONGS)) == 0
    (settings.SONG_DATA_DIR / "songs" / "mine" / "yesterday.cho").unlink()
    assert retrieve("--no-sync") == 0  # a file deleted from the songs folder is gone for good
    assert Song.objects.count() == 7


def test_songs_stored_before_sources_were_recorded_are_never_pruned(my_folder, settings):
    assert retrieve("--source-dir", str(my_folder)) == 0
    store = SongStore(settings.SONG_DATA_DIR).load()
    for entry in store.entries.values():
        entry.source = ""
    store.save()
    shutil.rmtree(my_folder / "mine")
    (my_folder / "new.cho").write_text("{title: New}\n")
    report = pipeline.run_sync(pipeline.SyncOptions(
        source="dir", source_dir=str(my_folder), prune=True, concurrency=1))
    assert report.exit_code == 0 and report.removed == 0
    assert Song.objects.count() == 4
