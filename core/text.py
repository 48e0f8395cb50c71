"""Text as people search it."""

from __future__ import annotations


def fold(text: str | None) -> str:
    """Case- and ё-insensitive form of a text: «Котёл ДЕ-25» and «котел де-25» fold alike."""
    return " ".join((text or "").replace("ё", "е").replace("Ё", "Е").split()).casefold()
