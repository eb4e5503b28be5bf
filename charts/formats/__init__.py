"""Chart file formats: song.ini (`ini`), notes.chart (`chart`), notes.mid (`midi`)."""

from . import chart, midi
from .common import ChartData

CHART_FILES = ("notes.chart", "notes.mid", "notes.midi")


def parse_chart(name: str, data: bytes) -> ChartData:
    """Either parser by file name; both return the same shape and never raise."""
    return midi.parse(data) if name.lower().endswith((".mid", ".midi")) else chart.parse(data)
