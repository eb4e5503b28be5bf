"""Audio → playable Clone Hero chart: the analysis and the chart writer, no storage and no Django.

`analyze(path)` decodes the audio and finds the beats (tempo map), onsets with strengths, a
timbre feature per onset, sustains and sections; `build_chart(analysis, meta)` turns that into
the text of a `notes.chart` (resolution 192) with Expert/Hard/Medium/Easy guitar and a matching
`song.ini`. The same bytes in give the same chart out: nothing here is random.

Design choices, each for a reason:
- Beats anchor the grid: a `B` event on every beat, so notes snapped to 1/4 beat stay on the
  music when a live tempo drifts. Tempi are folded into 70–180 BPM (a detected 240 becomes 120
  with the beat list halved; 60 becomes 120 with beats interpolated), so the chart reads at a
  normal speed whatever octave the tracker picked.
- Lanes follow the sound: onsets are grouped by timbre (spectral centroid band + dominant pitch
  class); a group keeps the fret it had last time, and a new group moves the hand in the
  direction the centroid moved. At high density the hand moves at most one fret.
- Difficulties are reductions of Expert, not separate analyses: fewer, stronger onsets with a
  minimum gap that doubles each step down; Medium folds onto 4 frets, Easy onto 3, no chords.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

RESOLUTION = 192
SAMPLE_RATE = 22050
HOP = 512
MAX_DURATION_SECONDS = 15 * 60
AUDIO_EXTENSIONS = {".ogg", ".opus", ".mp3", ".wav", ".flac"}
DIFFICULTIES = ("Expert", "Hard", "Medium", "Easy")
# minimum ticks between two notes, lanes, chords allowed, share of onsets kept (by strength)
LEVELS = {
    "Expert": {"gap": RESOLUTION // 4, "lanes": 5, "chords": True, "keep": 1.0},
    "Hard": {"gap": RESOLUTION // 2, "lanes": 5, "chords": True, "keep": 0.75},
    "Medium": {"gap": RESOLUTION, "lanes": 4, "chords": False, "keep": 0.5},
    "Easy": {"gap": RESOLUTION * 2, "lanes": 3, "chords": False, "keep": 0.35},
}
STAGES = ("decoding", "beats", "onsets", "charting", "uploading", "done")


class GeneratorError(ValueError):
    """Input that cannot become a chart (not audio, corrupt, silent, too long); the message is
    shown to the user as it is."""


@dataclass
class Onset:
    time: float
    strength: float  # 0..1, relative to the song's strongest onset
    centroid: float  # Hz, spectral centroid at the onset
    pitch_class: int  # 0..11, strongest chroma bin
    sustain: float  # seconds the onset's energy stays up (0: a short hit)


@dataclass
class Analysis:
    duration: float
    tempo: float  # BPM after folding into 70–180
    beats: list[float]  # seconds, one per beat (after folding)
    onsets: list[Onset]
    sections: list[float]  # section start times, seconds; the first is 0
    section_energy: list[float]  # mean RMS per section
    audio_sha256: str = ""
    stage_seconds: dict[str, float] = field(default_factory=dict)


# --- analysis ---------------------------------------------------------------------------------
def check_audio(path: Path, max_bytes: int | None = None) -> float:
    """Refuse what cannot be analysed before decoding it; returns the duration in seconds."""
    import soundfile

    path = Path(path)
    if path.suffix.lower() not in AUDIO_EXTENSIONS:
        raise GeneratorError(f"{path.name}: not a supported audio file "
                             f"({', '.join(sorted(AUDIO_EXTENSIONS))}).")
    size = path.stat().st_size
    if max_bytes is not None and size > max_bytes:
        raise GeneratorError(f"{path.name} is {size / 2**20:.0f} MB; the limit is "
                             f"{max_bytes / 2**20:.0f} MB.")
    try:
        info = soundfile.info(str(path))
    except (RuntimeError, soundfile.LibsndfileError) as exc:
        raise GeneratorError(f"{path.name} cannot be decoded as audio: {exc}") from None
    duration = info.frames / info.samplerate if info.samplerate else 0.0
    if duration <= 1.0:
        raise GeneratorError(f"{path.name} is too short to chart ({duration:.1f} s).")
    if duration > MAX_DURATION_SECONDS:
        raise GeneratorError(f"{path.name} lasts {duration / 60:.1f} min; the limit is 15 min.")
    return duration


def analyze(path: Path, progress=lambda stage, percent: None, max_bytes: int | None = None
            ) -> Analysis:
    """Decode `path` and find everything the chart needs. Raises GeneratorError."""
    import hashlib
    import time

    import librosa
    import numpy as np

    clock = {"t": time.perf_counter()}
    stage_seconds: dict[str, float] = {}

    def lap(stage: str, percent: int):
        now = time.perf_counter()
        stage_seconds[stage] = round(now - clock["t"], 3)
        clock["t"] = now
        progress(stage, percent)

    check_audio(path, max_bytes)
    progress("decoding", 0)
    try:
        y, sr = librosa.load(str(path), sr=SAMPLE_RATE, mono=True, res_type="soxr_hq")
    except Exception as exc:  # libsndfile/audioread raise many types for corrupt input
        raise GeneratorError(f"{Path(path).name} cannot be decoded as audio: {exc}") from None
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    duration = len(y) / sr
    rms = librosa.feature.rms(y=y, hop_length=HOP)[0]
    if not np.isfinite(y).all() or float(rms.max(initial=0.0)) < 1e-3:
        raise GeneratorError(f"{Path(path).name} is silent: there is nothing to chart.")
    lap("decoding", 15)

    onset_env = librosa.onset.onset_strength(y=y, sr=sr, hop_length=HOP)
    tempo, beat_frames = librosa.beat.beat_track(onset_envelope=onset_env, sr=sr,
                                                 hop_length=HOP, units="frames")
    onset_frames = librosa.onset.onset_detect(onset_envelope=onset_env, sr=sr, hop_length=HOP,
                                              units="frames", backtrack=False)
    attacks = refine_attacks(y, sr, librosa.frames_to_time(onset_frames, sr=sr, hop_length=HOP))
    beats = librosa.frames_to_time(beat_frames, sr=sr, hop_length=HOP)
    if len(beats) < 4 or not float(np.atleast_1d(tempo)[0]):
        raise GeneratorError(f"{Path(path).name}: no steady beat found; nothing to chart.")
    beats = snap_beats_to_attacks(beats, attacks)
    beats, tempo = fold_tempo(extend_beats(beats, duration), beat_tempo(beats))
    lap("beats", 35)

    spectral = np.abs(librosa.stft(y, hop_length=HOP))
    centroid = librosa.feature.spectral_centroid(S=spectral, sr=sr)[0]
    chroma = librosa.feature.chroma_stft(S=spectral**2, sr=sr)
    peak = float(onset_env[onset_frames].max(initial=0.0)) or 1.0
    frame_seconds = HOP / sr
    onsets = []
    for frame, attack in zip(onset_frames, attacks):
        frame = int(frame)
        onsets.append(Onset(
            time=float(attack),
            strength=float(onset_env[frame] / peak),
            centroid=float(centroid[min(frame, len(centroid) - 1)]),
            pitch_class=int(np.argmax(chroma[:, min(frame, chroma.shape[1] - 1)])),
            sustain=sustain_seconds(rms, frame, frame_seconds),
        ))
    lap("onsets", 55)

    sections = find_sections(y, sr, beats, rms)
    section_energy = []
    bounds = sections + [duration]
    for start, end in zip(bounds, bounds[1:]):
        a, b = int(start / frame_seconds), max(int(start / frame_seconds) + 1,
                                               int(end / frame_seconds))
        section_energy.append(float(rms[a:b].mean()) if b <= len(rms) else float(rms[a:].mean()))
    lap("sections", 65)
    return Analysis(duration=duration, tempo=tempo, beats=beats, onsets=onsets,
                    sections=sections, section_energy=section_energy, audio_sha256=digest,
                    stage_seconds=stage_seconds)


def refine_attacks(y, sr: int, times) -> list[float]:
    """Move each detected onset (frame-quantised, ~10–30 ms late) to where the signal's
    envelope first reaches half of its local peak: the attack a player hits on."""
    import numpy as np

    refined, previous = [], -1.0
    magnitude = np.abs(y)
    for t in times:
        start = max(0, int((max(t - 0.05, previous + 0.02)) * sr))
        end = min(len(y), int((t + 0.03) * sr))
        window = magnitude[start:end]
        if len(window) < 8:
            refined.append(float(t))
            continue
        peak = window.max()
        first = int(np.argmax(window >= 0.5 * peak))
        refined.append(float((start + first) / sr))
        previous = refined[-1]
    return refined


def snap_beats_to_attacks(beats, attacks: list[float], reach: float = 0.06) -> list[float]:
    """A beat within `reach` of an attack sits on it (the tracker's beats are frame-quantised)."""
    import bisect

    snapped = []
    for beat in beats:
        i = bisect.bisect_left(attacks, beat)
        near = [a for a in attacks[max(0, i - 1):i + 1] if abs(a - beat) <= reach]
        snapped.append(min(near, key=lambda a: abs(a - beat)) if near else float(beat))
    return sorted(set(snapped))


def beat_tempo(beats: list[float]) -> float:
    """BPM from a least-squares line through the beat times (robust to one late beat)."""
    import numpy as np

    slope = float(np.polyfit(np.arange(len(beats)), np.asarray(beats), 1)[0])
    return 60.0 / slope


def extend_beats(beats: list[float], duration: float) -> list[float]:
    """Carry the first and last beat periods out to the start and end of the audio, so onsets
    the tracker left outside its beats still land on a grid that follows the music."""
    beats = list(beats)
    first, last = beats[1] - beats[0], beats[-1] - beats[-2]
    while beats[0] - first >= 0:
        beats.insert(0, beats[0] - first)
    while beats[-1] + last <= duration:
        beats.append(beats[-1] + last)
    return beats


def fold_tempo(beats: list[float], tempo: float) -> tuple[list[float], float]:
    """Fold the tracker's tempo into 70–180 BPM, halving or doubling the beat list with it."""
    while tempo >= 180 and len(beats) >= 8:
        beats, tempo = beats[::2], tempo / 2
    while tempo < 70:
        beats = [t for a, b in zip(beats, beats[1:]) for t in (a, (a + b) / 2)] + beats[-1:]
        tempo *= 2
    return beats, tempo


def sustain_seconds(rms, frame: int, frame_seconds: float) -> float:
    """How long the energy after an onset stays above 60 % of its peak (0 for a short hit)."""
    end = min(len(rms), frame + int(4.0 / frame_seconds))
    window = rms[frame:end]
    if len(window) < 2:
        return 0.0
    peak = window[: max(1, int(0.05 / frame_seconds))].max()
    below = (window < 0.6 * peak).nonzero()[0]
    length = (below[0] if len(below) else len(window)) * frame_seconds
    return float(length) if length >= 0.3 else 0.0


def find_sections(y, sr: int, beats: list[float], rms) -> list[float]:
    """Section starts at the peaks of a checkerboard novelty curve over beat-synchronous timbre
    and loudness (Foote's method), at least 8 beats apart; always starts with 0."""
    import librosa
    import numpy as np

    beat_frames = librosa.time_to_frames(beats, sr=sr, hop_length=HOP)
    mfcc = librosa.feature.mfcc(y=y, sr=sr, hop_length=HOP, n_mfcc=13)
    loud = librosa.amplitude_to_db(rms[np.newaxis, :], ref=1.0)
    features = np.vstack([mfcc[1:], loud[:, : mfcc.shape[1]] / 3.0])
    sync = librosa.util.sync(features, beat_frames, aggregate=np.median)
    if sync.shape[1] < 16:
        return [0.0]
    sync = (sync - sync.mean(axis=1, keepdims=True)) / (sync.std(axis=1, keepdims=True) + 1e-9)
    distance = np.linalg.norm(sync[:, :, None] - sync[:, None, :], axis=0)
    similarity = -distance
    width = 8
    kernel = np.kron(np.array([[1, -1], [-1, 1]]), np.ones((width, width)))
    kernel *= np.outer(np.hanning(2 * width), np.hanning(2 * width))
    n = similarity.shape[0]
    padded = np.pad(similarity, width, mode="edge")
    novelty = np.array([float((padded[i:i + 2 * width, i:i + 2 * width] * kernel).sum())
                        for i in range(n)])
    novelty = np.maximum(novelty, 0)
    if novelty.max() <= 0:
        return [0.0]
    novelty /= novelty.max()
    # sync column i covers beats[i-1]..beats[i] (column 0 is the lead-in before beat 0)
    chosen: list[int] = []
    for i in map(int, np.argsort(-novelty)):
        if novelty[i] < 0.35:
            break
        if width // 2 <= i <= n - width // 2 and all(abs(i - j) >= width for j in chosen):
            chosen.append(i)
    return [0.0] + sorted(round(beats[i - 1], 3) for i in chosen)


# --- the grid ---------------------------------------------------------------------------------
class TempoMap:
    """Seconds ↔ ticks through one anchor per beat: beat i sits at tick `lead + i * 192`."""

    def __init__(self, beats: list[float]):
        period = beats[1] - beats[0]
        if beats[0] < 0.25 * period:  # the first beat is (almost) at 0: it becomes tick 0
            self.anchors_s = [0.0] + list(beats[1:])
            self.anchors_t = [i * RESOLUTION for i in range(len(beats))]
        else:  # one beat of lead-in from 0 to the first beat (at most 4× the song's tempo)
            self.anchors_s = [0.0] + list(beats)
            self.anchors_t = [i * RESOLUTION for i in range(len(beats) + 1)]

    def tick(self, seconds: float) -> float:
        import bisect

        s, t = self.anchors_s, self.anchors_t
        i = max(0, min(len(s) - 2, bisect.bisect_right(s, seconds) - 1))
        return t[i] + (seconds - s[i]) * (t[i + 1] - t[i]) / (s[i + 1] - s[i])

    def seconds(self, tick: float) -> float:
        import bisect

        s, t = self.anchors_s, self.anchors_t
        i = max(0, min(len(t) - 2, bisect.bisect_right(t, tick) - 1))
        return s[i] + (tick - t[i]) * (s[i + 1] - s[i]) / (t[i + 1] - t[i])

    def tempo_events(self) -> list[tuple[int, int]]:
        """(tick, BPM × 1000) on every anchor whose segment's tempo differs from the last."""
        events, last = [], None
        for (s0, s1), (t0, t1) in zip(zip(self.anchors_s, self.anchors_s[1:]),
                                      zip(self.anchors_t, self.anchors_t[1:])):
            milli_bpm = round(60_000 * (t1 - t0) / RESOLUTION / (s1 - s0))
            if milli_bpm != last:
                events.append((t0, milli_bpm))
                last = milli_bpm
        return events


def snap(tick: float, step: int = RESOLUTION // 4) -> int:
    return int(round(tick / step) * step)


# --- notes ------------------------------------------------------------------------------------
@dataclass
class Note:
    tick: int
    lanes: tuple[int, ...]
    length: int = 0


def expert_notes(analysis: Analysis, grid: TempoMap) -> list[tuple[Note, Onset]]:
    """Every onset on the 1/4-beat grid with a fret chosen by its sound; one note per slot."""
    import numpy as np

    onsets = analysis.onsets
    if not onsets:
        return []
    centroids = np.array([o.centroid for o in onsets])
    bands = np.quantile(centroids, [0.2, 0.4, 0.6, 0.8]) if len(onsets) >= 5 else []
    strengths = [o.strength for o in onsets]
    # an accent stands out from the rest: in the top tenth AND well above the typical onset
    accents = max(float(np.quantile(strengths, 0.9)), 1.5 * float(np.median(strengths)))
    memory: dict[tuple[int, int], int] = {}
    notes: list[tuple[Note, Onset]] = []
    lane, last_centroid, last_tick = 2, None, None
    for onset in sorted(onsets, key=lambda o: o.time):
        tick = snap(grid.tick(onset.time))
        if last_tick is not None and tick <= last_tick:
            continue  # one note per grid slot: the first (earliest) onset wins
        sound = (int(np.searchsorted(bands, onset.centroid)) if len(bands) else 0,
                 onset.pitch_class)
        dense = last_tick is not None and tick - last_tick < RESOLUTION // 2
        if sound in memory:
            wanted = memory[sound]
        elif last_centroid is None:
            wanted = min(4, sound[0])
        else:
            ratio = onset.centroid / max(last_centroid, 1.0)
            step = 0 if 0.9 < ratio < 1.1 else (1 if 0.7 < ratio < 1.4 else 2)
            wanted = lane + (step if ratio >= 1 else -step)
        if dense:  # no impossible jumps when notes come fast
            wanted = max(lane - 1, min(lane + 1, wanted))
        lane = max(0, min(4, wanted))
        memory[sound] = lane
        lanes: tuple[int, ...] = (lane,)
        if onset.strength >= accents:
            lanes = (lane, lane + 1) if lane < 4 else (lane - 1, lane)
        length = 0
        if onset.sustain:
            end = snap(grid.tick(onset.time + onset.sustain))
            length = max(0, end - tick - RESOLUTION // 4)
            length = length if length >= RESOLUTION // 2 else 0
        notes.append((Note(tick, lanes, length), onset))
        last_centroid, last_tick = onset.centroid, tick
    # a sustain never runs into the next note
    for (note, _), (following, _) in zip(notes, notes[1:]):
        if note.length:
            note.length = max(0, min(note.length, following.tick - note.tick - RESOLUTION // 4))
    return notes


def reduce(expert: list[tuple[Note, Onset]], level: str) -> list[Note]:
    """A lower difficulty from Expert: the strongest share of onsets, a minimum gap, folded
    frets and no chords where the level says so."""
    rules = LEVELS[level]
    if not expert:
        return []
    if rules["keep"] < 1.0:
        strengths = sorted((o.strength for _, o in expert), reverse=True)
        floor = strengths[max(0, int(len(strengths) * rules["keep"]) - 1)]
        expert = [(n, o) for n, o in expert if o.strength >= floor]
    notes: list[Note] = []
    for note, _ in expert:
        if notes and note.tick - notes[-1].tick < rules["gap"]:
            continue
        top = rules["lanes"] - 1
        lanes = tuple(sorted({min(top, round(lane * top / 4)) for lane in note.lanes}))
        if not rules["chords"]:
            lanes = lanes[:1]
        notes.append(Note(note.tick, lanes, note.length))
    for note, following in zip(notes, notes[1:]):
        if note.length:
            note.length = max(0, min(note.length, following.tick - note.tick - rules["gap"] // 2))
    return notes


def star_power(notes: list[Note], grid_end: int) -> list[tuple[int, int]]:
    """A phrase over the notes of every 8th measure (4/4) that has at least 4 notes."""
    measure = RESOLUTION * 4
    phrases = []
    for start in range(measure * 4, grid_end, measure * 8):
        inside = [n for n in notes if start <= n.tick < start + measure * 2]
        if len(inside) >= 4:
            phrases.append((inside[0].tick, inside[-1].tick - inside[0].tick + 1))
    return phrases


# --- output -----------------------------------------------------------------------------------
@dataclass
class ChartMeta:
    title: str
    artist: str
    album: str = ""
    genre: str = ""
    year: str = ""
    audio_name: str = "song.ogg"


def section_names(count: int) -> list[str]:
    if count == 1:
        return ["Song"]
    names = ["Intro"] + [f"Section {chr(ord('A') + i % 26)}" for i in range(count - 2)]
    return names + ["Outro"]


def build_chart(analysis: Analysis, meta: ChartMeta) -> tuple[str, str, dict]:
    """(notes.chart text, song.ini text, summary). Pure: same analysis, same bytes."""
    grid = TempoMap(analysis.beats)
    expert = expert_notes(analysis, grid)
    tracks = {"Expert": [n for n, _ in expert]}
    for level in DIFFICULTIES[1:]:
        tracks[level] = reduce(expert, level)
    end_tick = int(grid.tick(analysis.duration))

    out = ["[Song]", "{",
           f'  Name = "{_quote(meta.title)}"', f'  Artist = "{_quote(meta.artist)}"',
           '  Charter = "Songhub generator"']
    if meta.album:
        out.append(f'  Album = "{_quote(meta.album)}"')
    if meta.year:
        out.append(f'  Year = ", {_quote(meta.year)}"')
    if meta.genre:
        out.append(f'  Genre = "{_quote(meta.genre)}"')
    out += ["  Offset = 0", f"  Resolution = {RESOLUTION}", '  Player2 = bass',
            "  Difficulty = 0", "  PreviewStart = 0", "  PreviewEnd = 0",
            f'  MusicStream = "{meta.audio_name}"', "}", "[SyncTrack]", "{", "  0 = TS 4"]
    out += [f"  {tick} = B {milli}" for tick, milli in grid.tempo_events()]
    out += ["}", "[Events]", "{"]
    for name, start in zip(section_names(len(analysis.sections)), analysis.sections):
        out.append(f'  {snap(grid.tick(start), RESOLUTION)} = E "section {name}"')
    out.append("}")
    for level in DIFFICULTIES:
        out += [f"[{level}Single]", "{"]
        events = []
        for note in tracks[level]:
            events += [(note.tick, f"N {lane} {note.length}") for lane in note.lanes]
        events += [(tick, f"S 2 {length}") for tick, length in star_power(tracks[level], end_tick)]
        out += [f"  {tick} = {event}" for tick, event in sorted(events, key=_event_order)]
        out.append("}")
    chart_text = "\r\n".join(out) + "\r\n"

    seconds = max(analysis.duration, 1.0)
    density = len(tracks["Expert"]) / seconds
    loudest = max(range(len(analysis.section_energy)), key=analysis.section_energy.__getitem__,
                  default=0)
    preview_ms = int(round(analysis.sections[loudest] * 1000)) if analysis.sections else 0
    ini = {
        "name": meta.title, "artist": meta.artist, "album": meta.album, "genre": meta.genre,
        "year": meta.year, "charter": "Songhub generator",
        "song_length": str(int(round(analysis.duration * 1000))),
        "preview_start_time": str(preview_ms),
        "diff_guitar": str(difficulty_from_density(density)),
        "diff_bass": "-1", "diff_drums": "-1", "diff_keys": "-1", "diff_rhythm": "-1",
        "delay": "0",
    }
    ini_text = "[song]\r\n" + "".join(f"{k} = {v}\r\n" for k, v in ini.items())
    summary = {"tempo": round(analysis.tempo, 2), "sections": len(analysis.sections),
               "notes": {level: len(tracks[level]) for level in DIFFICULTIES},
               "preview_start_ms": preview_ms, "song_length_ms": int(ini["song_length"])}
    return chart_text, ini_text, summary


def difficulty_from_density(notes_per_second: float) -> int:
    """0–6 like Clone Hero's difficulty tiers, from Expert notes per second."""
    for tier, limit in enumerate((1.5, 2.5, 3.5, 4.5, 6.0, 8.0)):
        if notes_per_second < limit:
            return tier
    return 6


def _event_order(event: tuple[int, str]) -> tuple[int, int, str]:
    return event[0], 0 if event[1].startswith("N") else 1, event[1]


def _quote(text: str) -> str:
    return text.replace('"', "'").replace("\r", " ").replace("\n", " ").strip()


def generate(audio: Path, out_dir: Path, meta: ChartMeta, progress=lambda s, p: None,
             max_bytes: int | None = None) -> dict:
    """Analyse `audio` and write notes.chart, song.ini and song.<ext> into `out_dir`."""
    import shutil

    analysis = analyze(audio, progress, max_bytes=max_bytes)
    progress("charting", 70)
    extension = Path(audio).suffix.lower()
    meta.audio_name = f"song{extension}"
    chart_text, ini_text, summary = build_chart(analysis, meta)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "notes.chart").write_text(chart_text, encoding="utf-8", newline="")
    (out_dir / "song.ini").write_text(ini_text, encoding="utf-8", newline="")
    shutil.copyfile(audio, out_dir / meta.audio_name)
    summary["stage_seconds"] = analysis.stage_seconds
    summary["audio_sha256"] = analysis.audio_sha256
    return summary
