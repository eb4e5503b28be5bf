"""Synthetic audio for the chart generator's tests and bench: click tracks at known tempi, with
an optional louder second half (the structural boundary the sections must find)."""

from pathlib import Path

import numpy as np

PITCHES = (880.0, 1320.0, 660.0, 990.0)  # one per beat of the bar, so lanes have sounds to follow


def click_track(bpm: float, seconds: float = 40.0, sr: int = 44100, start: float = 0.5,
                loud_from: float | None = None, stereo: bool = False,
                accent_every: int = 0):
    """(samples, sample rate, click times). Each click is a 30 ms decaying sine; from
    `loud_from` on, clicks are 3.6× louder and a sustained 220 Hz pad plays under them;
    `accent_every` makes every n-th click an accent."""
    y = np.zeros(int(seconds * sr))
    period, length = 60.0 / bpm, int(0.03 * sr)
    envelope = np.exp(-np.linspace(0, 8, length))
    times, t, beat = [], start, 0
    while t < seconds - 0.2:
        begin = int(round(t * sr))
        amp = 0.9 if loud_from is not None and t >= loud_from else 0.25
        if accent_every and beat % accent_every == 0:
            amp = 0.95
        tone = np.sin(2 * np.pi * PITCHES[beat % 4] * np.arange(length) / sr)
        y[begin:begin + length] += amp * envelope * tone
        times.append(begin / sr)
        t, beat = t + period, beat + 1
    if loud_from is not None:
        begin = int(loud_from * sr)
        y[begin:] += 0.1 * np.sin(2 * np.pi * 220.0 * np.arange(len(y) - begin) / sr)
    return (np.stack([y, y], axis=1) if stereo else y), sr, times


def write(path: Path, samples, sr: int) -> Path:
    import soundfile

    # in blocks: libsndfile's Vorbis encoder crashes on one multi-minute write
    channels = 1 if samples.ndim == 1 else samples.shape[1]
    with soundfile.SoundFile(str(path), "w", sr, channels) as out:
        for start in range(0, len(samples), 1 << 16):
            out.write(samples[start:start + (1 << 16)])
    return path
