"""The inventory-number fold, and the copy of it that migration a1f0c8d2e301 stored keys by."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from equipment.inventory import inventory_key

MIGRATION = (
    Path(__file__).parents[2] / "core/migrations/versions/a1f0c8d2e301_equipment_inventory_key.py"
)
SAMPLES = [
    "ИН-0000016",
    "ин-0000016",
    "ИН 16",
    "ин\u00a016",
    "ИН\t16",
    "Инв. № 12-Ё",
    "ёлка-1",
    "A-INV-1",
    "a-inv-1",
    "straße-1",
    "ТП-1-2",
    "12 3",
    "X\u2003Y",
    "",
]


@pytest.mark.parametrize(
    ("a", "b"),
    [("ин-16", "ИН-16"), ("ИН 16", "ИН16"), ("ИН\u00a016", "ин16"), ("ёж-1", "ЕЖ-1")],
)
def test_spellings_the_import_takes_for_one_number_have_one_key(a, b):
    assert inventory_key(a) == inventory_key(b)


@pytest.mark.parametrize(("a", "b"), [("ИН-16", "ИН16"), ("ТП-1-2", "ТП-12"), ("A-1", "А-1")])
def test_other_numbers_keep_their_own_keys(a, b):
    assert inventory_key(a) != inventory_key(b)


def test_the_migration_folds_exactly_like_the_application():
    spec = importlib.util.spec_from_file_location("migration_a1f0c8d2e301", MIGRATION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert [module.fold(s) for s in SAMPLES] == [inventory_key(s) for s in SAMPLES]
