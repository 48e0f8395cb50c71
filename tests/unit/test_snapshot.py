"""The parsed list kept with a previewed batch: what the commit plans from must be exactly what
the preview parsed, value types included, for the samples and for messy lists."""

from __future__ import annotations

import dataclasses
import zlib
from datetime import date
from pathlib import Path

import pytest

from equipment.catalog import DeviceType, EquipmentStatus
from equipment.imports.excel import ParsedRow, ParseResult, parse_asset_list, snapshot
from tests.helpers.workbooks import HEADER_RU, SAMPLE_NAMES, SAMPLES, row_ru, xlsx


def assert_same(loaded: ParseResult, parsed: ParseResult) -> None:
    for field in dataclasses.fields(ParseResult):
        if field.name == "invalid_values":
            continue
        assert getattr(loaded, field.name) == getattr(parsed, field.name), field.name
    for got, want in zip(loaded.rows, parsed.rows, strict=True):
        # equal is not enough: an enum and its string value compare equal
        assert [type(v) for v in got.values.values()] == [type(v) for v in want.values.values()]
    # what the planner reads of the invalid rows: their number and facility
    assert loaded.invalid_values == {
        where: {k: v for k, v in values.items() if k in snapshot.INVALID_KEYS and v is not None}
        for where, values in parsed.invalid_values.items()
    }


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_the_samples_come_back_exactly(name):
    parsed = parse_asset_list((SAMPLES / f"{name}.xlsx").read_bytes(), f"{name}.xlsx")
    assert parsed.rows
    assert_same(snapshot.load(snapshot.dump(parsed)), parsed)


def test_a_messy_list_comes_back_exactly(tmp_path):
    rows = [
        ["Реестр ТУ по состоянию на 01.11.2026, БИН 040540526019"],
        HEADER_RU + ["Статус", "Износ, %", "Код ОПО"],
        ["ОПО: Котельная №2"],
        row_ru("ИН-1") + ["в работе", "45 %", None],
        row_ru("ИН-2", year="199x") + [None, 0.5, "OPO-01"],  # invalid year
        row_ru("ИН-3", start="2001") + ["в резерве", None, "OPO-01"],  # a bare year
        row_ru("ИН-4", kind="кран мостовой") + [None, "12,5", "ОПО-02"],
        ["Итого", None, None, None, None, None, None, None],
    ]
    parsed = parse_asset_list(xlsx(tmp_path, ("Лист1", rows), ("Пусто", [[None]])), "list.xlsx")
    assert parsed.errors and parsed.skipped_rows and parsed.as_of and parsed.bins
    assert any(r.approximate for r in parsed.rows)
    assert_same(snapshot.load(snapshot.dump(parsed)), parsed)


def test_many_rows_cross_chunks(tmp_path):
    rows = [HEADER_RU] + [row_ru(f"ИН-{i}") for i in range(snapshot.CHUNK * 2 + 7)]
    parsed = parse_asset_list(xlsx(tmp_path, ("Лист1", rows)), "list.xlsx")
    loaded = snapshot.load(snapshot.dump(parsed))
    assert [r.values["inventory_no"] for r in loaded.rows] == [
        f"ИН-{i}" for i in range(len(rows) - 1)
    ]


def test_values_keep_their_types():
    values = {
        "inventory_no": "1",
        "manufacture_year": 1990,
        "service_life_years": 20.0,
        "device_type": DeviceType.STEAM_BOILER,
        "status": EquipmentStatus.IN_SERVICE,
        "commissioned_on": date(1991, 2, 1),
        "notes": '["d", "2020-01-01"]',  # text that looks like a tag stays text
        "flag": True,
        "blank": None,
    }
    parsed = ParseResult(
        rows=[ParsedRow(7, values, frozenset({"commissioned_on"}), "Лист1")],
        errors=[], rows_read=1, header_row=1, mapping={"A": "inventory_no", 3: None},
        ignored_columns=[], sheet_name="Лист1", facility_labels=[],
    )  # fmt: skip
    loaded = snapshot.load(snapshot.dump(parsed))
    assert loaded.rows == parsed.rows
    assert [type(v) for v in loaded.rows[0].values.values()] == [type(v) for v in values.values()]
    assert loaded.mapping == {"A": "inventory_no", 3: None}  # a column index stays a number


def test_an_unknown_type_is_refused_when_stored_not_changed_when_loaded():
    parsed = ParseResult(
        rows=[ParsedRow(2, {"inventory_no": "1", "odd": Path("x")})],
        errors=[], rows_read=1, header_row=1, mapping={}, ignored_columns=[], sheet_name="",
        facility_labels=[],
    )  # fmt: skip
    with pytest.raises(TypeError, match="PosixPath"):
        snapshot.dump(parsed)


def _blob(*lines: str) -> bytes:
    return zlib.compress("".join(line + "\n" for line in lines).encode())


def _one_row() -> ParseResult:
    return ParseResult(
        rows=[ParsedRow(2, {"inventory_no": "ИН-1", "commissioned_on": date(2020, 2, 1)})],
        errors=[], rows_read=1, header_row=1, mapping={}, ignored_columns=[], sheet_name="Лист1",
        facility_labels=[],
    )  # fmt: skip


def _damaged(old: str, new: str) -> bytes:
    """The stored one-row list with one piece of it changed."""
    text = zlib.decompress(snapshot.dump(_one_row())).decode()
    assert old in text
    return zlib.compress(text.replace(old, new, 1).encode())


_HEAD = f'["parse",{snapshot.FORMAT},{{}}]'


def test_the_one_row_list_loads_undamaged():
    assert snapshot.load(_damaged("ИН-1", "ИН-1")).rows == _one_row().rows


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        b"not zlib",
        _blob('["other",1,{}]'),
        _blob('["parse",1,{}]', '["end",{}]'),  # an older format: the file is read again
        _blob(_HEAD),  # cut short
        _blob(_HEAD, '["end",{}]'),  # parts missing
        _blob(_HEAD, '["rows",[[1]]]', '["end",{"shapes":[]}]'),
        _damaged(',"2020-02-01"]', "]"),  # a value short of its shape
        _damaged('"2020-02-01"', '"01.02.2020"'),  # not the ISO date its shape says
        _damaged('"2020-02-01"', "null"),  # None where the shape says a date
        _damaged('"d"', '"Nope"'),  # a type the catalog does not know
        _damaged('"ИН-1"', '"ИН-1'),  # not JSON
    ],
)
def test_a_damaged_snapshot_is_a_value_error(blob):
    with pytest.raises(ValueError, match="snapshot"):
        snapshot.load(blob)
