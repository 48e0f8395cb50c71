"""Text search of the registry: one folded copy of the searchable fields per item.

Searching the raw columns meant four Unicode-aware ``lower()`` calls per row per request (on
SQLite a Python callback each: 360 ms for 200,000 items). Instead every item stores
``search_text``: its name, numbers, model and manufacturer folded once, when they are written,
so a search is a plain ``LIKE`` over one column on either database (figures: bench/registry.py).

Numbers are written many ways: «4626-Г», «4626 Г», «4626г», «М-860», «М860». After the folded
fields, ``search_text`` holds a *compact* copy of each number field (inventory, factory and
registration numbers, model) that has a digit and a separator (spaces, hyphens, slashes, dots,
«№» removed). A query with a digit is looked up twice, as typed
and compacted (``needles``), so separators do not matter for numbers, while a word query is
one ``LIKE`` over the folded text as before.
"""

from __future__ import annotations

import re

from core.text import fold

SEARCHED = ("inventory_no", "name", "factory_no", "registration_no", "model", "manufacturer")
# The fields that hold numbers, kept a second time compacted (names and makers are words).
NUMBERS = ("inventory_no", "factory_no", "registration_no", "model")
SEPARATOR = "\n"  # a search term never spans two fields: the term is one line
_NUMBER_POSITIONS = tuple(SEARCHED.index(name) for name in NUMBERS)
# Not "_" or "%": they stay literal characters of a number (LIKE wildcards are escaped).
_NUMBER_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212/\\.,:;№#()\[\]'\"«»]+")
_DIGIT = re.compile(r"\d")


def compact(text: str | None) -> str:
    """The folded text without separators: «ИН-4626/Г» → «ин4626г»."""
    return _NUMBER_SEPARATORS.sub("", fold(text))


def search_text(values) -> str:
    """The folded searchable fields of an item, from a mapping with the SEARCHED keys, then
    the compact copies of its number fields that have a digit and a separator.

    The same as folding each field (``fold``) and joining them, done on the joined text at
    once: case folding and «ё» work letter by letter, so one call on the whole line is one
    call per field put together (this runs for every row of a 100,000-row import)."""
    get = values.get
    joined = SEPARATOR.join(
        [" ".join(text.split()) if (text := get(name)) else "" for name in SEARCHED]
    )
    joined = joined.casefold().replace("ё", "е")
    folded = joined.split(SEPARATOR)
    squeeze = _NUMBER_SEPARATORS.sub
    compacted = [
        c
        for i in _NUMBER_POSITIONS
        if (f := folded[i]) and _DIGIT.search(f) and (c := squeeze("", f)) != f
    ]
    return SEPARATOR.join([joined, *compacted]) if compacted else joined


def needles(query: str) -> list[str]:
    """What to look for in ``search_text``: the folded query, and for a query with a digit
    also its compact form (when that differs)."""
    folded = fold(query)
    if not folded:
        return []
    if _DIGIT.search(folded):
        squeezed = compact(folded)
        if squeezed and squeezed != folded:
            return [folded, squeezed]
    return [folded]


def search_text_default(context) -> str:
    """Column default: computed from the inserted row itself (ORM and bulk Core inserts)."""
    return search_text(context.get_current_parameters())


# Fields in the order a match ranks them (the SQL rank: equipment.registry.query._rank_of).
_NUMBER_FIELDS = ("inventory_no", "factory_no", "registration_no")


def matched_field(values, query: str, facility_code: str | None = None) -> str | None:
    """Which field of an item (a mapping with the SEARCHED keys) a search found it by: the
    best of a number typed whole or its beginning, the name, a number's middle, the model,
    the manufacturer, the facility's code; None when nothing matches. The note under a
    row of the list: «найдено в: производитель»."""
    found = needles(query)
    if not found:
        return None
    folded = {name: fold(values.get(name)) for name in SEARCHED}
    squeezed = {name: compact(values.get(name)) for name in NUMBERS}
    best: tuple[int, str] | None = None

    def offer(rank: int, name: str) -> None:
        nonlocal best
        if best is None or rank < best[0]:
            best = (rank, name)

    for needle in found:
        for name in _NUMBER_FIELDS:
            for text in (folded[name], squeezed[name]):
                if text and text.startswith(needle):
                    offer(0, name)
                elif text and needle in text:
                    offer(2, name)
        if needle in folded["name"]:
            offer(1, "name")
        if needle in folded["model"] or needle in (squeezed["model"] or ""):
            offer(3, "model")
        if needle in folded["manufacturer"]:
            offer(4, "manufacturer")
    if best is None and facility_code and fold(facility_code) == fold(query):
        return "facility"
    return best[1] if best else None
