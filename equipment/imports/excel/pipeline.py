"""Read an asset list from Excel: the steps of the reader, called in order, each on what the
one before gave.

1. ``archive`` / ``workbook``: check the upload, bound every sheet's used range, open it;
2. ``sheet``: load one sheet as rows of values, merged cells filled in;
3. ``headers`` / ``title``: find the header row and what each column holds, and what the rows
   above it say (BIN, «as of» date);
4. ``rows``: walk the rows below the header, telling data rows from group, totals and other
   rows;
5. ``validate`` (with ``field_parsers``): parse and check each data row, fill in its facility.

A step reads only what the step before it gave, and calls no earlier step; what they all share
calls none of them: ``messages``, ``fields``, ``values`` (cell values), ``result``.

Every visible sheet that is an asset list (its own header with the inventory-number and name
columns) is read, each with its own header, group rows and row numbers; the other sheets are
reported as skipped with the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from equipment.imports.excel.archive import Limits, count
from equipment.imports.excel.headers import (
    COMPUTED_REASON,
    ColumnMapping,
    HeaderMatch,
    find_header,
    header_score,
    not_a_list,
    short_reason,
)
from equipment.imports.excel.messages import N_, FileRejected, quoted
from equipment.imports.excel.result import ParseResult, SheetReport
from equipment.imports.excel.rows import FacilityGroup, RowWalker
from equipment.imports.excel.sheet import NumberedRow, SheetRows
from equipment.imports.excel.title import read_title
from equipment.imports.excel.validate import FileChecks, RowValidator
from equipment.imports.excel.workbook import Workbook, open_workbook

_NO_DATA = N_("The file has no data: all sheets are empty.")


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
    book = open_workbook(data, filename, limits)  # 1
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
    facilities: dict[str, None] = {}  # an ordered set of labels
    try:
        refused = _read_sheets(book, mapping, checks, limits, beside, result, facilities)
    finally:
        book.close()
    if not result.sheet_name:
        if not refused:
            raise FileRejected(_NO_DATA)
        raise max(refused, key=lambda item: item[0])[1]  # the sheet that came closest
    if result.rows_read > limits.max_rows:
        raise FileRejected(
            N_(
                "Too many rows with data: %(rows)s, at most %(limit)s are accepted. Split the "
                "list into several files.",
                rows=count(result.rows_read),
                limit=count(limits.max_rows),
            )
        )
    result.facility_labels = list(facilities)
    result.notes.extend(checks.notes())
    result.notes.extend(_file_notes(result))
    return result


def _read_sheets(
    book: Workbook,
    mapping: ColumnMapping | None,
    checks: FileChecks,
    limits: Limits,
    beside: Callable[[], Any] | None,
    result: ParseResult,
    facilities: dict[str, None],
) -> list[tuple[int, FileRejected]]:
    """Read every candidate sheet into ``result``; why the sheets that are not lists are not,
    with how close each came (the number of fields its best header row names)."""
    refused: list[tuple[int, FileRejected]] = []
    for name in book.candidates:
        sheet = book.load(name, beside)  # 2
        beside = None
        if sheet is None:
            result.sheets.append(SheetReport(name, False, str(N_("the sheet is empty"))))
            continue
        header = find_header(sheet.peek, mapping)  # 3
        problem = not_a_list(header, name)
        if problem is not None:
            result.sheets.append(SheetReport(name, False, short_reason(header)))
            refused.append((header.score if header else 0, problem))
            continue
        result.as_of = read_title(sheet.peek, header.header_row, result.bins, result.as_of)
        _read_sheet(sheet, header, checks, limits, result, facilities)  # 4, 5
        del sheet
    for name in book.hidden:
        result.sheets.append(SheetReport(name, False, str(N_("a hidden sheet"))))
    return refused


def _read_sheet(
    sheet: SheetRows,
    header: HeaderMatch,
    checks: FileChecks,
    limits: Limits,
    result: ParseResult,
    facilities: dict[str, None],
) -> None:
    """Walk the rows of one sheet below its header and validate its data rows."""
    name = sheet.sheet_name
    walker = RowWalker(header, name, limits.max_rows)
    formats = sheet.formats if sheet.extras.has_styles else None
    validator = RowValidator(header, checks, name, formats)
    for item in walker.walk(sheet.rows()):
        label = item.label if item.__class__ is FacilityGroup else validator.take(item)
        if label is not None and label not in facilities:
            facilities[label] = None
    result.rows.extend(validator.rows)
    result.rows_read += walker.rows_read
    result.invalid_values.update(validator.invalid_values)
    result.skipped_rows.extend(walker.skipped)
    result.notes.extend(validator.finish())
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


def _file_notes(result: ParseResult) -> list[str]:
    """The computed columns left out, and which sheets were read when some were not."""
    notes = []
    computed = [t for t, why in result.ignored_reasons.items() if why == COMPUTED_REASON]
    if computed:
        notes.append(
            N_(
                "The computed columns of a registry export are not imported: %(columns)s.",
                columns=quoted(computed),
            )
        )
    skipped = [s for s in result.sheets if not s.read]
    if skipped and len(result.sheets_read) >= 1 and len(result.sheets) > 1:
        notes.append(
            N_(
                "Sheets read: %(read)s; not read: %(skipped)s.",
                read=quoted(result.sheets_read),
                skipped=", ".join(f"«{s.name}» ({s.reason})" for s in skipped),
            )
        )
    return [str(note) for note in notes]


def open_sheet_rows(
    data: bytes,
    filename: str,
    limits: Limits,
    *,
    score: Callable[[Sequence[NumberedRow]], float] | None = None,
) -> SheetRows:
    """Check the file, open it and pick the one sheet that looks most like an asset list.

    ``score`` rates the first rows of a sheet (higher is better); by default the number of known
    columns found by header detection."""
    book = open_workbook(data, filename, limits)
    try:
        rate = score or header_score
        best: tuple[float, SheetRows] | None = None
        for name in book.candidates:
            sheet = book.load(name)
            if sheet is None:
                continue
            rank = rate(sheet.peek) if len(book.candidates) > 1 else 0.0
            if best is None or rank > best[0]:  # on a tie the sheet further left wins
                best = (rank, sheet)
        if best is None:
            raise FileRejected(_NO_DATA)
        return best[1]
    finally:
        book.close()
