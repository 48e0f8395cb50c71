"""The invalid rows of a file as they were, with what is wrong with each, to fix and re-upload."""

from __future__ import annotations

import re
from typing import IO

from flask_babel import pgettext

from equipment.imports.excel import FIELD_LABELS, CellError, Limits, find_header, open_workbook
from equipment.imports.planner import ImportPlan


def failed_rows_workbook(
    data: bytes, filename: str, plan: ImportPlan, mapping: dict | None, limits: Limits
) -> IO[bytes]:
    """The file's invalid rows as they were, with an «Ошибка» column, to fix and re-upload:
    one sheet «Ошибки» for a one-sheet list, else one sheet per source sheet with errors,
    named after it.

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
    for excel_row, values in sheet_rows.rows():
        where = (sheet_name, excel_row)
        if excel_row == header.header_row:
            titles = [("" if v is None else str(v)) for v in values]
            if add_column:
                facility_col = len(titles)
                titles.append(str(FIELD_LABELS["facility_name"]))
            widths = [18] * len(titles) + [60]
            sheet = SheetWriter(workbook, title, [*titles, pgettext("column", "Error")], widths)
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
            sheet.write_row([*cells, "; ".join(messages[where])])


def _sheet_title(name: str, used: set[str], fallback: str) -> str:
    """A sheet title Excel accepts (31 characters, no []:*?/\\), unique in the workbook."""
    base = re.sub(r"[\[\]:*?/\\]", " ", name).strip("' ")[:31] or fallback
    title, n = base, 1
    while title.casefold() in used:
        n += 1
        title = f"{base[: 31 - len(str(n)) - 1]}~{n}"
    used.add(title.casefold())
    return title
