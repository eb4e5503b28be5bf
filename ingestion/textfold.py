"""Accent and case folding in Python, the same folding PostgreSQL's `songhub_unaccent` does.

Used by the SQLite search fallback (registered there as the SQL function `songhub_unaccent`,
so ORM queries read the same on both databases) and to highlight lyric snippets. Decomposes
(NFKD), drops combining marks and maps the few letters that have no decomposition but that
PostgreSQL's `unaccent` rules fold (ø, æ, ß, ł, …).
"""

from __future__ import annotations

import functools
import unicodedata

_SPECIAL = str.maketrans({
    "ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ß": "ss", "ł": "l",
    "Ł": "L", "đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "þ": "th", "Þ": "TH", "ı": "i", "ħ": "h",
    "Ħ": "H", "‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-",
})


@functools.lru_cache(maxsize=65536)
def unaccent(text: str) -> str:
    """Accents removed, case kept: 'Café Niño' -> 'Cafe Nino'."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text.translate(_SPECIAL))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", stripped)  # recompose what is not an accent (Hangul)


def fold(text: str) -> str:
    """What search compares: accents removed, lower-cased."""
    return unaccent(text or "").lower()
