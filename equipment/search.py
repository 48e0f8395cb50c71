"""Text search of the registry: one folded copy of the searchable fields per item.

Searching the raw columns meant four Unicode-aware ``lower()`` calls per row per request (on
SQLite a Python callback each: 360 ms for 200,000 items). Instead every item stores
``search_text``: its name and numbers folded once, when they are written, so a search is a
single plain ``LIKE`` over one column on either database (figures: bench/registry.py).
"""

from __future__ import annotations

from core.text import fold

SEARCHED = ("inventory_no", "name", "factory_no", "registration_no")
SEPARATOR = "\n"  # a search term never spans two fields: the term is one line


def search_text(values) -> str:
    """The folded searchable fields of an item, from a mapping with the SEARCHED keys."""
    return SEPARATOR.join(fold(values.get(name)) for name in SEARCHED)


def search_text_default(context) -> str:
    """Column default: computed from the inserted row itself (ORM and bulk Core inserts)."""
    return search_text(context.get_current_parameters())
