"""Row validation: cell parsers per field, required fields, cross-field and in-file checks.

Hand-written on purpose: a plan of (column, field, parser) built once per file and a tight loop
per row, so 100 000 rows × 14 columns take a fraction of a second.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import Any

from core import clock
from equipment.imports.excel.headers import FIELD_LABELS, HeaderMatch
from equipment.imports.excel.values import (
    PLACEHOLDERS,
    CellError,
    Parsed,
    ambiguous_thousands,
    display,
    formula_error,
    is_blank,
    number_and_unit,
    parse_date_ex,
    parse_device_type,
    parse_percent,
    parse_status,
    parse_text,
    parse_year,
)
from equipment.imports.excel.xmlscan import PERCENT
from equipment.inventory import inventory_key

MIN_MANUFACTURE_YEAR = 1900
INT_MAX = 2_147_483_647  # the INTEGER columns of both databases (cycle counts)
MAX_PRESSURE_MPA = 1000  # the same bounds as the item form
MIN_TEMPERATURE_C, MAX_TEMPERATURE_C = -273, 2000
NOTES_MAX_LENGTH = 4000  # a Text column; the item form takes notes up to 4000 characters

# The registry column each text field is stored in: its length is the limit of the cell
_TEXT_COLUMNS: dict[str, tuple[str, str]] = {
    "inventory_no": ("Equipment", "inventory_no"),
    "name": ("Equipment", "name"),
    "model": ("Equipment", "model"),
    "manufacturer": ("Equipment", "manufacturer"),
    "factory_no": ("Equipment", "factory_no"),
    "registration_no": ("Equipment", "registration_no"),
    "medium": ("Equipment", "medium"),
    "capacity": ("Equipment", "capacity"),
    "notes": ("Equipment", "notes"),
    "facility_code": ("Facility", "code"),
    "facility_name": ("Facility", "name"),
}


@cache
def text_limits() -> dict[str, int]:
    """Field → the most characters its registry column holds (``String(n)``), so a longer cell
    is an invalid row instead of a database error at commit."""
    # imported here: the models bring in the app's packages, the rest of the reader needs none
    from equipment import models

    limits: dict[str, int] = {}
    for name, (model, column) in _TEXT_COLUMNS.items():
        length = getattr(getattr(models, model).__table__.c[column].type, "length", None)
        limits[name] = length or NOTES_MAX_LENGTH
    return limits


def _grouped(number: int) -> str:
    """2147483647 → «2 147 483 647»."""
    return f"{number:,}".replace(",", " ")


@dataclass(slots=True)
class ParsedRow:
    excel_row: int
    values: dict[str, Any]
    # date fields given as a bare year (or month and year) and read as its first day
    approximate: frozenset[str] = frozenset()
    sheet: str = ""


@dataclass(frozen=True, slots=True)
class RowError:
    excel_row: int
    column: str  # the column title as written in the file
    value: str  # the cell as written
    message: str  # in Russian: what is wrong and what is expected
    sheet: str = ""


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
    value: Any, units: dict[str, float], factor: float, expect: str
) -> tuple[float | None, str | None]:
    number, unit = number_and_unit(value)
    if number is None:
        return None, f"не число: «{display(value)}»; ожидается {expect}"
    if unit:
        key = unit_key(unit)
        if key not in units:
            return None, f"неизвестная единица «{unit}» в «{display(value)}»; ожидается {expect}"
        factor = units[key]
    return round(number * factor, 9), None


# ---------------------------------------------------------------------------- field parsers


def _service_life(factor: float) -> Callable[[Any], Parsed]:
    expect = "срок службы в годах от 0,5 до 100 (например, 20 или «18 мес.»)"

    def parse(value: Any) -> Parsed:
        years, error = _with_unit(value, LIFE_UNITS, factor, expect)
        if error is None and not MIN_LIFE_YEARS <= years <= 100:
            return None, "срок службы должен быть от 0,5 до 100 лет"
        return (round(years, 6) if years is not None else None), error

    return parse


_CYCLES_EXPECTED = f"ожидается целое число от 0 до {_grouped(INT_MAX)}"


def _cycles(factor: float) -> Callable[[Any], Parsed]:
    expect = f"целое число циклов от 0 до {_grouped(INT_MAX)} (можно «10 тыс.», «2 млн»)"

    def parse(value: Any) -> Parsed:
        if ambiguous_thousands(value) and not number_and_unit(value)[1]:
            text = display(value)
            return None, (
                f"неоднозначное число «{text}»: запятая или точка перед тремя цифрами может "
                "отделять и тысячи, и дробную часть; запишите без разделителя, например "
                f"«{text.replace(',', '').replace('.', '')}» или «{re.split('[.,]', text)[0]}»"
            )
        count, error = _with_unit(value, CYCLE_UNITS, factor, expect)
        if error is not None:
            return None, error
        if abs(count - round(count)) > 1e-6:
            return None, f"не целое число: «{display(value)}»; ожидается {expect}"
        count = int(round(count))
        if count < 0:
            return None, f"число циклов не может быть отрицательным; {_CYCLES_EXPECTED}"
        if count > INT_MAX:
            return None, f"слишком большое число циклов: {_grouped(count)}; {_CYCLES_EXPECTED}"
        return count, None

    return parse


def _pressure(factor: float) -> Callable[[Any], Parsed]:
    expect = "ожидается давление в МПа, например 1,4 (или с единицей: кгс/см², кПа, бар, атм)"

    def parse(value: Any) -> Parsed:
        pressure, error = _with_unit(value, PRESSURE_UNITS, factor, expect[10:])
        if error is not None:
            return None, error.replace(f"; {expect[10:]}", f"; {expect}")
        if not 0 <= pressure <= MAX_PRESSURE_MPA:
            return None, f"давление должно быть от 0 до {MAX_PRESSURE_MPA} МПа"
        return round(pressure, 6), None

    return parse


def _temperature(value: Any) -> Parsed:
    temperature, error = _with_unit(value, TEMPERATURE_UNITS, 1.0, "температура в °C, например 115")
    if error is None and not MIN_TEMPERATURE_C <= temperature <= MAX_TEMPERATURE_C:
        return None, f"температура должна быть от −{-MIN_TEMPERATURE_C} до {MAX_TEMPERATURE_C} °C"
    return temperature, error


def _too_long(name: str, length: int, limit: int) -> str:
    return (
        f"слишком длинное значение в поле «{FIELD_LABELS[name]}» (длина {length}); "
        f"ожидается не длиннее {limit} символов"
    )


def _manufacture_year(last: int) -> Callable[[Any], Parsed]:
    def parse(value: Any) -> Parsed:
        year, error = parse_year(value)
        if error is None and not MIN_MANUFACTURE_YEAR <= year <= last:
            return None, f"год изготовления должен быть от {MIN_MANUFACTURE_YEAR} до {last}"
        return year, error

    return parse


_DATE_WHAT = {
    "commissioned_on": "дата ввода в эксплуатацию",
    "assessed_on": "дата оценки износа",
    "last_inspection_on": "дата последнего освидетельствования",
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
            return (
                None,
                f"{_DATE_WHAT[name]} в будущем: {found:%d.%m.%Y}; ожидается дата не позже "
                + (
                    f"сегодняшней ({today:%d.%m.%Y})"
                    if latest == today
                    else f"{latest:%d.%m.%Y} (не более {EXAM_AHEAD_DAYS} дней вперёд)"
                ),
                False,
            )
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
DATE_FIELDS = frozenset(
    ("commissioned_on", "assessed_on", "last_inspection_on", "next_inspection_on")
)
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


MISSING_MESSAGES = {
    "inventory_no": "не указан инвентарный номер; он обязателен и должен быть уникальным",
    "name": "не указано наименование технического устройства; оно обязательно",
}
_GROUP_HINT = " (если это название ОПО, а не устройство, начните строку с «ОПО:»)"
_BLANK = object()  # cached marker of an empty or «н/д» cell
_PLACEHOLDER_START = frozenset(p[0] for p in PLACEHOLDERS) | frozenset(
    p[0].upper() for p in PLACEHOLDERS
)
_NO_APPROXIMATE: frozenset[str] = frozenset()
_WHOLE_WITH_ZEROS = re.compile(r"^(\d+)\.0+$")


def current_date() -> date:
    """Today, for the date checks (one place to pin it in tests)."""
    return clock.today()


class FileChecks:
    """What the checks of one file share across its sheets: the errors, the inventory numbers
    seen (duplicates are errors wherever they are) and the date of the checks."""

    def __init__(self, today: date | None = None):
        self.today = today or current_date()
        self.errors: list[RowError] = []
        self.first_row_of: dict[str, int | tuple[str, int]] = {}
        self.first_sheet: str | None = None  # the sheet whose rows are stored as bare ints
        self._notes: list[str] = []
        self.exams_ahead: list[int] = []  # rows whose last examination is after today

    def notes(self) -> list[str]:
        notes = list(self._notes)
        if self.exams_ahead:
            rows = ", ".join(map(str, self.exams_ahead[:10]))
            more = " и др." if len(self.exams_ahead) > 10 else ""
            notes.append(
                f"В {len(self.exams_ahead)} строк(ах) дата последнего освидетельствования позже "
                f"сегодняшней ({self.today:%d.%m.%Y}) — принята как указана (строки {rows}"
                f"{more}). Проверьте, что освидетельствование проведено."
            )
        return notes


def _cell_parse(parse: Callable[[Any], Any], raw: Any) -> Any:
    if raw.__class__ is CellError or (raw.__class__ is str and "#" in raw[:3]):
        error = formula_error(raw)
        if error is not None:
            return (None, error, False)
    return _BLANK if is_blank(raw) else parse(raw)


class RowValidator:
    """Validates the data rows of one sheet one by one and remembers what the file-level
    checks need."""

    def __init__(
        self,
        header: HeaderMatch,
        checks: FileChecks | None = None,
        sheet: str = "",
        formats: dict[tuple[int, int], str] | None = None,
        *,
        today: date | None = None,
    ):
        self.checks = checks or FileChecks(today=today)
        self.sheet = sheet
        if self.checks.first_sheet is None:
            self.checks.first_sheet = sheet
        self.first_sheet = self.checks.first_sheet == sheet
        today = self.checks.today
        self.titles = {name: header.titles.get(col, "") for col, name in header.columns.items()}
        parsers = field_parsers(today, self.titles)
        limits = text_limits()
        # (column, field, kind, parser, cache lookup, cache, longest text): what the parsers
        # return is cached per column by cell value
        self.plan = []
        for col, name in sorted(header.columns.items()):
            results: dict[str, Any] = {}
            kind, parse = parsers[name]
            limit = limits.get(name, NOTES_MAX_LENGTH)
            self.plan.append((col, name, kind, parse, results.get, results, limit))
        self.columns = {name: col for col, name in header.columns.items()}
        self.errors = self.checks.errors
        # number formats read from the file (.xlsx): percent cells of the wear column, zero
        # masks of the inventory column; None: the format gives no styles (.xls, .ods)
        self.styled = formats is not None
        formats = formats or {}
        wear_col = self.columns.get("wear_pct")
        inv_col = self.columns.get("inventory_no")
        self.percent_rows = {r for (r, c), k in formats.items() if c == wear_col and k == PERCENT}
        self.zero_masks = {r: k for (r, c), k in formats.items() if c == inv_col and k != PERCENT}
        self._bare_wear: list[dict[str, Any]] = []
        self._bare_wear_above_one = False
        self._bare_wear_fractional = False
        self._percent_formatted = 0
        self.last_values: dict[str, Any] = {}  # what the last row held, valid or not

    def check(self, excel_row: int, row: list[Any]) -> ParsedRow | None:
        """The parsed row, or None after recording its errors in ``errors``."""
        values: dict[str, Any] = {}
        self.last_values = values
        approximate: list[str] | None = None
        failed: list[tuple[str, Any, str]] | None = None
        width = len(row)
        for col, name, kind, parse, cached, results, limit in self.plan:
            raw = row[col] if col < width else None
            if raw is None:
                continue
            if kind is PLAIN or kind is CODE:
                if raw.__class__ is str:
                    text = " ".join(raw.split())
                    if not text or (text[0] in _PLACEHOLDER_START and text.lower() in PLACEHOLDERS):
                        continue
                    if text[0] == "#" and (error := formula_error(text)):
                        failed = failed or []
                        failed.append((name, raw, error))
                        continue
                    if kind is CODE and text[-1] == "0" and _WHOLE_WITH_ZEROS.match(text):
                        text = text.split(".")[0]  # «1001.0»: a number that became text
                elif raw.__class__ is CellError:
                    failed = failed or []
                    failed.append((name, raw, formula_error(raw)))
                    continue
                else:
                    text = display(raw)
                    if kind is CODE and self.zero_masks and excel_row in self.zero_masks:
                        text = text.zfill(len(self.zero_masks[excel_row]))
                if len(text) <= limit:
                    values[name] = text
                else:
                    failed = failed or []
                    failed.append((name, raw, _too_long(name, len(text), limit)))
                continue
            if raw.__class__ is bool:  # True == 1.0 as a dict key: keep it out of the cache
                result = parse(raw)
            else:
                result = cached(raw)
                if result is None:
                    result = results[raw] = _cell_parse(parse, raw)
                if result is _BLANK:
                    continue

            if result[1] is not None:
                failed = failed or []
                failed.append((name, raw, result[1]))
                continue
            value = values[name] = result[0]
            if kind is DATE:
                if result[2]:
                    approximate = approximate or []
                    approximate.append(name)
            elif kind is WEAR and not (raw.__class__ is str and "%" in raw):
                if self.percent_rows and excel_row in self.percent_rows:
                    wear = round(value * 100, 6)  # 0.45 shown as 45 %
                    if wear > 100:
                        failed = failed or []
                        failed.append((name, raw, "износ должен быть от 0 до 100 %"))
                        del values[name]
                    else:
                        values[name] = wear
                        self._percent_formatted += 1
                elif value > 1:
                    self._bare_wear_above_one = True
                else:
                    if not value.is_integer():
                        self._bare_wear_fractional = True
                    self._bare_wear.append(values)

        failed = self._check_row(excel_row, row, values, failed)
        if failed:
            sheet = self.sheet
            for name, raw, message in failed:
                self.errors.append(
                    RowError(excel_row, self.titles[name], display(raw), message, sheet)
                )
            return None
        return ParsedRow(
            excel_row,
            values,
            frozenset(approximate) if approximate else _NO_APPROXIMATE,
            self.sheet,
        )

    def _check_row(
        self, excel_row: int, row: list[Any], values: dict[str, Any], failed: list | None
    ) -> list | None:
        """Required fields, dates in order, inventory numbers unique within the file."""
        number = values.get("inventory_no")
        if number is None or "name" not in values:
            failed = failed or []
            bad = {name for name, _, _ in failed}
            for name, message in MISSING_MESSAGES.items():
                if name not in values and name not in bad:
                    lone = len(values) == 1
                    failed.append((name, None, message + (_GROUP_HINT if lone else "")))
        commissioned = values.get("commissioned_on")
        year = values.get("manufacture_year")
        if commissioned is not None and year is not None and commissioned.year < year:
            failed = failed or []
            failed.append(
                (
                    "commissioned_on",
                    row[self.columns["commissioned_on"]],
                    f"ввод в эксплуатацию ({commissioned:%d.%m.%Y}) раньше года изготовления "
                    f"({year}); ожидается дата не раньше {year} года",
                )
            )
        last, following = values.get("last_inspection_on"), values.get("next_inspection_on")
        if last is not None and last > self.checks.today:
            self.checks.exams_ahead.append(excel_row)
        if last is not None and following is not None and following <= last:
            failed = failed or []
            failed.append(
                (
                    "next_inspection_on",
                    row[self.columns["next_inspection_on"]],
                    f"следующее освидетельствование ({following:%d.%m.%Y}) не позже последнего "
                    f"({last:%d.%m.%Y}); ожидается дата после последнего освидетельствования",
                )
            )
        if number is not None:
            key = inventory_key(number)
            # the Excel row alone on the first sheet read (the common case), else (sheet, row)
            here = excel_row if self.first_sheet else (self.sheet, excel_row)
            first = self.checks.first_row_of.setdefault(key, here)
            if first != here:
                failed = failed or []
                sheet, row = (self.checks.first_sheet, first) if first.__class__ is int else first
                where = f"строку {row}" if sheet == self.sheet else f"лист «{sheet}», строку {row}"
                failed.append(
                    ("inventory_no", number, f"инвентарный номер повторяется (см. {where})")
                )
        return failed

    def finish(self) -> list[str]:
        """File-level corrections after the last row; returns notes for the user."""
        notes: list[str] = []
        title = self.titles.get("wear_pct", "")
        if self._percent_formatted:
            notes.append(
                f"Износ в столбце «{title}» записан долями единицы в процентном формате "
                f"(0,45 = 45 %) — {self._percent_formatted} знач. пересчитаны в проценты."
            )
        if not (self._bare_wear and self._bare_wear_fractional):
            return notes
        if self._bare_wear_above_one:
            notes.append(
                f"В столбце «{title}» есть значения меньше 1 % рядом с обычными процентами "
                "(например, 0,45 и 45). Если это доли единицы, укажите их в процентах."
            )
            return notes
        if self.styled:
            # .xlsx tells the format of each cell: these are plain numbers, not percents
            notes.append(
                f"В столбце «{title}» числа износа без «%» не больше 1 (например, 0,45) — они "
                "приняты как проценты. Если это доли единицы, задайте ячейкам процентный формат "
                "или укажите проценты."
            )
            return notes
        # .xls and .ods: no number formats are read, so «0.45 shown as 45 %» is recognised
        # per column: every plain number in the wear column lies within 0..1
        for values in self._bare_wear:
            values["wear_pct"] = round(values["wear_pct"] * 100, 6)
        notes.append(
            f"Износ в столбце «{title}» записан долями единицы (0,45 = 45 %) — значения "
            "пересчитаны в проценты."
        )
        return notes
