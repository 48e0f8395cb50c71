"""Step 4 of reading: walk the rows of a sheet below its header and tell the data rows from
the rest.

Rows that are not data are recognised and listed as skipped with the reason: the «1 2 3 …»
column-number line and a units line under the header, repeated headers (1C prints them on every
page), page marks («Страница 2»), section headings («1. Грузоподъёмные краны»), totals
(«Итого», «Всего», «Total») and the signatures after them. Blank rows and unused numbered
template lines are passed over. Facility group rows («ОПО: Котельная №2»; a lone title merged
across the row or standing left of the number and name columns) carry their facility to the
rows below. A lone text in the number or name column is a data row with missing fields, so no
row with a value in a recognised column ever vanishes: it is imported, reported invalid or
listed as skipped.

``RowWalker.walk`` yields, in sheet order, a ``FacilityGroup`` where a group row starts one and
a ``DataRow`` ``(excel_row, cells, group code, group name)`` for each data row, for the
validator (step 5).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from equipment.imports.excel.fields import REQUIRED_FIELDS
from equipment.imports.excel.messages import N_, Message
from equipment.imports.excel.result import SkippedRow
from equipment.imports.excel.values import (
    display,
    is_column_numbers_row,
    parse_device_type,
    split_facility,
)

if TYPE_CHECKING:
    from equipment.imports.excel.headers import HeaderMatch

# (Excel row, its cells, the facility code and name of the group row above it)
DataRow = tuple[int, list[Any], str | None, str | None]


_DATA, _GROUP = object(), object()  # what ``RowWalker.take`` found


class FacilityGroup:
    """A group row («ОПО: Котельная №2»): its facility's label, in the order rows name them."""

    __slots__ = ("label",)

    def __init__(self, label: str):
        self.label = label


_TOTALS = re.compile(r"(итого|всего|итог|total|grand total|subtotal|барлығы|жиыны)\b", re.I)
_TOTALS_FIRST = frozenset("иИвВtTgGsSбБжЖ")
_GROUP_PREFIX = re.compile(
    r"\s*(?:(?:опо|объект опо|объект|опасный производственный объект|площадка|участок|"
    r"facility|site|қөо|нысан)(?:\s*[:–—]|\s+-)\s*"  # not «ОПО-01»: that is a code
    # «ОПО «Котельная №2»», «Опасный производственный объект "Склад ГСМ"»: a quoted name
    r"|(?:опо|опасный производственный объект|объект|қөо)\s+(?=[«\"“„']))",
    re.I,
)
_GROUP_FIRST = frozenset("оОoOпПуУfFsSқҚнН")
_PAGE_MARK = re.compile(
    r"^\s*(?:(?:страница|стр|лист|page|бет|парақ)\.?\s*№?\s*\d{1,4}(?:\s*(?:из|of|/)\s*\d{1,4})?"
    r"|[-–—]\s*\d{1,4}\s*[-–—])\s*$",
    re.I,
)
_NUMBERED_HEADING = re.compile(
    r"^\s*(?:раздел\s+)?(?:\d{1,2}(?:\.\d{1,2})*[.)]?|[IVXLC]{1,6}[.)])\s+(?=\D)(.+)$", re.I
)
# words of a facility's name: a heading with one of them is a facility, not a device section
_FACILITY_WORDS = re.compile(
    r"(котельн|цех|участ|станци|склад|площадк|парк|объект|баз[аы]\b|хозяйств|служб|комплекс|"
    r"производств|месторожден|рудник|карьер|тэц|грэс|гру\b|подстанц|терминал|нефтебаз|"
    r"фабрик|завод|корпус|отделени|установк|site|plant|facility|цехі|алаң|нысан)",
    re.I,
)
_SIGNATURE = re.compile(
    r"(инженер|директор|начальник|руководител|главн|подпис|исполнител|ответствен|составил|"
    r"проверил|утвержда|согласован|бухгалтер|механик|энергетик|специалист|м\.\s?п\.|_{3,}|"
    r"\b[А-ЯЁA-Z]\.\s?[А-ЯЁA-Z]\.|[А-ЯЁ][а-яё]+\s+[А-ЯЁ]\.\s?[А-ЯЁ]\.)",
)


class RowWalker:
    """Classifies each row of one sheet below its header; skipped rows are kept with the
    reason in ``skipped``, data rows counted in ``rows_read``."""

    def __init__(self, header: HeaderMatch, sheet_name: str, max_rows: int):
        self.sheet_name = sheet_name
        self.header_row = header.header_row
        self.skip_rows = header.skip_rows
        self.rows_read = 0
        self.max_rows = max_rows
        self.skipped: list[SkippedRow] = []
        self.group_code: str | None = None
        self.group_name: str | None = None
        self.group_started = False
        self.after_totals = False
        columns = {name: col for col, name in header.columns.items()}
        self.key_columns = [columns[name] for name in REQUIRED_FIELDS]
        self.first_key_column = min(self.key_columns)
        self.last_key_column = max(self.key_columns)
        self.field_columns = sorted(header.columns)
        self.header_cells = {col: title for col, title in header.titles.items() if title}
        self.number_columns = header.number_columns

    def walk(self, rows: Iterable[tuple[int, list[Any]]]) -> Iterator[DataRow | FacilityGroup]:
        """The data rows and group rows below the header; beyond ``max_rows`` data rows are
        counted only (the file is refused with the count)."""
        for excel_row, row in rows:
            if excel_row in self.skip_rows:
                self.skip(excel_row, row, N_("a units or column-number line"))
            elif excel_row > self.header_row:
                kind = self.take(excel_row, row)
                if kind is _DATA:
                    self.rows_read += 1
                    if self.rows_read <= self.max_rows:
                        yield excel_row, row, self.group_code, self.group_name
                elif kind is _GROUP:
                    yield FacilityGroup(self.group_code or self.group_name)

    def skip(self, excel_row: int, row: list[Any], reason: Message) -> None:
        if any(v is not None for v in row):
            self.skipped.append(SkippedRow(self.sheet_name, excel_row, str(reason), _shown(row)))

    def take(self, excel_row: int, row: list[Any]) -> object:
        """What the row is: ``_DATA``, ``_GROUP`` (a facility group starts), or None (blank or
        skipped)."""
        cells = [value for value in row if value is not None]
        if not cells:
            return None
        first = cells[0]
        if first.__class__ is str:
            if first.isspace() and all(v.__class__ is str and v.isspace() for v in cells):
                return None  # blank
            if _starts_totals(first):
                return self._totals(excel_row, row)
            if (len(cells) == 1 or cells[1] == first) and self._take_label(excel_row, row, cells):
                return self._started()
            if first[:1] in _GROUP_FIRST and self._take_group_with_numbers(row, cells, first):
                return self._started()
        elif (
            len(cells) > 1
            and cells[1].__class__ is str
            and cells[1][:1] in _GROUP_FIRST
            and self._take_group_with_numbers(row, cells, cells[1])
        ):
            return self._started()
        if len(cells) > 1 and cells[1].__class__ is str and _starts_totals(cells[1]):
            return self._totals(excel_row, row)
        if _number_like(cells[-1]) and _number_like(first) and is_column_numbers_row(cells):
            return self.skip(excel_row, row, N_("a column-number line"))
        if self._is_repeated_header(row):
            return self.skip(excel_row, row, N_("the header row repeated"))
        if not self._has_key_values(row):
            if not self._has_any_field(row):
                # only a running number (an unused template line) or unknown columns
                return self.skip(excel_row, row, self._no_field_reason(row))
            if self.after_totals and self._is_signature(row):
                return self.skip(excel_row, row, N_("signatures after the totals"))
        return _DATA

    def _totals(self, excel_row: int, row: list[Any]) -> None:
        self.after_totals = True
        self.skip(excel_row, row, N_("a totals row"))

    def _started(self) -> object:
        """_GROUP when the row began a facility group, None for a page mark or heading."""
        started, self.group_started = self.group_started, False
        return _GROUP if started else None

    # -------------------------------------------------------------------- row kinds

    def _take_label(self, excel_row: int, row: list[Any], cells: list[Any]) -> bool:
        """A row with one text only (maybe merged across the row): a facility group, a page
        mark, a section heading, or a data row with gaps (False)."""
        label = cells[0]
        alone = all(value == label for value in cells) and any(ch.isalpha() for ch in label)
        prefixed = _GROUP_PREFIX.match(label) if alone else None
        if prefixed:
            return self._group(label[prefixed.end() :])
        if _PAGE_MARK.match(label):
            self.skip(excel_row, row, N_("a page mark"))
            return True
        if not alone:
            return False
        first_col = next(i for i, value in enumerate(row) if value is not None)
        merged = len(cells) > 1
        if first_col > self.last_key_column and not merged:
            return False  # a lone value right of the number and name is a data row with gaps
        if not merged and first_col >= self.first_key_column:
            # a lone number or name: a data row with the other fields missing. When it reads
            # like a facility («Котельная № 3» without «ОПО:»), the group above ends here, so
            # the rows below are not silently put in the previous facility
            if _FACILITY_WORDS.search(label) and not _names_device_class(label):
                self.group_code = self.group_name = None
            return False
        text = " ".join(label.split())
        heading = _NUMBERED_HEADING.match(text)
        if heading or _names_device_class(text):
            if _FACILITY_WORDS.search(text):
                return self._group(heading[1] if heading else text)
            self.skip(excel_row, row, N_("a section heading"))
            return True
        return self._group(text)

    def _group(self, text: str) -> bool:
        text = " ".join(text.split())
        if not text:
            return False
        self.group_code, self.group_name = split_facility(text)
        self.group_started = True
        self.after_totals = False
        return True

    def _take_group_with_numbers(self, row: list[Any], cells: list[Any], label: str) -> bool:
        """«ОПО: Котельная №1» with a running number before it or subtotals after it (1C)."""
        prefixed = _GROUP_PREFIX.match(label)
        if not prefixed:
            return False
        if any(v.__class__ is str and v != label and not _number_like(v) for v in cells):
            return False
        if any(v.__class__ is not str and not _number_like(v) for v in cells):
            return False
        return self._group(label[prefixed.end() :])

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

    def _is_signature(self, row: list[Any]) -> bool:
        """«Главный инженер ____ Иванов И. И.» under the totals."""
        texts = [v for v in row if v is not None]
        if not all(v.__class__ is str for v in texts) or len(texts) > 4:
            return False
        return any(_SIGNATURE.search(v) for v in texts)

    def _has_key_values(self, row: list[Any]) -> bool:
        inventory, name = self.key_columns
        width = len(row)
        return (
            inventory < width
            and name < width
            and row[inventory] is not None
            and row[name] is not None
        )

    def _no_field_reason(self, row: list[Any]) -> Message:
        if any(v is not None and c not in self.number_columns for c, v in enumerate(row)):
            return N_("values only in columns not recognised")
        return N_("an empty template line (only a running number)")

    def _has_any_field(self, row: list[Any]) -> bool:
        return any(col < len(row) and row[col] is not None for col in self.field_columns)


def _names_device_class(text: str) -> bool:
    """«Грузоподъёмные краны», «Сосуды под давлением», «Котлы»: a kind of device."""
    _value, error = parse_device_type(text)
    return error is None or error.msgid.startswith("ambiguous device type")


def _starts_totals(text: str) -> bool:
    return text[:1] in _TOTALS_FIRST and _TOTALS.match(text) is not None


def _number_like(value: Any) -> bool:
    cls = value.__class__
    return cls is float or cls is int or (cls is str and value.strip().isdecimal())


def _shown(row: Sequence[Any]) -> str:
    text = " | ".join(dict.fromkeys(display(v) for v in row if v is not None))
    return text if len(text) <= 120 else text[:120] + "…"
