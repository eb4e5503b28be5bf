"""Chart-library fixtures and builders: a loopback WebDAV server and synthetic song folders.

Registered as a pytest plugin in conftest.py.
"""

from __future__ import annotations

import pytest

from tests.fakes.webdav import PASSWORD, USER, FakeWebDAV


@pytest.fixture
def webdav(settings, tmp_path):
    """A real wsgidav server on loopback, and settings pointing songhub's storage at it."""
    root = tmp_path / "nextcloud"
    (root / "CloneHero").mkdir(parents=True)
    server = FakeWebDAV(root).start()
    settings.NEXTCLOUD_URL = server.url
    settings.NEXTCLOUD_USERNAME = USER
    settings.NEXTCLOUD_PASSWORD = PASSWORD
    settings.NEXTCLOUD_REMOTE_PATH = "CloneHero"
    settings.NEXTCLOUD_TIMEOUT_SECONDS = 10
    server.files = root / "CloneHero"
    yield server
    server.stop()


def chart_text(title="Song", artist="Band", resolution=192, bpm=120, notes=64,
               instrument="ExpertSingle", star_power=2, extra_sections="") -> str:
    """A valid notes.chart: one note per beat on `instrument`, with star-power phrases."""
    lines = ["[Song]", "{", f'  Name = "{title}"', f'  Artist = "{artist}"',
             f"  Resolution = {resolution}", "  Offset = 0", '  MusicStream = "song.ogg"', "}",
             "[SyncTrack]", "{", "  0 = TS 4", f"  0 = B {bpm * 1000}", "}",
             "[Events]", "{", '  0 = E "section Intro"', f'  {resolution * 8} = E "section Verse"',
             "}", f"[{instrument}]", "{"]
    for i in range(star_power):
        lines.append(f"  {i * resolution * 8} = S 2 {resolution * 4}")
    for i in range(notes):
        lines.append(f"  {i * resolution} = N {i % 5} 0")
    lines.append("}")
    return "\r\n".join(lines) + "\r\n" + extra_sections


def song_ini(title="Song", artist="Band", charter="Someone", extra: dict | None = None) -> str:
    fields = {"name": title, "artist": artist, "charter": charter, "diff_guitar": "3",
              **(extra or {})}
    return "[song]\r\n" + "".join(f"{k} = {v}\r\n" for k, v in fields.items())


def make_song_folder(folder, title="Song", artist="Band", notes=64, ini: str | None = None,
                     audio: bytes = b"OggS" + b"\0" * 60):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "song.ini").write_text(ini if ini is not None else song_ini(title, artist),
                                     newline="")
    (folder / "notes.chart").write_text(chart_text(title, artist, notes=notes), newline="")
    if audio is not None:
        (folder / "song.ogg").write_bytes(audio)
    return folder
