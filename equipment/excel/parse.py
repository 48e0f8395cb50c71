"""Read an asset list from Excel: find the header, walk the rows, validate, report.

Rows that are not data are recognised and skipped: blank rows, the «1 2 3 …» column-number
line and a units line under the header, repeated headers (1C prints them on every page),
totals («Итого», «Всего», «Total») and the signatures after them, unused numbered template
lines, and facility group rows («ОПО: Котельная №2», or a row whose only text stands in or
left of the number and name columns, merged across the row or not) whose facility is carried
to the rows below.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from equipment.excel.headers import (
    FIELD_LABELS,
    REQUIRED_FIELDS,
    ColumnMapping,
    HeaderMatch,
    find_header,
    is_column_numbers_row,
)
from equipment.excel.reader import FileRejected, Limits, NumberedRow, open_sheet_rows
from equipment.excel.validate import ParsedRow, RowError, RowValidator

_TOTALS = re.compile(r"(итого|всего|итог|total|grand total|subtotal|барлығы|жиыны)\b", re.I)
_TOTALS_FIRST = frozenset("иИвВtTgGsSбБжЖ")
_GROUP_PREFIX = re.compile(
    r"\s*(?:опо|объект опо|объект|опасный производственный объект|площадка|участок|"
    r"facility|site|қөо|нысан)\s*[:–—-]\s*",
    re.I,
)
_FACILITY_CODE = re.compile(r"^(?:[A-Za-zА-Яа-яЁё]{1,6}[-_/.]?)?\d{1,10}(?:[-/.]\d{1,6})*$")
_CODE_AND_NAME = re.compile(r"^(\S+)\s*(?:[-–—:]\s*|\s)(.+)$")


@dataclass
class ParseResult:
    rows: list[ParsedRow]
    errors: list[RowError]
    rows_read: int  # data rows: without header, blank, group, totals rows
    header_row: int
    mapping: dict[str, str]  # column title -> field
    ignored_columns: list[str]
    sheet_name: str
    facility_labels: list[str]  # facility codes (or names when no code) in order of appearance
    notes: list[str] = field(default_factory=list)  # what was corrected, for the preview
    # what could be read of each invalid row (inventory number, facility...), by Excel row
    invalid_values: dict[int, dict[str, Any]] = field(default_factory=dict)

    @property
    def valid_count(self) -> int:
        return len(self.rows)

    @property
    def invalid_count(self) -> int:
        return len({error.excel_row for error in self.errors})


def parse_asset_list(
    data: bytes,
    filename: str,
    *,
    limits: Limits = Limits(),  # noqa: B008 - frozen dataclass, safe as a default
    mapping: ColumnMapping | None = None,
) -> ParseResult:
    """Parse an uploaded asset list. Raises ``FileRejected`` when the file cannot be used.

    ``mapping`` ({column title or 0-based index: field, or None to skip}) overrides the
    automatic recognition of columns.
    """

    def score(peek: Sequence[NumberedRow]) -> float:
        match = find_header(peek, mapping, min_fields=1)
        return 0.0 if match is None else float(match.score)

    sheet = open_sheet_rows(data, filename, limits, score=score)
    header = find_header(sheet.peek, mapping)
    if header is None:
        raise FileRejected(
            f"На листе «{sheet.sheet_name}» не найдена строка заголовков: в первых строках нет "
            "столбцов вроде «Инвентарный номер», «Наименование», «Вид ТУ», «Год изготовления». "
            "Проверьте, что это список оборудования, или укажите столбцы вручную."
        )
    _require_fields(header, sheet.sheet_name)

    walker = _RowWalker(header)
    for excel_row, row in sheet.rows():
        if excel_row > header.header_row and excel_row not in header.skip_rows:
            walker.take(excel_row, row)
    notes = walker.validator.finish()
    if walker.approximate_rows:
        notes.append(
            f"В {walker.approximate_rows} строк(ах) вместо даты указан только год (или месяц и "
            "год) — принято первое число."
        )
    return ParseResult(
        rows=walker.rows,
        errors=walker.validator.errors,
        rows_read=walker.rows_read,
        header_row=header.header_row,
        mapping=header.mapping,
        ignored_columns=list(header.ignored),
        sheet_name=sheet.sheet_name,
        facility_labels=list(walker.facilities),
        notes=notes,
        invalid_values=walker.invalid_values,
    )


class MissingColumns(FileRejected):
    """Required columns are not recognised; the header found is kept for a mapping by hand."""

    def __init__(self, message: str, header: HeaderMatch, sheet_name: str, missing: list[str]):
        super().__init__(message)
        self.header = header
        self.sheet_name = sheet_name
        self.missing = missing  # labels of the missing fields («Инвентарный номер»)


def _require_fields(header: HeaderMatch, sheet_name: str) -> None:
    found = set(header.columns.values())
    missing = [FIELD_LABELS[name] for name in REQUIRED_FIELDS if name not in found]
    if not missing:
        return
    recognised = ", ".join(f"«{title}»" for title in header.mapping) or "нет"
    unknown = ", ".join(f"«{title}»" for title in header.ignored) or "нет"
    names = ", ".join(f"«{name}»" for name in missing)
    raise MissingColumns(
        f"На листе «{sheet_name}» в строке заголовков {header.header_row} нет обязательных "
        f"столбцов: {names}. Распознаны: {recognised}; не распознаны: {unknown}. "
        "Переименуйте столбцы или укажите соответствие вручную.",
        header,
        sheet_name,
        missing,
    )


class _RowWalker:
    """Classifies each row below the header and feeds the data rows to the validator."""

    def __init__(self, header: HeaderMatch):
        self.validator = RowValidator(header)
        self.rows: list[ParsedRow] = []
        self.rows_read = 0
        self.approximate_rows = 0
        self.facilities: dict[str, None] = {}  # an ordered set of labels
        self.invalid_values: dict[int, dict[str, Any]] = {}  # what invalid rows held
        self.group_code: str | None = None
        self.group_name: str | None = None
        self.after_totals = False
        columns = {name: col for col, name in header.columns.items()}
        self.key_columns = [columns[name] for name in REQUIRED_FIELDS]
        self.last_key_column = max(self.key_columns)
        self.field_columns = sorted(header.columns)
        self.header_cells = {col: title for col, title in header.titles.items() if title}

    def take(self, excel_row: int, row: list[Any]) -> None:
        cells = [value for value in row if value is not None]
        if not cells:
            return
        first = cells[0]
        if first.__class__ is str:
            if first.isspace() and all(v.__class__ is str and v.isspace() for v in cells):
                return  # blank
            if _starts_totals(first):
                self.after_totals = True
                return
            if (len(cells) == 1 or cells[1] == first) and self._take_group(row, cells):
                return
        if len(cells) > 1 and cells[1].__class__ is str and _starts_totals(cells[1]):
            self.after_totals = True
            return
        if _number_like(cells[-1]) and _number_like(first) and is_column_numbers_row(cells):
            return
        if self._is_repeated_header(row):
            return
        if not self._has_key_values(row):
            if not self._has_any_field(row):
                return  # only a running number or unknown columns: an unused template line
            if self.after_totals and len(cells) <= 3:
                return  # signatures and remarks under the totals
        self.rows_read += 1
        parsed = self.validator.check(excel_row, row)
        label = self._set_facility(self.validator.last_values)
        if label is not None and label not in self.facilities:
            self.facilities[label] = None
        if parsed is None:
            self.invalid_values[excel_row] = self.validator.last_values
        else:
            if parsed.approximate:
                self.approximate_rows += 1
            self.rows.append(parsed)

    # -------------------------------------------------------------------- row kinds

    def _take_group(self, row: list[Any], cells: list[Any]) -> bool:
        """A row with one text only (a group label, maybe merged across the row)."""
        label = cells[0]
        if any(value != label for value in cells) or not any(ch.isalpha() for ch in label):
            return False
        first_col = next(i for i, value in enumerate(row) if value is not None)
        prefixed = _GROUP_PREFIX.match(label)
        if first_col > self.last_key_column and not prefixed:
            return False  # a lone value right of the number and name is a data row with gaps
        text = " ".join(label[prefixed.end() :].split()) if prefixed else " ".join(label.split())
        if not text:
            return False
        self.group_code, self.group_name = _split_facility(text)
        label = self.group_code or self.group_name
        if label not in self.facilities:
            self.facilities[label] = None
        self.after_totals = False
        return True

    def _is_repeated_header(self, row: list[Any]) -> bool:
        """1C repeats the header on every printed page."""
        col = self.key_columns[0]
        value = row[col] if col < len(row) else None
        title = self.header_cells.get(col)
        if value.__class__ is not str or title is None or value[:2] != title[:2]:
            return False
        same = sum(
            1
            for c, t in self.header_cells.items()
            if c < len(row) and isinstance(row[c], str) and " ".join(row[c].split()) == t
        )
        return 2 * same >= len(self.header_cells)

    def _has_key_values(self, row: list[Any]) -> bool:
        inventory, name = self.key_columns
        width = len(row)
        return (
            inventory < width
            and name < width
            and row[inventory] is not None
            and row[name] is not None
        )

    def _has_any_field(self, row: list[Any]) -> bool:
        return any(col < len(row) and row[col] is not None for col in self.field_columns)

    # -------------------------------------------------------------------- facilities

    def _set_facility(self, values: dict[str, Any]) -> str | None:
        """Fill the facility of a row from its own cells or the group above; return its label."""
        code = values.get("facility_code")
        name = values.get("facility_name")
        if code is None and name is not None:
            # a column titled «ОПО» may hold «OPO-01» or «OPO-01 Котельная №1»
            code, name = _split_facility(name)
            if code is not None:
                values["facility_code"] = code
                if name is None:
                    del values["facility_name"]
                else:
                    values["facility_name"] = name
        elif code is None:
            code, name = self.group_code, self.group_name
            if code is not None:
                values["facility_code"] = code
            if name is not None:
                values["facility_name"] = name
        return code or name


def _starts_totals(text: str) -> bool:
    return text[:1] in _TOTALS_FIRST and _TOTALS.match(text) is not None


def _number_like(value: Any) -> bool:
    cls = value.__class__
    return cls is float or cls is int or (cls is str and value.strip().isdecimal())


def _split_facility(text: str) -> tuple[str | None, str | None]:
    """«OPO-02» → code; «OPO-02 Котельная №2» → code and name; «Котельная №2» → name."""
    if _FACILITY_CODE.match(text):
        return text, None
    match = _CODE_AND_NAME.match(text)
    if match and _FACILITY_CODE.match(match[1]) and any(c.isalpha() for c in match[2]):
        return match[1], match[2].strip()
    return None, text
