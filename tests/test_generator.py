"""The chart generator on synthetic audio with known answers: click tracks at known tempi and a
signal whose second half is louder (charts.generator; the job, API and storage flow are tested
with the chart library)."""

import re

import numpy as np
import pytest

from charts import generator
from charts.generator import ChartMeta, GeneratorError, TempoMap
from tests.synth_audio import click_track, write

META = ChartMeta(title="Click", artist="Metronome")


def chart_notes(chart: str, level: str) -> list[tuple[int, int, int]]:
    """(tick, lane, length) of every note in one difficulty section."""
    body = chart.split(f"[{level}Single]")[1].split("}")[0]
    return [tuple(map(int, m)) for m in re.findall(r"(\d+) = N (\d) (\d+)", body)]


@pytest.fixture(scope="module")
def clicks(tmp_path_factory):
    """bpm -> (analysis, chart text, click times), analysed once per module."""
    folder = tmp_path_factory.mktemp("clicks")
    made = {}
    for bpm in (90, 120, 128, 174):
        samples, sr, times = click_track(bpm)
        analysis = generator.analyze(write(folder / f"c{bpm}.wav", samples, sr))
        made[bpm] = analysis, generator.build_chart(analysis, META)[0], times
    return made


@pytest.mark.parametrize("bpm", [90, 120, 128, 174])
def test_it_detects_the_tempo_within_one_bpm(clicks, bpm):
    analysis, _, _ = clicks[bpm]
    assert abs(analysis.tempo - bpm) <= 1


@pytest.mark.parametrize("bpm", [90, 120, 128, 174])
def test_every_expert_note_lies_within_25_ms_of_a_click(clicks, bpm):
    analysis, chart, times = clicks[bpm]
    grid = TempoMap(analysis.beats)
    notes = chart_notes(chart, "Expert")
    assert len(notes) >= 0.9 * len(times)  # nearly every click is charted
    for tick, _, _ in notes:
        assert min(abs(grid.seconds(tick) - t) for t in times) <= 0.025, tick


@pytest.mark.parametrize("bpm", [90, 174])
def test_difficulties_reduce_expert(clicks, bpm):
    _, chart, _ = clicks[bpm]
    counts = [len({t for t, _, _ in chart_notes(chart, level)}) for level in generator.DIFFICULTIES]
    assert counts == sorted(counts, reverse=True) and counts[-1] > 0
    easy, medium = chart_notes(chart, "Easy"), chart_notes(chart, "Medium")
    assert {lane for _, lane, _ in easy} <= {0, 1, 2}
    assert {lane for _, lane, _ in medium} <= {0, 1, 2, 3}
    for level in ("Medium", "Easy"):
        ticks = [t for t, _, _ in chart_notes(chart, level)]
        assert len(ticks) == len(set(ticks)), f"{level} has chords"
    gaps = {level: min(np.diff(sorted({t for t, _, _ in chart_notes(chart, level)})))
            for level in generator.DIFFICULTIES}
    assert gaps["Easy"] >= gaps["Medium"] >= gaps["Hard"] >= gaps["Expert"]


def test_lanes_follow_the_sound(clicks):
    """The clicks cycle through four pitches: each pitch keeps its fret."""
    analysis, chart, times = clicks[120]
    grid = TempoMap(analysis.beats)
    by_pitch: dict[int, set[int]] = {}
    for tick, lane, _ in chart_notes(chart, "Expert"):
        index = min(range(len(times)), key=lambda i: abs(times[i] - grid.seconds(tick)))
        by_pitch.setdefault(index % 4, set()).add(lane)
    assert len(by_pitch) == 4 and sum(len(lanes) for lanes in by_pitch.values()) <= 6


def test_chords_fall_on_accents_at_expert_and_hard_only(tmp_path):
    samples, sr, times = click_track(110, seconds=30, accent_every=4)
    analysis = generator.analyze(write(tmp_path / "accents.wav", samples, sr))
    chart = generator.build_chart(analysis, META)[0]
    grid = TempoMap(analysis.beats)
    for level in ("Expert", "Hard"):
        ticks = [t for t, _, _ in chart_notes(chart, level)]
        chords = {t for t in ticks if ticks.count(t) > 1}
        assert chords, level
        for tick in chords:  # only on the accented clicks
            index = min(range(len(times)), key=lambda i: abs(times[i] - grid.seconds(tick)))
            assert index % 4 == 0


def test_the_tempo_map_puts_a_b_event_on_the_beats_and_the_chart_is_well_formed(clicks):
    _, chart, _ = clicks[128]
    for section in ("[Song]", "[SyncTrack]", "[Events]", "[ExpertSingle]", "[HardSingle]",
                    "[MediumSingle]", "[EasySingle]"):
        assert section in chart
    assert "Resolution = 192" in chart and 'MusicStream = "song.ogg"' in chart
    tempos = re.findall(r"(\d+) = B (\d+)", chart)
    assert tempos and all(int(tick) % 192 == 0 for tick, _ in tempos)
    assert any(abs(int(milli) - 128_000) <= 50 for _, milli in tempos)
    assert re.search(r"\d+ = S 2 \d+", chart.split("[ExpertSingle]")[1]), "no star power"


def test_double_time_is_folded_back(tmp_path):
    samples, sr, _ = click_track(240, seconds=30)
    analysis = generator.analyze(write(tmp_path / "fast.wav", samples, sr))
    assert abs(analysis.tempo - 120) <= 1 or abs(analysis.tempo - 240) <= 1
    assert 70 <= analysis.tempo < 180


def test_a_section_starts_at_the_loud_boundary(tmp_path):
    samples, sr, _ = click_track(120, seconds=60, loud_from=30.0, stereo=True)
    audio = write(tmp_path / "two.flac", samples, sr)
    summary = generator.generate(audio, tmp_path / "out", META)
    analysis = generator.analyze(audio)
    beat = 0.5
    assert any(abs(start - 30.0) <= beat for start in analysis.sections), analysis.sections
    ini = (tmp_path / "out" / "song.ini").read_text()
    preview = int(re.search(r"preview_start_time = (\d+)", ini).group(1))
    assert abs(preview - 30_000) <= 500  # the loud half is the most energetic section
    chart = (tmp_path / "out" / "notes.chart").read_text()
    assert 'E "section' in chart and (tmp_path / "out" / "song.flac").exists()
    assert summary["notes"]["Expert"] > summary["notes"]["Easy"] > 0
    assert "charter = Songhub generator" in ini and "diff_guitar = " in ini


def test_the_same_audio_gives_the_same_bytes(tmp_path):
    samples, sr, _ = click_track(100, seconds=20)
    audio = write(tmp_path / "a.ogg", samples, sr)
    generator.generate(audio, tmp_path / "one", META)
    generator.generate(audio, tmp_path / "two", META)
    for name in ("notes.chart", "song.ini"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


def test_bad_input_is_refused_with_a_clear_error_and_writes_nothing(tmp_path):
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" + bytes(range(256)) * 40)
    silent = write(tmp_path / "silent.wav", np.zeros(44100 * 5), 44100)
    long = write(tmp_path / "long.flac", np.zeros(16 * 60 * 1000, dtype=np.int16), 1000)
    text = tmp_path / "notes.txt"
    text.write_text("not audio")
    small = write(tmp_path / "small.wav", click_track(120, seconds=5)[0], 44100)
    cases = [(corrupt, None, "cannot be decoded"), (silent, None, "silent"),
             (long, None, "limit is 15 min"), (text, None, "not a supported audio file"),
             (small, 1000, "the limit is")]
    for audio, max_bytes, message in cases:
        out = tmp_path / f"out-{audio.stem}"
        with pytest.raises(GeneratorError, match=message):
            generator.generate(audio, out, META, max_bytes=max_bytes)
        assert not out.exists()
