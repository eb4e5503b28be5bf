"""The one result shape both chart parsers (.chart and .mid) return."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

DIFFICULTIES = ("easy", "medium", "hard", "expert")
# instrument → the song.ini key that states its difficulty
DIFF_KEYS = {
    "guitar": "diff_guitar", "guitarcoop": "diff_guitar_coop", "bass": "diff_bass",
    "rhythm": "diff_rhythm", "drums": "diff_drums", "keys": "diff_keys",
    "guitarghl": "diff_guitarghl", "guitarcoopghl": "diff_guitar_coop_ghl",
    "bassghl": "diff_bassghl", "rhythmghl": "diff_rhythm_ghl", "vocals": "diff_vocals",
}
INSTRUMENTS = tuple(DIFF_KEYS)


@dataclass
class ChartData:
    format: str  # "chart" | "mid"
    resolution: int = 192
    tempo_map: list[tuple[int, float]] = field(default_factory=list)  # (tick, BPM)
    time_signatures: list[tuple[int, int]] = field(default_factory=list)
    length_ms: int = 0
    notes: dict[str, dict[str, int]] = field(default_factory=dict)  # instrument → diff → count
    star_power: dict[str, dict[str, int]] = field(default_factory=dict)
    empty: list[str] = field(default_factory=list)  # "instrument/difficulty" tracks with no notes
    sections: list[str] = field(default_factory=list)
    lyrics: int = 0
    metadata: dict[str, str] = field(default_factory=dict)  # [Song] section of a .chart
    issues: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"format": self.format, "resolution": self.resolution,
                "tempo_map": [[t, b] for t, b in self.tempo_map], "length_ms": self.length_ms,
                "notes": self.notes, "star_power": self.star_power, "sections": self.sections,
                "lyrics": self.lyrics, "issues": self.issues}

    def add_count(self, table: dict, instrument: str, difficulty: str, count: int) -> None:
        if count:
            table.setdefault(instrument, {})[difficulty] = \
                table.get(instrument, {}).get(difficulty, 0) + count


class TempoMap:
    """Ticks → milliseconds through every tempo change (B events / set_tempo)."""

    def __init__(self, resolution: int, changes: list[tuple[int, float]]):
        self.resolution = max(1, resolution)
        changes = sorted((t, b) for t, b in changes if t >= 0 and b > 0)
        if not changes or changes[0][0] != 0:
            changes.insert(0, (0, 120.0))
        self.ticks = [t for t, _ in changes]
        self.bpms = [b for _, b in changes]
        self.starts = [0.0]
        for i in range(1, len(changes)):
            span = self.ticks[i] - self.ticks[i - 1]
            self.starts.append(self.starts[-1] + span * 60000.0 / (self.bpms[i - 1] *
                                                                   self.resolution))

    def ms(self, tick: int) -> float:
        i = bisect.bisect_right(self.ticks, tick) - 1
        return self.starts[i] + (tick - self.ticks[i]) * 60000.0 / (self.bpms[i] *
                                                                    self.resolution)
