"""Step 3 of reading, continued: what the rows above the header say of the whole list, a BIN
(«БИН 040540526019») and the date it was drawn up («по состоянию на 03.11.2026»)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Any

from equipment.imports.excel.values import parse_date

_BIN = re.compile(r"\b(?:БИН|BIN|ИИН|БСН)\s*[:№]?\s*(\d{12})\b", re.I)
_AS_OF = re.compile(
    r"(?:по\s+состоянию\s+на|состояние\s+на|дата\s+формирования|сформирован[оа]?|на\s+дату|"
    r"as\s+of|жағдай\s+бойынша|\bна)\s*:?\s*(\d{1,2}[./]\d{1,2}[./]\d{2,4})",
    re.I,
)


def read_title(
    peek: Sequence[tuple[int, list[Any]]], header_row: int, bins: list[str], as_of: date | None
) -> date | None:
    """Add the BINs named above the header to ``bins``; the «as of» date (``as_of`` if one was
    found before, on an earlier sheet)."""
    for number, row in peek:
        if number >= header_row:
            break
        for value in dict.fromkeys(v for v in row if isinstance(v, str)):
            for found in _BIN.findall(value):
                if found not in bins:
                    bins.append(found)
            match = _AS_OF.search(value)
            if match and as_of is None:
                when, error = parse_date(match[1])
                if error is None:
                    as_of = when
    return as_of
