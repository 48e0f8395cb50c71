"""Excel output for every package: a workbook in a temporary file (or a job's result file)
and a worksheet writer with a frozen header, dates as dates and text kept as text.

Written with XlsxWriter in constant-memory mode into a temporary file, so a 100,000-row export
keeps memory flat. Every text cell is written as a string; text that Excel would read as a
formula (= + - @) gets the quote-prefix format, so it shows and stays text and is never run.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import IO, Any

import xlsxwriter

# the media type of an .xlsx file (send_file, a job's result)
CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# text starting so is a formula to Excel (or to a CSV reader): written with a quote prefix
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class SheetWriter:
    """One worksheet with a bold frozen header, widths, dates as dates, safe text."""

    def __init__(
        self,
        workbook,
        title: str,
        headers: Sequence[str],
        widths: Sequence[int],
        title_lines: Sequence[str] = (),
    ):
        """``title_lines``: rows above the header saying what the sheet is (the first in
        bold), then an empty row; the header follows them (``header_row``)."""
        self.ws = workbook.add_worksheet(title[:31])
        self.header = workbook.add_format(
            {"bold": True, "text_wrap": True, "valign": "top", "bg_color": "#E8EEF4", "border": 1}
        )
        self.date = workbook.add_format({"num_format": "dd.mm.yyyy"})
        self.number = workbook.add_format({"num_format": "0.0"})
        self.text_safe = workbook.add_format({"quote_prefix": True})
        bold = workbook.add_format({"bold": True, "font_size": 12})
        plain = workbook.add_format({"quote_prefix": True})  # a user's search text: never run
        for row, line in enumerate(title_lines):
            self.ws.write_string(row, 0, str(line), bold if row == 0 else plain)
        self.header_row = len(title_lines) + 1 if title_lines else 0
        for col, (title_, width) in enumerate(zip(headers, widths, strict=True)):
            self.ws.write_string(self.header_row, col, str(title_), self.header)
            self.ws.set_column(col, col, width)
        self.ws.freeze_panes(self.header_row + 1, 0)
        self.ws.set_landscape()
        self.ws.fit_to_pages(1, 0)
        self.ws.repeat_rows(self.header_row)
        self.row = self.header_row + 1

    def write_row(self, values: Iterable[Any]) -> None:
        for col, value in enumerate(values):
            write_cell(self, self.row, col, value)
        self.row += 1


def write_cell(sheet: SheetWriter, row: int, col: int, value: Any) -> None:
    ws = sheet.ws
    if value is None or value == "":
        return
    if isinstance(value, bool):
        ws.write_boolean(row, col, value)
    elif isinstance(value, datetime | date):
        # an Excel cell has no zone: the calendar day as a naive midnight
        day = datetime(value.year, value.month, value.day)  # noqa: DTZ001
        ws.write_datetime(row, col, day, sheet.date)
    elif isinstance(value, int):
        ws.write_number(row, col, value)
    elif isinstance(value, float):
        ws.write_number(row, col, value, sheet.number)
    else:
        text = str(getattr(value, "value", value))
        if text.startswith(FORMULA_STARTS):
            ws.write_string(row, col, text, sheet.text_safe)
        else:
            ws.write_string(row, col, text)


def new_workbook(out: IO[bytes] | None = None) -> tuple[xlsxwriter.Workbook, IO[bytes]]:
    """A workbook writing into ``out`` (a job's result file) or a temporary file."""
    if out is None:
        out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 - returned
    workbook = xlsxwriter.Workbook(
        out,
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
            "tmpdir": tempfile.gettempdir(),
        },
    )
    return workbook, out


def finish(workbook, out: IO[bytes]) -> IO[bytes]:
    workbook.close()
    out.seek(0)
    return out
