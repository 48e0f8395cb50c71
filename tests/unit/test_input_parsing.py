"""What people type into the forms and the search box, read by plain functions: numbers with
decimal commas and grouped thousands, dates as dd.mm.yyyy, numbers with or without separators."""

from __future__ import annotations

from datetime import date

import pytest

from core.form_fields import TwoDigitYear, parse_date, parse_decimal, parse_whole
from core.text import fold
from equipment.imports.excel import Limits, too_large_message
from equipment.search import NUMBERS, SEARCHED, compact, needles, search_text


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("1,6", 1.6),
        ("1.6", 1.6),
        ("1 250,5", 1250.5),
        ("1\u00a0250,5", 1250.5),
        ("1\u202f250,5", 1250.5),
        ("1.250,5", 1250.5),
        ("1,250.5", 1250.5),
        ("−3", -3.0),  # the typographic minus
        ("-273", -273.0),
        (" 16 ", 16.0),
        ("", None),
        ("   ", None),
    ],
)
def test_decimals_as_russian_users_type_them(typed, value):
    result = parse_decimal(typed)
    if value is None:
        assert result is None
    else:
        assert result == pytest.approx(value)


@pytest.mark.parametrize("typed", ["12e", "abc", "1,6,7", "nan", "inf", "1e999", "--1", "1_000"])
def test_what_is_not_a_decimal_is_refused_not_guessed(typed):
    with pytest.raises(ValueError):
        parse_decimal(typed)


@pytest.mark.parametrize(("typed", "value"), [("200 000", 200000), ("2024", 2024), ("", None)])
def test_whole_numbers_may_group_thousands(typed, value):
    assert parse_whole(typed) == value


@pytest.mark.parametrize("typed", ["0,5", "1.5", "12e", "двадцать"])
def test_a_fraction_is_not_a_whole_number(typed):
    with pytest.raises(ValueError):
        parse_whole(typed)


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("15.03.2024", date(2024, 3, 15)),
        ("5.3.2024", date(2024, 3, 5)),
        ("05/03/2024", date(2024, 3, 5)),
        ("05-03-2024", date(2024, 3, 5)),
        ("2024-03-15", date(2024, 3, 15)),
        (" 15.03.2024 г.", date(2024, 3, 15)),
        ("29.02.2024", date(2024, 2, 29)),
        ("", None),
    ],
)
def test_dates_as_dd_mm_yyyy_or_iso(typed, value):
    assert parse_date(typed) == value


@pytest.mark.parametrize("typed", ["31.02.2024", "29.02.2023", "15.13.2024", "2024", "03/15", "x"])
def test_impossible_or_unreadable_dates_are_refused(typed):
    with pytest.raises(ValueError):
        parse_date(typed)


def test_a_two_digit_year_is_refused_rather_than_guessed():
    with pytest.raises(TwoDigitYear):
        parse_date("01.02.24")  # 1924 or 2024: a commissioning date or a next inspection?


def test_search_text_holds_compact_numbers_and_model_and_maker():
    text = search_text(
        {
            "inventory_no": "4626-Г",
            "name": "Котёл ДЕ-25",
            "factory_no": "ЗН 77",
            "registration_no": None,
            "model": "М-860",
            "manufacturer": "Бийский котельный завод",
        }
    )
    lines = text.split("\n")
    assert lines[:6] == ["4626-г", "котел де-25", "зн 77", "", "м-860", "бийский котельный завод"]
    assert lines[6:] == ["4626г", "зн77", "м860"]  # number fields with a digit and a separator


@pytest.mark.parametrize(
    "fields",
    [
        {"inventory_no": "ИН-1", "name": "ЁЛКА  Ёж\tстрасSE", "model": "Straße 5/6"},
        {"inventory_no": "A\nB 7", "name": "  Кран\u00a0мостовой  ", "factory_no": "№ 12.4"},
        {"inventory_no": "x", "name": "ǅ ΣΑΣ İi", "manufacturer": "\u2028завод\u2029"},
        {"inventory_no": "77", "name": "", "registration_no": "   "},
    ],
)
def test_search_text_is_each_field_folded(fields):
    """Folding the joined line at once gives what folding field by field gives."""
    folded = [fold(fields.get(name)) for name in SEARCHED]
    compacted = [
        compact(folded[SEARCHED.index(n)])
        for n in NUMBERS
        if any(ch.isdigit() for ch in folded[SEARCHED.index(n)])
        and compact(folded[SEARCHED.index(n)]) != folded[SEARCHED.index(n)]
    ]
    assert search_text(fields) == "\n".join([*folded, *compacted])


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("4626г", ["4626г"]),
        ("4626 Г", ["4626 г", "4626г"]),
        ("4626/г", ["4626/г", "4626г"]),
        ("котел", ["котел"]),
        ("кран мостовой", ["кран мостовой"]),  # words: one needle, separators kept
        ("w_1", ["w_1"]),  # _ and % are characters of a number, not separators
        ("  ", []),
    ],
)
def test_needles_compact_only_queries_with_a_digit(query, expected):
    assert needles(query) == expected


def test_compact_removes_the_separators_people_use_in_numbers():
    assert compact("ИН-4626/Г.1 № 5") == "ин4626г15"


@pytest.mark.parametrize(
    ("size", "shown"),
    [
        (51 * 1024 * 1024, "51,0 МБ"),
        (50 * 1024 * 1024 + 1, "50,1 МБ"),  # not «50,0 МБ, at most 50 МБ»
        (52_500_000, "50,1 МБ"),
        (60_000_000, "57,2 МБ"),
    ],
)
def test_a_too_large_file_shows_its_real_size_with_a_decimal_comma(size, shown):
    message = too_large_message(size, Limits(max_bytes=50 * 1024 * 1024))
    assert message == f"Файл слишком большой: {shown}, допускается не более 50 МБ."
