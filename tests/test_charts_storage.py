"""Chart storage: the same contract on the local folder and on a real WebDAV server."""

import pytest

from charts.storage import LocalStorage, WebDAVStorage, get_storage
from charts.storage.base import (
    AuthFailed, InsufficientStorage, NotFound, Unavailable, UnsafePath, confine,
)
from tests.fakes.webdav import PASSWORD, USER


@pytest.fixture(params=["local", "webdav"])
def store(request, tmp_path, settings):
    if request.param == "local":
        yield LocalStorage(tmp_path / "local-root")
        return
    server = request.getfixturevalue("webdav")
    yield WebDAVStorage(server.url, USER, PASSWORD, "CloneHero", timeout=10, backoff=0.01)


@pytest.mark.parametrize("path", ["../etc/passwd", "/etc/passwd", "Songs/../../x", "a/%2e%2e/b",
                                  "a/%252e%252e/b", "a\\..\\b", "C:/x", "a/\x00b", "a/%2fb"])
def test_it_refuses_paths_that_leave_the_root(path):
    with pytest.raises(UnsafePath):
        confine(path)


def test_it_normalises_harmless_paths():
    assert confine("Songs//A/./B/") == "Songs/A/B"
    assert confine("") == ""


def test_it_round_trips_files_and_folders(store):
    store.mkdir("Songs/Artist/Title_1")  # parents created as needed
    store.write("Songs/Artist/Title_1/notes.chart", iter([b"abc", b"def"]), size=6)
    assert store.read_bytes("Songs/Artist/Title_1/notes.chart") == b"abcdef"
    assert b"".join(store.open_read("Songs/Artist/Title_1/notes.chart", 2, 4)) == b"cde"
    entry = store.stat("Songs/Artist/Title_1/notes.chart")
    assert (entry.is_dir, entry.size, entry.name) == (False, 6, "notes.chart") and entry.etag
    listed = store.list("Songs/Artist/Title_1")
    assert [e.path for e in listed] == ["Songs/Artist/Title_1/notes.chart"]
    walked = sorted(e.path for e in store.walk("Songs"))
    assert walked == ["Songs/Artist", "Songs/Artist/Title_1", "Songs/Artist/Title_1/notes.chart"]
    store.move("Songs/Artist/Title_1/notes.chart", "Songs/Artist/Title_1/renamed.chart")
    assert not store.exists("Songs/Artist/Title_1/notes.chart")
    store.delete("Songs/Artist")
    assert not store.exists("Songs/Artist")
    with pytest.raises(NotFound):
        store.read_bytes("Songs/Artist/Title_1/renamed.chart")


def test_it_changes_the_etag_when_a_file_is_rewritten(store):
    store.mkdir("A")
    store.write("A/f.txt", b"one")
    first = store.stat("A/f.txt").etag
    store.write_atomic("A/f.txt", b"two, longer")
    assert store.stat("A/f.txt").etag != first
    assert not store.exists("A/f.txt.tmp")


def test_it_refuses_unsafe_paths_on_every_operation(store):
    for call in (lambda: store.read_bytes("../x"), lambda: store.write("../x", b""),
                 lambda: store.mkdir("a/../../b"), lambda: store.delete(""),
                 lambda: store.move("a", "/etc/x"), lambda: store.list("%2e%2e")):
        with pytest.raises(UnsafePath):
            call()


def test_local_storage_refuses_symlinks(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("s")
    root = tmp_path / "root"
    root.mkdir()
    (root / "link").symlink_to(outside)
    store = LocalStorage(root)
    with pytest.raises(UnsafePath):
        store.read_bytes("link/secret")
    assert [e.path for e in store.walk("")] == []  # the link is not followed


def test_webdav_retries_server_errors_then_succeeds(webdav):
    store = WebDAVStorage(webdav.url, USER, PASSWORD, "CloneHero", backoff=0.01)
    store.mkdir("Songs")
    webdav.fail_next("PUT", 503, times=2)
    store.write("Songs/x.txt", b"hello")
    assert store.read_bytes("Songs/x.txt") == b"hello"
    assert store.counts["PUT"] == 3


def test_webdav_gives_up_after_bounded_retries(webdav):
    store = WebDAVStorage(webdav.url, USER, PASSWORD, "CloneHero", attempts=3, backoff=0.01)
    webdav.fail_next("PROPFIND", 502, times=5)
    with pytest.raises(Unavailable, match="502"):
        store.list("")
    assert store.counts["PROPFIND"] == 3


def test_webdav_maps_auth_and_quota_errors(webdav):
    with pytest.raises(AuthFailed, match="credentials"):
        WebDAVStorage(webdav.url, USER, "wrong", "CloneHero").list("")
    store = WebDAVStorage(webdav.url, USER, PASSWORD, "CloneHero")
    webdav.fail_next("PUT", 507)
    with pytest.raises(InsufficientStorage):
        store.write("x.bin", b"data")


def test_webdav_falls_back_to_a_direct_put_when_move_is_refused(webdav):
    store = WebDAVStorage(webdav.url, USER, PASSWORD, "CloneHero")
    webdav.refuse_move = True
    store.write_atomic("song.ini", b"[song]\nname = x\n")
    assert store.read_bytes("song.ini") == b"[song]\nname = x\n"
    assert webdav.counts["MOVE"] == 1


def test_webdav_walks_level_by_level_when_infinity_is_refused(webdav):
    store = WebDAVStorage(webdav.url, USER, PASSWORD, "CloneHero")
    store.mkdir("Songs/A/B")
    store.write("Songs/A/B/song.ini", b"x")
    webdav.allow_infinity = False
    paths = sorted(e.path for e in store.walk("Songs"))
    assert paths == ["Songs/A", "Songs/A/B", "Songs/A/B/song.ini"]


def test_webdav_streams_large_files_without_holding_them(webdav):
    store = WebDAVStorage(webdav.url, USER, PASSWORD, "CloneHero")
    size = 20 * 2**20
    store.write("big.bin", (b"x" * 2**20 for _ in range(20)), size=size)
    chunks = list(store.open_read("big.bin"))
    assert sum(map(len, chunks)) == size and max(map(len, chunks)) <= 256 * 1024


def test_settings_choose_the_backend(settings, webdav):
    assert isinstance(get_storage(), WebDAVStorage)
    settings.NEXTCLOUD_URL = ""
    assert isinstance(get_storage(), LocalStorage)


def test_a_file_deleted_while_its_folder_is_listed_is_left_out(tmp_path, monkeypatch):
    """Found by schemathesis: a listing racing a concurrent delete answered 500 (the file
    iterdir had seen was gone by its lstat)."""
    import os
    from pathlib import Path

    root = tmp_path / "root"
    root.mkdir()
    store = LocalStorage(root)
    for name in ("a.ini", "b.ogg"):
        (root / name).write_text(name)
    real_iterdir, real_walk = Path.iterdir, os.walk

    def iterdir_then_delete(self):
        children = list(real_iterdir(self))
        (root / "b.ogg").unlink(missing_ok=True)  # another request deletes it just now
        return iter(children)

    monkeypatch.setattr(Path, "iterdir", iterdir_then_delete)
    assert [e.path for e in store.list("")] == ["a.ini"]

    (root / "b.ogg").write_text("b")

    def walk_then_delete(top, *args, **kwargs):
        for step in real_walk(top, *args, **kwargs):
            (root / "b.ogg").unlink(missing_ok=True)
            yield step

    monkeypatch.setattr(os, "walk", walk_then_delete)
    assert [e.path for e in store.walk("")] == ["a.ini"]
