"""The invalid rows of a file as they were, with what is wrong with each, to fix and re-upload."""

from __future__ import annotations

import re
from typing import IO

from flask_babel import pgettext

from equipment.imports.excel import FIELD_LABELS, CellError, Limits, find_header, open_workbook
from equipment.imports.excel.xmlscan import PERCENT
from equipment.imports.planner import ImportPlan


def added_columns() -> list[str]:
    """The columns the workbook adds after the file's own, in the current language."""
    return [pgettext("column", "Source file row"), pgettext("column", "Error")]


def failed_rows_workbook(
    data: bytes, filename: str, plan: ImportPlan, mapping: dict | None, limits: Limits
) -> IO[bytes]:
    """The file's invalid rows as they were, with the columns «Строка исходного файла» (the
    row's number in the uploaded sheet, as the preview shows it) and «Ошибка», to fix and
    re-upload: one sheet «Ошибки» for a one-sheet list, else one sheet per source sheet with
    errors, named after it. Both added columns come after the file's own, so every column
    keeps its letter, and the reader ignores them on re-upload.

    Cells are written as the user typed them: text as text, a whole number as a whole number
    (7, not «7,0»), other numbers unrounded, percent and zero-padded cells in their format.

    Each row keeps its facility: when it came from a group row above («ОПО: Котельная №2», the
    1C export) or from the default facility, it is written into the row's empty facility cell,
    or into an added «ОПО» column when the file has none, so the fixed rows load where they
    were meant to."""
    from core.xlsx import SheetWriter, finish, new_workbook

    messages = _messages_by_row(plan)
    with_errors = list(dict.fromkeys(sheet for sheet, _row in messages))
    facilities = {where: f["facility"] for where, f in plan.failed.items() if f.get("facility")}
    workbook, out = new_workbook()
    errors_title = pgettext("sheet", "Errors")
    written = False
    titles_used: set[str] = set()
    book = open_workbook(data, filename, limits)
    try:
        for sheet_name in with_errors:
            sheet_rows = book.load(sheet_name)
            header = None if sheet_rows is None else find_header(sheet_rows.peek, mapping)
            if header is None:
                continue
            title = (
                errors_title
                if len(with_errors) == 1
                else _sheet_title(sheet_name, titles_used, errors_title)
            )
            _copy_failed_rows(workbook, sheet_rows, header, sheet_name, title, messages, facilities)
            written = True
    finally:
        book.close()
    if not written:
        SheetWriter(workbook, errors_title, [pgettext("column", "Error")], [60])
    return finish(workbook, out)


def _messages_by_row(plan: ImportPlan) -> dict[tuple[str, int], list[str]]:
    """What is wrong with each invalid row, by (sheet, Excel row)."""
    messages: dict[tuple[str, int], list[str]] = {}
    for err in plan.errors:
        messages.setdefault((err.get("sheet", ""), err["row"]), []).append(
            f"{err['column']}: {err['message']}" if err.get("column") else err["message"]
        )
    return messages


def _copy_failed_rows(
    workbook, sheet_rows, header, sheet_name: str, title: str, messages, facilities
) -> None:
    """One source sheet's header and invalid rows into the sheet ``title``, each row with its
    facility and its errors."""
    from core.xlsx import SheetWriter

    columns = {name: col for col, name in header.columns.items()}
    facility_col = columns.get("facility_code", columns.get("facility_name"))
    add_column = facility_col is None and any(
        where in facilities for where in messages if where[0] == sheet_name
    )
    titles: list[str] = []
    sheet = None
    cell_formats = _CellFormats(workbook)
    kinds = sheet_rows.formats  # (Excel row, column) → PERCENT or a zero mask
    for excel_row, values in sheet_rows.rows():
        where = (sheet_name, excel_row)
        if excel_row == header.header_row:
            titles = [("" if v is None else str(_as_typed(v))) for v in values]
            if add_column:
                facility_col = len(titles)
                titles.append(str(FIELD_LABELS["facility_name"]))
            widths = [18] * len(titles) + [12, 60]
            sheet = SheetWriter(workbook, title, [*titles, *added_columns()], widths)
        elif where in messages and sheet is not None:
            cells = (list(values) + [None] * len(titles))[: len(titles)]
            cells = [str(v) if isinstance(v, CellError) else v for v in cells]
            label = facilities.get(where)
            if (
                label
                and facility_col is not None
                and facility_col < len(cells)
                and not str(cells[facility_col] or "").strip()
            ):
                cells[facility_col] = label
            error = "; ".join(messages[where])
            _write_row(sheet, cell_formats, excel_row, [*cells, excel_row, error], kinds)


def _as_typed(value):
    """A number as the user typed it: the reader gives every Excel number as a float."""
    if value.__class__ is float and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


class _CellFormats:
    """The number formats of the copied cells, made once per workbook."""

    def __init__(self, workbook):
        self._workbook = workbook
        self._made: dict[str, object] = {}

    def get(self, code: str):
        if code not in self._made:
            self._made[code] = self._workbook.add_format({"num_format": code})
        return self._made[code]


def _write_row(sheet, formats: _CellFormats, excel_row: int, cells: list, kinds: dict) -> None:
    """A source row's cells, numbers in the format that tells how they read: a percent cell
    stays a percent (0.45 shown as 45 %), a zero-padded one keeps its zeros («0000100200»);
    any other number is written unformatted (General), whole numbers as integers."""
    from core.xlsx import write_cell

    for col, value in enumerate(cells):
        if value is None:
            continue
        value = _as_typed(value)
        if value.__class__ not in (int, float):
            write_cell(sheet, sheet.row, col, value)
            continue
        kind = kinds.get((excel_row, col))
        if kind == PERCENT:
            code = _percent_code(value)
        elif kind:  # a zero-padding mask, «0000000000»
            code = kind
        else:
            code = None
        if code is None:
            sheet.ws.write_number(sheet.row, col, value)
        else:
            sheet.ws.write_number(sheet.row, col, value, formats.get(code))
    sheet.row += 1


def _percent_code(value: float) -> str:
    """«0%», «0.0%» or «0.00%»: as many decimals as the percentage has (up to two)."""
    percent = value * 100
    for decimals in (0, 1):
        if abs(percent - round(percent, decimals)) < 1e-9:
            return "0%" if decimals == 0 else "0.0%"
    return "0.00%"


def _sheet_title(name: str, used: set[str], fallback: str) -> str:
    """A sheet title Excel accepts (31 characters, no []:*?/\\), unique in the workbook."""
    base = re.sub(r"[\[\]:*?/\\]", " ", name).strip("' ")[:31] or fallback
    title, n = base, 1
    while title.casefold() in used:
        n += 1
        title = f"{base[: 31 - len(str(n)) - 1]}~{n}"
    used.add(title.casefold())
    return title
