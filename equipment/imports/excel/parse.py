"""Read an asset list from Excel: find the header, walk the rows, validate, report.

Every visible sheet that is an asset list (its own header with the inventory-number and name
columns) is read, each with its own header, group rows and row numbers; the other sheets are
reported as skipped with the reason.

Rows that are not data are recognised and listed as skipped with the reason: the «1 2 3 …»
column-number line and a units line under the header, repeated headers (1C prints them on every
page), page marks («Страница 2»), section headings («1. Грузоподъёмные краны»), totals
(«Итого», «Всего», «Total») and the signatures after them. Blank rows and unused numbered
template lines are passed over. Facility group rows («ОПО: Котельная №2»; a lone title merged
across the row or standing left of the number and name columns) carry their facility to the
rows below. A lone text in the number or name column is a data row with missing fields, so no
row with a value in a recognised column ever vanishes: it is imported, reported invalid or
listed as skipped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from equipment.imports.excel.headers import (
    COMPUTED_REASON,
    FIELD_LABELS,
    REQUIRED_FIELDS,
    ColumnMapping,
    HeaderMatch,
    find_header,
    is_column_numbers_row,
    match_title,
)
from equipment.imports.excel.reader import (
    FileRejected,
    Limits,
    NumberedRow,
    SheetRows,
    open_workbook,
)
from equipment.imports.excel.validate import FileChecks, ParsedRow, RowError, RowValidator
from equipment.imports.excel.values import parse_date, parse_device_type

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
_FACILITY_CODE = re.compile(r"^(?:[A-Za-zА-Яа-яЁё]{1,6}[-_/.]?)?\d{1,10}(?:[-/.]\d{1,6})*$")
_CODE_AND_NAME = re.compile(r"^(\S+)\s*(?:[-–—:]\s*|\s)(.+)$")
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
_BIN = re.compile(r"\b(?:БИН|BIN|ИИН|БСН)\s*[:№]?\s*(\d{12})\b", re.I)
_AS_OF = re.compile(
    r"(?:по\s+состоянию\s+на|состояние\s+на|дата\s+формирования|сформирован[оа]?|на\s+дату|"
    r"as\s+of|жағдай\s+бойынша|\bна)\s*:?\s*(\d{1,2}[./]\d{1,2}[./]\d{2,4})",
    re.I,
)


@dataclass
class SheetReport:
    """What became of one sheet of the workbook."""

    name: str
    read: bool
    reason: str | None = None  # why it was not read
    header_row: int | None = None
    rows: int = 0  # data rows read

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "read": self.read,
            "reason": self.reason,
            "header_row": self.header_row,
            "rows": self.rows,
        }


@dataclass(frozen=True, slots=True)
class SkippedRow:
    sheet: str
    excel_row: int
    reason: str  # in Russian
    text: str  # what the row held, shortened


@dataclass
class ParseResult:
    rows: list[ParsedRow]
    errors: list[RowError]
    rows_read: int  # data rows: without header, blank, group, totals rows
    header_row: int  # of the first sheet read
    mapping: dict[str, str]  # column title -> field (all sheets read)
    ignored_columns: list[str]
    sheet_name: str  # the first sheet read
    facility_labels: list[str]  # facility codes (or names when no code) in order of appearance
    notes: list[str] = field(default_factory=list)  # what was corrected, for the preview
    # what could be read of each invalid row (inventory number, facility...), by (sheet, row)
    invalid_values: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    sheets: list[SheetReport] = field(default_factory=list)
    skipped_rows: list[SkippedRow] = field(default_factory=list)
    # sheet -> the fields its columns hold (a field a sheet lacks is never erased by its rows)
    sheet_fields: dict[str, frozenset[str]] = field(default_factory=dict)
    ignored_reasons: dict[str, str] = field(default_factory=dict)  # ignored title -> why
    bins: list[str] = field(default_factory=list)  # BINs named above the header
    as_of: date | None = None  # «по состоянию на 03.11.2026» above the header

    @property
    def valid_count(self) -> int:
        return len(self.rows)

    @property
    def invalid_count(self) -> int:
        return len({(error.sheet, error.excel_row) for error in self.errors})

    @property
    def sheets_read(self) -> list[str]:
        return [s.name for s in self.sheets if s.read]


def parse_asset_list(
    data: bytes,
    filename: str,
    *,
    limits: Limits = Limits(),  # noqa: B008 - frozen dataclass, safe as a default
    mapping: ColumnMapping | None = None,
    today: date | None = None,
    beside: Callable[[], Any] | None = None,
) -> ParseResult:
    """Parse an uploaded asset list. Raises ``FileRejected`` when the file cannot be used.

    ``mapping`` ({column title or 0-based index: field, or None to skip}) overrides the
    automatic recognition of columns. ``beside`` runs while the first sheet loads
    (``Workbook.load``); it does not run for a file with no sheet to load.
    """
    book = open_workbook(data, filename, limits)
    checks = FileChecks(today=today)
    result = ParseResult(
        rows=[],
        errors=checks.errors,
        rows_read=0,
        header_row=0,
        mapping={},
        ignored_columns=[],
        sheet_name="",
        facility_labels=[],
    )
    facilities: dict[str, None] = {}
    refused: list[tuple[int, FileRejected]] = []  # why the sheets that are not lists are not
    try:
        for name in book.candidates:
            sheet = book.load(name, beside)
            beside = None
            if sheet is None:
                result.sheets.append(SheetReport(name, False, "лист пустой"))
                continue
            header = find_header(sheet.peek, mapping)
            problem = _not_a_list(header, name)
            if problem is not None:
                result.sheets.append(SheetReport(name, False, _short_reason(header)))
                refused.append((header.score if header else 0, problem))
                continue
            _read_title(sheet.peek, header.header_row, result)
            walker = _RowWalker(header, checks, name, sheet, limits)
            for excel_row, row in sheet.rows():
                if excel_row > header.header_row and excel_row not in header.skip_rows:
                    walker.take(excel_row, row)
                elif excel_row in header.skip_rows:
                    walker.skip(excel_row, row, "строка единиц измерения или номеров столбцов")
            walker.finish(result)
            facilities.update(walker.facilities)
            result.sheets.append(SheetReport(name, True, None, header.header_row, walker.rows_read))
            if not result.sheet_name:
                result.sheet_name, result.header_row = name, header.header_row
            for title, chosen in header.mapping.items():
                result.mapping.setdefault(title, chosen)
            for title in header.ignored:
                if title not in result.ignored_columns:
                    result.ignored_columns.append(title)
            result.ignored_reasons.update(header.ignored_reasons)
            result.sheet_fields[name] = frozenset(header.columns.values())
            del sheet
        for name in book.hidden:
            result.sheets.append(SheetReport(name, False, "скрытый лист"))
    finally:
        book.close()
    if not result.sheet_name:
        if not refused:
            raise FileRejected("В файле нет данных: все листы пустые.")
        raise max(refused, key=lambda item: item[0])[1]  # the sheet that came closest
    if result.rows_read > limits.max_rows:
        raise FileRejected(
            f"Слишком много строк с данными: {_count(result.rows_read)}, допускается не более "
            f"{_count(limits.max_rows)}. Разделите список на несколько файлов."
        )
    result.facility_labels = list(facilities)
    result.notes.extend(checks.notes())
    computed = [t for t, why in result.ignored_reasons.items() if why == COMPUTED_REASON]
    if computed:
        result.notes.append(
            "Расчётные столбцы выгрузки реестра не импортируются: "
            + ", ".join(f"«{t}»" for t in computed)
            + "."
        )
    skipped = [s for s in result.sheets if not s.read]
    if skipped and len(result.sheets_read) >= 1 and len(result.sheets) > 1:
        result.notes.append(
            "Прочитаны листы: "
            + ", ".join(f"«{n}»" for n in result.sheets_read)
            + "; не прочитаны: "
            + ", ".join(f"«{s.name}» ({s.reason})" for s in skipped)
            + "."
        )
    return result


class MissingColumns(FileRejected):
    """Required columns are not recognised; the header found is kept for a mapping by hand."""

    def __init__(self, message: str, header: HeaderMatch, sheet_name: str, missing: list[str]):
        super().__init__(message)
        self.header = header
        self.sheet_name = sheet_name
        self.missing = missing  # labels of the missing fields («Инвентарный номер»)


def _not_a_list(header: HeaderMatch | None, sheet_name: str) -> FileRejected | None:
    if header is None:
        return FileRejected(
            f"На листе «{sheet_name}» не найдена строка заголовков: в первых строках нет "
            "столбцов вроде «Инвентарный номер», «Наименование», «Вид ТУ», «Год изготовления». "
            "Проверьте, что это список оборудования, или укажите столбцы вручную."
        )
    found = set(header.columns.values())
    missing = [FIELD_LABELS[name] for name in REQUIRED_FIELDS if name not in found]
    if not missing:
        return None
    recognised = ", ".join(f"«{title}»" for title in header.mapping) or "нет"
    unknown = ", ".join(f"«{title}»" for title in header.ignored) or "нет"
    names = ", ".join(f"«{name}»" for name in missing)
    return MissingColumns(
        f"На листе «{sheet_name}» в строке заголовков {header.header_row} нет обязательных "
        f"столбцов: {names}. Распознаны: {recognised}; не распознаны: {unknown}. "
        "Переименуйте столбцы или укажите соответствие вручную.",
        header,
        sheet_name,
        missing,
    )


def _short_reason(header: HeaderMatch | None) -> str:
    if header is None:
        return "нет строки заголовков списка оборудования"
    found = set(header.columns.values())
    missing = [FIELD_LABELS[name] for name in REQUIRED_FIELDS if name not in found]
    return "нет столбцов " + ", ".join(f"«{name}»" for name in missing)


def _read_title(peek: Sequence[NumberedRow], header_row: int, result: ParseResult) -> None:
    """A BIN and an «as of» date in the rows above the header."""
    for number, row in peek:
        if number >= header_row:
            break
        for value in dict.fromkeys(v for v in row if isinstance(v, str)):
            for found in _BIN.findall(value):
                if found not in result.bins:
                    result.bins.append(found)
            match = _AS_OF.search(value)
            if match and result.as_of is None:
                when, error = parse_date(match[1])
                if error is None:
                    result.as_of = when


def _count(number: int) -> str:
    return f"{number:,}".replace(",", "\u00a0")


def _shown(row: Sequence[Any]) -> str:
    from equipment.imports.excel.values import display

    text = " | ".join(dict.fromkeys(display(v) for v in row if v is not None))
    return text if len(text) <= 120 else text[:120] + "…"


class _RowWalker:
    """Classifies each row of one sheet below its header and feeds the data rows to the
    validator."""

    def __init__(
        self, header: HeaderMatch, checks: FileChecks, sheet_name: str, sheet: SheetRows, limits
    ):
        self.sheet_name = sheet_name
        formats = sheet.formats if sheet.extras.has_styles else None
        self.validator = RowValidator(header, checks, sheet_name, formats)
        self.rows: list[ParsedRow] = []
        self.rows_read = 0
        self.max_rows = limits.max_rows
        self.approximate_rows = 0
        self.facilities: dict[str, None] = {}  # an ordered set of labels
        self.invalid_values: dict[tuple[str, int], dict[str, Any]] = {}  # what invalid rows held
        self.skipped: list[SkippedRow] = []
        self.group_code: str | None = None
        self.group_name: str | None = None
        self.after_totals = False
        columns = {name: col for col, name in header.columns.items()}
        self.key_columns = [columns[name] for name in REQUIRED_FIELDS]
        self.first_key_column = min(self.key_columns)
        self.last_key_column = max(self.key_columns)
        self.field_columns = sorted(header.columns)
        self.header_cells = {col: title for col, title in header.titles.items() if title}
        # the running-number column(s): mapped to no field but known («№ п/п»)
        self.header_cells_numbers = {
            col for col, title in header.titles.items() if match_title(title) == ""
        }

    def skip(self, excel_row: int, row: list[Any], reason: str) -> None:
        if any(v is not None for v in row):
            self.skipped.append(SkippedRow(self.sheet_name, excel_row, reason, _shown(row)))

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
                return self.skip(excel_row, row, "итоговая строка")
            if (len(cells) == 1 or cells[1] == first) and self._take_label(excel_row, row, cells):
                return
            if first[:1] in _GROUP_FIRST and self._take_group_with_numbers(row, cells, first):
                return
        elif (
            len(cells) > 1
            and cells[1].__class__ is str
            and cells[1][:1] in _GROUP_FIRST
            and self._take_group_with_numbers(row, cells, cells[1])
        ):
            return
        if len(cells) > 1 and cells[1].__class__ is str and _starts_totals(cells[1]):
            self.after_totals = True
            return self.skip(excel_row, row, "итоговая строка")
        if _number_like(cells[-1]) and _number_like(first) and is_column_numbers_row(cells):
            return self.skip(excel_row, row, "строка номеров столбцов")
        if self._is_repeated_header(row):
            return self.skip(excel_row, row, "повтор строки заголовков")
        if not self._has_key_values(row):
            if not self._has_any_field(row):
                # only a running number (an unused template line) or unknown columns
                return self.skip(excel_row, row, self._no_field_reason(row))
            if self.after_totals and self._is_signature(row):
                return self.skip(excel_row, row, "подписи после итогов")
        self.rows_read += 1
        if self.rows_read > self.max_rows:
            return  # counted only: the file is refused with the count
        parsed = self.validator.check(excel_row, row)
        label = self._set_facility(self.validator.last_values)
        if label is not None and label not in self.facilities:
            self.facilities[label] = None
        if parsed is None:
            self.invalid_values[(self.sheet_name, excel_row)] = self.validator.last_values
        else:
            if parsed.approximate:
                self.approximate_rows += 1
            self.rows.append(parsed)

    def finish(self, result: ParseResult) -> None:
        result.rows.extend(self.rows)
        result.rows_read += self.rows_read
        result.invalid_values.update(self.invalid_values)
        result.skipped_rows.extend(self.skipped)
        result.notes.extend(self.validator.finish())
        if self.approximate_rows:
            where = f" листа «{self.sheet_name}»" if self.sheet_name else ""
            result.notes.append(
                f"В {self.approximate_rows} строк(ах){where} вместо даты указан только год "
                "(или месяц и год) — принято первое число."
            )

    # -------------------------------------------------------------------- row kinds

    def _take_label(self, excel_row: int, row: list[Any], cells: list[Any]) -> bool:
        """A row with one text only (maybe merged across the row): a facility group, a page
        mark, a section heading, or a data row with gaps (False)."""
        label = cells[0]
        if any(value != label for value in cells) or not any(ch.isalpha() for ch in label):
            if _PAGE_MARK.match(label):
                self.skip(excel_row, row, "отметка страницы")
                return True
            return False
        first_col = next(i for i, value in enumerate(row) if value is not None)
        prefixed = _GROUP_PREFIX.match(label)
        if prefixed:
            return self._group(label[prefixed.end() :])
        if _PAGE_MARK.match(label):
            self.skip(excel_row, row, "отметка страницы")
            return True
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
            self.skip(excel_row, row, "заголовок раздела")
            return True
        return self._group(text)

    def _group(self, text: str) -> bool:
        text = " ".join(text.split())
        if not text:
            return False
        self.group_code, self.group_name = _split_facility(text)
        label = self.group_code or self.group_name
        if label not in self.facilities:
            self.facilities[label] = None
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

    def _no_field_reason(self, row: list[Any]) -> str:
        if any(v is not None and c not in self.header_cells_numbers for c, v in enumerate(row)):
            return "значения только в нераспознанных столбцах"
        return "пустая строка шаблона (только номер по порядку)"

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


def _names_device_class(text: str) -> bool:
    """«Грузоподъёмные краны», «Сосуды под давлением», «Котлы»: a kind of device."""
    _value, error = parse_device_type(text)
    return error is None or error.startswith("неоднозначный")


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
