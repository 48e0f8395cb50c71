"""Step 5 of reading: validate each data row (each cell read by its field's parser, required
fields, cross-field and in-file checks), fill in its facility, and collect the sheet's rows.

Hand-written on purpose: a plan of (column, field, parser) built once per file and a tight loop
per row, so 100 000 rows × 14 columns take a fraction of a second.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from functools import cache
from typing import TYPE_CHECKING, Any

from core import clock
from equipment.imports.excel.field_parsers import CODE, DATE, PLAIN, WEAR, field_parsers
from equipment.imports.excel.fields import FIELD_LABELS
from equipment.imports.excel.messages import N_, Message
from equipment.imports.excel.result import ParsedRow, RowError
from equipment.imports.excel.values import (
    PLACEHOLDERS,
    WEAR_RANGE,
    CellError,
    display,
    formula_error,
    is_blank,
    split_facility,
)
from equipment.imports.excel.xmlscan import PERCENT
from equipment.inventory import inventory_key

if TYPE_CHECKING:
    from equipment.imports.excel.headers import HeaderMatch
    from equipment.imports.excel.rows import DataRow

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


def _too_long(name: str, length: int, limit: int) -> Message:
    return N_(
        "too long a value in the field «%(field)s» (length %(length)s); expected at most "
        "%(limit)s characters",
        field=FIELD_LABELS[name],
        length=length,
        limit=limit,
    )


MISSING_MESSAGES = {
    "inventory_no": N_("no inventory number; it is required and must be unique"),
    "name": N_("no name of the technical device; it is required"),
}


def _with_group_hint(message: Message) -> Message:
    return N_(
        "%(message)s (if this is the name of a facility, not a device, start the row with «ОПО:»)",
        message=message,
    )


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
        self.exams_ahead: list[int] = []  # rows whose last examination is after today

    def notes(self) -> list[str]:
        if not self.exams_ahead:
            return []
        return [
            str(
                N_(
                    "In %(count)s row(s) the last examination date is after today "
                    "(%(today)s); taken as written (rows %(rows)s%(more)s). Check that the "
                    "examination took place.",
                    count=len(self.exams_ahead),
                    today=f"{self.today:%d.%m.%Y}",
                    rows=", ".join(map(str, self.exams_ahead[:10])),
                    more=N_(" and others") if len(self.exams_ahead) > 10 else "",
                )
            )
        ]


def _cell_parse(parse: Callable[[Any], Any], raw: Any) -> Any:
    if raw.__class__ is CellError or (raw.__class__ is str and "#" in raw[:3]):
        error = formula_error(raw)
        if error is not None:
            return (None, error, False)
    return _BLANK if is_blank(raw) else parse(raw)


def set_facility(values: dict[str, Any], group_code: str | None, group_name: str | None):
    """Fill the facility of a row from its own cells or the group above; return its label."""
    code = values.get("facility_code")
    name = values.get("facility_name")
    if code is None and name is not None:
        # a column titled «ОПО» may hold «OPO-01» or «OPO-01 Котельная №1»
        code, name = split_facility(name)
        if code is not None:
            values["facility_code"] = code
            if name is None:
                del values["facility_name"]
            else:
                values["facility_name"] = name
    elif code is None:
        code, name = group_code, group_name
        if code is not None:
            values["facility_code"] = code
        if name is not None:
            values["facility_name"] = name
    return code or name


class RowValidator:
    """Validates the data rows of one sheet one by one, keeps the valid ones (``rows``) and
    what the invalid ones held (``invalid_values``), and remembers what the file-level checks
    need."""

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
        self.titles = {name: header.titles.get(col, "") for col, name in header.columns.items()}
        self.plan = _plan(header, self.checks.today, self.titles)
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
        self.rows: list[ParsedRow] = []
        self.invalid_values: dict[tuple[str, int], dict[str, Any]] = {}
        self.approximate_rows = 0

    def take(self, row: DataRow) -> str | None:
        """Validate a data row of the walker and fill in its facility; return the facility's
        label (code, or name without a code)."""
        excel_row, cells, group_code, group_name = row
        parsed = self.check(excel_row, cells)
        values = self.last_values
        label = set_facility(values, group_code, group_name)
        if parsed is None:
            self.invalid_values[(self.sheet, excel_row)] = values
        else:
            if parsed.approximate:
                self.approximate_rows += 1
            self.rows.append(parsed)
        return label

    def check(self, excel_row: int, row: list[Any]) -> ParsedRow | None:
        """The parsed row, or None after recording its errors in ``errors``."""
        values: dict[str, Any] = {}
        self.last_values = values
        failed, approximate = self._read_cells(excel_row, row, values)
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

    def _read_cells(
        self, excel_row: int, row: list[Any], values: dict[str, Any]
    ) -> tuple[list | None, list[str] | None]:
        """Parse each cell of the plan into ``values``: (the cells that failed as (field,
        cell, message), the date fields read as approximate)."""
        approximate: list[str] | None = None
        failed: list[tuple[str, Any, Message]] | None = None
        width = len(row)
        for col, name, kind, parse, cached, results, limit in self.plan:
            raw = row[col] if col < width else None
            if raw is None:
                continue
            if kind is PLAIN or kind is CODE:
                text = self._text(excel_row, kind, raw)
                if text is None:
                    continue
                if text.__class__ is Message:
                    failed = failed or []
                    failed.append((name, raw, text))
                elif len(text) <= limit:
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
            values[name] = result[0]
            if kind is DATE:
                if result[2]:
                    approximate = approximate or []
                    approximate.append(name)
            elif kind is WEAR and not (raw.__class__ is str and "%" in raw):
                error = self._wear(excel_row, values)
                if error is not None:
                    failed = failed or []
                    failed.append((name, raw, error))
        return failed, approximate

    def _text(self, excel_row: int, kind: str, raw: Any) -> str | Message | None:
        """A text cell trimmed; None when it says nothing («—», «н/д»), a Message for an
        Excel error."""
        if raw.__class__ is str:
            text = " ".join(raw.split())
            if not text or (text[0] in _PLACEHOLDER_START and text.lower() in PLACEHOLDERS):
                return None
            if text[0] == "#" and (error := formula_error(text)):
                return error
            if kind is CODE and text[-1] == "0" and _WHOLE_WITH_ZEROS.match(text):
                text = text.split(".")[0]  # «1001.0»: a number that became text
            return text
        if raw.__class__ is CellError:
            return formula_error(raw)
        text = display(raw)
        if kind is CODE and self.zero_masks and excel_row in self.zero_masks:
            text = text.zfill(len(self.zero_masks[excel_row]))
        return text

    def _wear(self, excel_row: int, values: dict[str, Any]) -> Message | None:
        """A wear number without «%»: a fraction in a percent-formatted cell is turned into
        percent; plain numbers are remembered for the column-wide reading (``finish``)."""
        value = values["wear_pct"]
        if self.percent_rows and excel_row in self.percent_rows:
            wear = round(value * 100, 6)  # 0.45 shown as 45 %
            if wear > 100:
                del values["wear_pct"]
                return WEAR_RANGE
            values["wear_pct"] = wear
            self._percent_formatted += 1
        elif value > 1:
            self._bare_wear_above_one = True
        else:
            if not value.is_integer():
                self._bare_wear_fractional = True
            self._bare_wear.append(values)
        return None

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
                    failed.append((name, None, _with_group_hint(message) if lone else message))
        commissioned = values.get("commissioned_on")
        year = values.get("manufacture_year")
        if commissioned is not None and year is not None and commissioned.year < year:
            failed = failed or []
            failed.append(
                (
                    "commissioned_on",
                    row[self.columns["commissioned_on"]],
                    N_(
                        "commissioning (%(date)s) before the year of manufacture (%(year)s); "
                        "expected a date no earlier than %(year)s",
                        date=f"{commissioned:%d.%m.%Y}",
                        year=year,
                    ),
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
                    N_(
                        "the next examination (%(next)s) is not after the last one (%(last)s); "
                        "expected a date after the last examination",
                        next=f"{following:%d.%m.%Y}",
                        last=f"{last:%d.%m.%Y}",
                    ),
                )
            )
        if number is not None:
            duplicate = self._duplicate(excel_row, number)
            if duplicate is not None:
                failed = failed or []
                failed.append(("inventory_no", number, duplicate))
        return failed

    def _duplicate(self, excel_row: int, number: str) -> Message | None:
        """Where the inventory number was seen first in the file, if not in this row."""
        # the Excel row alone on the first sheet read (the common case), else (sheet, row)
        here = excel_row if self.first_sheet else (self.sheet, excel_row)
        first = self.checks.first_row_of.setdefault(inventory_key(number), here)
        if first == here:
            return None
        sheet, row = (self.checks.first_sheet, first) if first.__class__ is int else first
        if sheet == self.sheet:
            return N_("the inventory number repeats (see row %(row)s)", row=row)
        return N_(
            "the inventory number repeats (see the sheet «%(sheet)s», row %(row)s)",
            sheet=sheet,
            row=row,
        )

    def finish(self) -> list[str]:
        """File-level corrections after the last row; returns notes for the user."""
        notes = [str(note) for note in self._wear_notes()]
        if self.approximate_rows:
            if self.sheet:
                note = N_(
                    "In %(count)s row(s) of the sheet «%(sheet)s» only a year (or a month and a "
                    "year) is given instead of a date; the first day is taken.",
                    count=self.approximate_rows,
                    sheet=self.sheet,
                )
            else:
                note = N_(
                    "In %(count)s row(s) only a year (or a month and a year) is given instead "
                    "of a date; the first day is taken.",
                    count=self.approximate_rows,
                )
            notes.append(str(note))
        return notes

    def _wear_notes(self) -> list[Message]:
        notes: list[Message] = []
        title = self.titles.get("wear_pct", "")
        if self._percent_formatted:
            notes.append(
                N_(
                    "Wear in the column «%(column)s» is written as fractions of one in percent "
                    "format (0.45 = 45 %%); %(count)s values are converted to percent.",
                    column=title,
                    count=self._percent_formatted,
                )
            )
        if not (self._bare_wear and self._bare_wear_fractional):
            return notes
        if self._bare_wear_above_one:
            notes.append(
                N_(
                    "The column «%(column)s» has values below 1 %% beside ordinary percents "
                    "(e.g. 0.45 and 45). If these are fractions of one, give them in percent.",
                    column=title,
                )
            )
            return notes
        if self.styled:
            # .xlsx tells the format of each cell: these are plain numbers, not percents
            notes.append(
                N_(
                    "In the column «%(column)s» wear numbers without «%%» are at most 1 (e.g. "
                    "0.45); they are taken as percents. If these are fractions of one, give the "
                    "cells a percent format or write the percents.",
                    column=title,
                )
            )
            return notes
        # .xls and .ods: no number formats are read, so «0.45 shown as 45 %» is recognised
        # per column: every plain number in the wear column lies within 0..1
        for values in self._bare_wear:
            values["wear_pct"] = round(values["wear_pct"] * 100, 6)
        notes.append(
            N_(
                "Wear in the column «%(column)s» is written as fractions of one (0.45 = 45 %%); "
                "the values are converted to percent.",
                column=title,
            )
        )
        return notes


def _plan(header: HeaderMatch, today: date, titles: dict[str, str]) -> list[tuple]:
    """(column, field, kind, parser, cache lookup, cache, longest text) per mapped column:
    what the parsers return is cached per column by cell value."""
    parsers = field_parsers(today, titles)
    limits = text_limits()
    plan = []
    for col, name in sorted(header.columns.items()):
        results: dict[str, Any] = {}
        kind, parse = parsers[name]
        plan.append(
            (col, name, kind, parse, results.get, results, limits.get(name, NOTES_MAX_LENGTH))
        )
    return plan
