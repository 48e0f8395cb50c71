"""How the cell of each field is read: units (a title's «кгс/см²», a cell's «18 мес.»), ranges
and the parser of each kind of field, for the validator (step 5)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from equipment.imports.excel.messages import N_, Message
from equipment.imports.excel.values import (
    Parsed,
    ambiguous_thousands,
    display,
    not_number,
    number_and_unit,
    parse_date_ex,
    parse_device_type,
    parse_percent,
    parse_status,
    parse_text,
    parse_year,
)

MIN_MANUFACTURE_YEAR = 1900
INT_MAX = 2_147_483_647  # the INTEGER columns of both databases (cycle counts)
MAX_PRESSURE_MPA = 1000  # the same bounds as the item form
MIN_TEMPERATURE_C, MAX_TEMPERATURE_C = -273, 2000


def _grouped(number: int) -> str:
    """2147483647 → «2 147 483 647»."""
    return f"{number:,}".replace(",", " ")


# ---------------------------------------------------------------------------- units


def unit_key(unit: str) -> str:
    """«кгс/см²» → «кгс/см2», «тыс.» → «тыс», «°С» → «°c»: a unit as the tables below spell it."""
    unit = unit.lower().replace("ё", "е").replace("²", "2").replace("³", "3")
    unit = unit.replace("с", "c") if unit in ("°с", "с") else unit
    return re.sub(r"[\s.]+", "", unit)


PRESSURE_UNITS = {
    "мпа": 1.0, "mpa": 1.0,
    "кгс/см2": 0.0980665, "кгс/cм2": 0.0980665, "кг/см2": 0.0980665, "кгc/см2": 0.0980665,
    "кгс/квсм": 0.0980665, "ат": 0.0980665, "ати": 0.0980665, "kgf/cm2": 0.0980665,
    "кпа": 0.001, "kpa": 0.001, "па": 0.000001, "pa": 0.000001,
    "бар": 0.1, "bar": 0.1, "атм": 0.101325, "atm": 0.101325, "psi": 0.00689476,
}  # fmt: skip
LIFE_UNITS = {
    "лет": 1.0, "год": 1.0, "года": 1.0, "годы": 1.0, "г": 1.0, "years": 1.0, "year": 1.0,
    "yrs": 1.0, "yr": 1.0, "y": 1.0, "жыл": 1.0, "ж": 1.0,
    "мес": 1 / 12, "месяц": 1 / 12, "месяца": 1 / 12, "месяцев": 1 / 12, "months": 1 / 12,
    "month": 1 / 12, "mo": 1 / 12, "ай": 1 / 12,
}  # fmt: skip
CYCLE_UNITS = {
    "": 1.0, "циклов": 1.0, "цикл": 1.0, "цикла": 1.0, "cycles": 1.0, "cycle": 1.0, "раз": 1.0,
    "циклдер": 1.0,
    "тыс": 1000.0, "тысяч": 1000.0, "тыс циклов": 1000.0, "k": 1000.0, "thousand": 1000.0,
    "мың": 1000.0, "млн": 1_000_000.0, "million": 1_000_000.0, "mln": 1_000_000.0,
}  # fmt: skip
TEMPERATURE_UNITS = {"°c": 1.0, "c": 1.0, "°": 1.0, "град": 1.0, "градусов": 1.0, "гр": 1.0}

_TITLE_UNIT = re.compile(r"(?:,|\(|\[| / |\bв\s)\s*([^,()\[\]]{1,20}?)\s*[)\]]?\s*$")


def header_unit(title: str, units: dict[str, float]) -> float | None:
    """The factor of a unit named in a column title («Рабочее давление, кгс/см²»), if any."""
    match = _TITLE_UNIT.search(title or "")
    if not match:
        return None
    key = unit_key(match[1])
    if key in units:
        return units[key]
    if key.endswith("циклов") and unit_key(key[: -len("циклов")]) in units:
        return units[unit_key(key[: -len("циклов")])]
    return None


def _with_unit(
    value: Any, units: dict[str, float], factor: float, expected: Message
) -> tuple[float | None, Message | None]:
    number, unit = number_and_unit(value)
    if number is None:
        return None, not_number(value, expected)
    if unit:
        key = unit_key(unit)
        if key not in units:
            return None, N_(
                "an unknown unit «%(unit)s» in «%(value)s»; expected %(expected)s",
                unit=unit,
                value=display(value),
                expected=expected,
            )
        factor = units[key]
    return round(number * factor, 9), None


# ---------------------------------------------------------------------------- field parsers


def _service_life(factor: float) -> Callable[[Any], Parsed]:
    expect = N_("a service life in years from 0.5 to 100 (e.g. 20 or «18 months»)")

    def parse(value: Any) -> Parsed:
        years, error = _with_unit(value, LIFE_UNITS, factor, expect)
        if error is None and not MIN_LIFE_YEARS <= years <= 100:
            return None, N_("the service life must be from 0.5 to 100 years")
        return (round(years, 6) if years is not None else None), error

    return parse


def _not_whole(value: Any, expected: Message) -> Message:
    return N_(
        "not a whole number: «%(value)s»; expected %(expected)s",
        value=display(value),
        expected=expected,
    )


def _cycles(factor: float) -> Callable[[Any], Parsed]:
    expect = N_(
        "a whole number of cycles from 0 to %(max)s («10 thousand», «2 million» will do)",
        max=_grouped(INT_MAX),
    )

    def parse(value: Any) -> Parsed:
        if ambiguous_thousands(value) and not number_and_unit(value)[1]:
            text = display(value)
            return None, N_(
                "an ambiguous number «%(value)s»: a comma or a dot before three digits may set "
                "off both thousands and a fraction; write it without the separator, e.g. "
                "«%(thousands)s» or «%(whole)s»",
                value=text,
                thousands=text.replace(",", "").replace(".", ""),
                whole=re.split("[.,]", text)[0],
            )
        count, error = _with_unit(value, CYCLE_UNITS, factor, expect)
        if error is not None:
            return None, error
        if abs(count - round(count)) > 1e-6:
            return None, _not_whole(value, expect)
        count = int(round(count))
        if count < 0:
            return None, N_(
                "the number of cycles cannot be negative; expected a whole number from 0 to "
                "%(max)s",
                max=_grouped(INT_MAX),
            )
        if count > INT_MAX:
            return None, N_(
                "too large a number of cycles: %(count)s; expected a whole number from 0 to "
                "%(max)s",
                count=_grouped(count),
                max=_grouped(INT_MAX),
            )
        return count, None

    return parse


def _pressure(factor: float) -> Callable[[Any], Parsed]:
    expect = N_("a pressure in MPa, e.g. 1.4 (or with a unit: kgf/cm², kPa, bar, atm)")

    def parse(value: Any) -> Parsed:
        pressure, error = _with_unit(value, PRESSURE_UNITS, factor, expect)
        if error is not None:
            return None, error
        if not 0 <= pressure <= MAX_PRESSURE_MPA:
            return None, N_("the pressure must be from 0 to %(max)s MPa", max=MAX_PRESSURE_MPA)
        return round(pressure, 6), None

    return parse


_TEMPERATURE_EXPECTED = N_("a temperature in °C, e.g. 115")


def _temperature(value: Any) -> Parsed:
    temperature, error = _with_unit(value, TEMPERATURE_UNITS, 1.0, _TEMPERATURE_EXPECTED)
    if error is None and not MIN_TEMPERATURE_C <= temperature <= MAX_TEMPERATURE_C:
        return None, N_(
            "the temperature must be from −%(min)s to %(max)s °C",
            min=-MIN_TEMPERATURE_C,
            max=MAX_TEMPERATURE_C,
        )
    return temperature, error


def _manufacture_year(last: int) -> Callable[[Any], Parsed]:
    def parse(value: Any) -> Parsed:
        year, error = parse_year(value)
        if error is None and not MIN_MANUFACTURE_YEAR <= year <= last:
            return None, N_(
                "the year of manufacture must be from %(first)s to %(last)s",
                first=MIN_MANUFACTURE_YEAR,
                last=last,
            )
        return year, error

    return parse


_DATE_WHAT = {
    "commissioned_on": N_("the commissioning date"),
    "assessed_on": N_("the wear assessment date"),
    "last_inspection_on": N_("the last examination date"),
}


# A register is often written ahead of an examination already agreed: a last examination up
# to this many days ahead is taken as written (a note names the rows), a later one is an error.
EXAM_AHEAD_DAYS = 90


def _past_date(name: str, today: date) -> Callable[[Any], tuple]:
    """A date that has happened: two-digit years are read into the past, and a date after
    today is an error (as on the item form and in the API), but for a last examination up to
    EXAM_AHEAD_DAYS ahead."""
    latest = today + timedelta(days=EXAM_AHEAD_DAYS if name == "last_inspection_on" else 0)

    def parse(value: Any) -> tuple:
        found, error, approximate = parse_date_ex(value, past=True)
        if error is None and found > latest:
            if latest == today:
                error = N_(
                    "%(what)s is in the future: %(date)s; expected a date no later than today "
                    "(%(today)s)",
                    what=_DATE_WHAT[name],
                    date=f"{found:%d.%m.%Y}",
                    today=f"{today:%d.%m.%Y}",
                )
            else:
                error = N_(
                    "%(what)s is in the future: %(date)s; expected a date no later than "
                    "%(latest)s (at most %(days)s days ahead)",
                    what=_DATE_WHAT[name],
                    date=f"{found:%d.%m.%Y}",
                    latest=f"{latest:%d.%m.%Y}",
                    days=EXAM_AHEAD_DAYS,
                )
            return None, error, False
        return found, error, approximate

    return parse


# How a field is read: PLAIN text is trimmed in the loop itself; the others go through a parser
# whose results are cached per column by cell value (years, dates, types repeat a lot).
PLAIN, VALUE, DATE, WEAR, CODE = "plain", "value", "date", "wear", "code"
PLAIN_FIELDS = frozenset(
    (
        "inventory_no", "name", "model", "manufacturer", "factory_no", "registration_no",
        "medium", "capacity", "notes", "facility_code", "facility_name",
    )
)  # fmt: skip
MIN_LIFE_YEARS = 0.5


def field_parsers(
    today: date, titles: dict[str, str] | None = None
) -> dict[str, tuple[str, Callable[[Any], Any]]]:
    """Field → (kind, parser). Plain text fields need no parser beyond trimming. ``titles``
    (field → column title) give the unit a title names («Давление, кгс/см²»)."""
    titles = titles or {}

    def factor(name: str, units: dict[str, float]) -> float:
        return header_unit(titles.get(name, ""), units) or 1.0

    parsers: dict[str, tuple[str, Callable[[Any], Any]]] = {
        name: (PLAIN, parse_text) for name in PLAIN_FIELDS
    }
    parsers["inventory_no"] = (CODE, parse_text)
    parsers.update({name: (DATE, _past_date(name, today)) for name in _DATE_WHAT})
    parsers["next_inspection_on"] = (DATE, parse_date_ex)
    parsers.update(
        device_type=(VALUE, parse_device_type),
        status=(VALUE, parse_status),
        manufacture_year=(VALUE, _manufacture_year(today.year)),
        service_life_years=(VALUE, _service_life(factor("service_life_years", LIFE_UNITS))),
        cycle_limit=(VALUE, _cycles(factor("cycle_limit", CYCLE_UNITS))),
        cycle_count=(VALUE, _cycles(factor("cycle_count", CYCLE_UNITS))),
        pressure_mpa=(VALUE, _pressure(factor("pressure_mpa", PRESSURE_UNITS))),
        temperature_c=(VALUE, _temperature),
        wear_pct=(WEAR, parse_percent),
    )
    return parsers
