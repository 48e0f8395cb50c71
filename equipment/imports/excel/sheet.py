"""Step 2 of reading: one sheet as rows of Excel values, bounded, merged cells filled in.

What python-calamine 0.9 gives and does not give:

* ``CalamineSheet.iter_rows()`` yields rows lazily. Empty cells come as ``""``; we turn them into
  ``None``. Rows are counted from Excel row 1, but columns start at the first used column, so we
  pad the left side to keep column index 0 = Excel column A.
* ``CalamineSheet.merged_cell_ranges`` lists merged ranges (xlsx/xls only, ``None`` for ods:
  ``xmlscan`` reads those of an ods) as 0-based ``((row, col), (row, col))``. We copy the
  top-left value into every cell of the range, so a facility cell merged over ten rows reaches
  all ten, and a title or group row merged across the width reads as the same text in every
  cell (the row walker recognises that).
* Text comes with the «_xHHHH_» escapes of the file decoded, so «_x0000_» gives a NUL
  character; we drop those.
* Error cells (#N/A, #DIV/0!…) come as ``""`` (xlsx, xls) or as the formula's stored number or
  ``""`` (ods), the same as an empty cell: ``xmlscan`` found them and the rows carry a
  ``CellError`` in their place, which the validator reports.
* Number formats are not exposed, so ``0.45`` shown as ``45 %`` reads as 0.45 and ``100200``
  shown as ``0000100200`` as 100200: ``xmlscan`` read the formats of xlsx and xls cells
  (``SheetRows.formats``); for ods the validator recognises a wear column of fractions as a
  whole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import python_calamine

from equipment.imports.excel.messages import N_, FileRejected
from equipment.imports.excel.values import CellError
from equipment.imports.excel.xmlscan import SheetExtras

Row = list[Any]
NumberedRow = tuple[int, Row]
Merges = list[tuple[tuple[int, int], tuple[int, int]]]

PEEK_ROWS = 30
ENCRYPTED = N_(
    "The file is protected by a password. Remove the password in Excel and upload it again."
)


@dataclass
class SheetRows:
    """One loaded sheet: its name, the first rows for header detection, and all rows lazily."""

    sheet_name: str
    sheet_names: list[str]
    row_count: int  # last used Excel row
    peek: list[NumberedRow]
    _sheet: Any = field(repr=False)
    _merged: Merges = field(repr=False, default_factory=list)
    extras: SheetExtras = field(repr=False, default_factory=SheetExtras)

    def rows(self) -> Iterator[NumberedRow]:
        """All rows of the sheet, from Excel row 1, as ``(excel_row, values)``."""
        return _iter_sheet(self._sheet, self._merged, self.extras.errors)

    @property
    def formats(self) -> dict[tuple[int, int], str]:
        """(Excel row, 0-based column) → number-format kind (``xmlscan.PERCENT`` or a zero
        mask) of the cells whose format changes how a number reads (.xlsx only)."""
        return self.extras.formats


def load_sheet(
    book,
    name: str,
    sheet_names: list[str],
    extras: SheetExtras,
    beside: Callable[[], Any] | None = None,
) -> SheetRows | None:
    """The sheet ``name`` of a calamine workbook with its first rows read; None when empty.

    ``beside`` is work to do in this thread while the sheet loads in another: calamine
    reads a sheet without holding the GIL (1 s of a 100,000-row list), time in which an
    import fetches what it needs of the registry."""
    if beside is None:
        sheet = _calamine_sheet(book, name)
    else:
        with ThreadPoolExecutor(1, thread_name_prefix="sheet") as pool:
            loading = pool.submit(_calamine_sheet, book, name)
            try:
                beside()
            finally:
                sheet = loading.result()  # a bad sheet's FileRejected is raised here
    if sheet.end is None:
        return None
    merged = sheet.merged_cell_ranges
    if merged is None:
        merged = extras.merges or []
    return SheetRows(
        sheet_name=name,
        sheet_names=sheet_names,
        row_count=sheet.end[0] + 1,
        peek=list(islice(_iter_sheet(sheet, merged, extras.errors), PEEK_ROWS)),
        _sheet=sheet,
        _merged=merged,
        extras=extras,
    )


def short_error(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 200 else text[:200] + "…"


def _calamine_sheet(book, name: str):
    try:
        return book.get_sheet_by_name(name)
    except python_calamine.PasswordError:
        raise FileRejected(ENCRYPTED)
    except Exception as exc:
        raise FileRejected(
            N_(
                "The file is damaged: the sheet «%(sheet)s» could not be read (%(error)s).",
                sheet=name,
                error=short_error(exc),
            )
        )


def _merges_by_top(merged: Merges, end_row: int, end_col: int) -> dict[int, list[tuple]]:
    """The merged ranges by their first row, cut to the used range: «A1:XFD1048576» must not
    cost a minute."""
    by_top: dict[int, list[tuple[int, int, int, int]]] = {}
    for (r0, c0), (r1, c1) in merged:
        r1, c1 = min(r1, end_row), min(c1, end_col)
        if (r0, c0) != (r1, c1) and r0 <= r1 and c0 <= c1:
            by_top.setdefault(r0, []).append((r0, c0, r1, c1))
    return by_top


def _iter_sheet(
    sheet, merged: Merges, errors: dict[tuple[int, int], str] | None = None
) -> Iterator[NumberedRow]:
    start_row, start_col = sheet.start or (0, 0)
    end_row, end_col = sheet.end or (0, 0)
    by_top = _merges_by_top(merged, end_row, end_col)
    fills: dict[int, list[tuple[int, int, Any]]] = {}  # row -> [(first col, last col, value)]
    # error cells (#N/A, #DIV/0!…), which calamine reads as empty: {Excel row: [(col, code)]}
    error_rows: dict[int, list[tuple[int, str]]] = {}
    for (r, c), code in (errors or {}).items():
        error_rows.setdefault(r, []).append((c, code))

    iterator = iter(sheet.iter_rows())
    first = next(iterator, None)
    if first is None:
        return
    # calamine 0.9 yields rows from Excel row 1 for xlsx; stay correct if a format or a later
    # version starts at the first used row instead (that row is never empty)
    row_index = 0
    if start_row and any(value != "" for value in first):
        row_index = start_row
    pad = [None] * start_col if len(first) < end_col + 1 else []

    row = first
    while row is not None:
        # empty cells come as "" (0, 0.0 and False are kept); NUL characters (written as
        # «_x0000_» in the file) are dropped: PostgreSQL text and JSON cannot hold them
        values = pad + [
            v if v.__class__ is not str else (v.replace("\x00", "") if "\x00" in v else v) or None
            for v in row
        ]
        if error_rows and row_index + 1 in error_rows:
            for c, code in error_rows[row_index + 1]:
                _widen(values, c)
                values[c] = CellError(code)
        if row_index in by_top:
            for r0, c0, r1, c1 in by_top[row_index]:
                value = values[c0] if c0 < len(values) else None
                for r in range(r0, r1 + 1):
                    fills.setdefault(r, []).append((c0, c1, value))
        if fills:
            for c0, c1, value in fills.pop(row_index, ()):
                _widen(values, c1)
                values[c0 : c1 + 1] = [value] * (c1 - c0 + 1)
        yield row_index + 1, values
        row_index += 1
        row = next(iterator, None)


def _widen(values: Row, col: int) -> None:
    if col >= len(values):
        values.extend([None] * (col + 1 - len(values)))
