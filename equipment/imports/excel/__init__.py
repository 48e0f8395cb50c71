"""Reading equipment lists from Excel (.xlsx, .xls, .ods). Pure Python.

    result = parse_asset_list(data, "list.xlsx")
    result.rows      # valid rows: ParsedRow(excel_row, values={field: value}, approximate)
    result.errors    # RowError(excel_row, column, value, message) per bad cell

A file that cannot be used raises ``FileRejected`` with a message for the user. Row errors keep
their message as a ``Message`` (msgid and parameters) rendered in the reader's language when
shown. ``pipeline`` runs the steps in order: ``archive`` and ``workbook`` (check and open the
file, bound its sheets), ``sheet`` (rows, merged cells), ``headers`` and ``title`` (the header
row), ``rows`` (data rows among group, totals and other rows), ``validate`` with ``field_parsers``
and ``values`` (each row checked). ``snapshot`` keeps a result with its import batch.

No database access and no app context; the only tie to the app is that the longest text each
field may hold is read from the registry's model columns (``validate.text_limits``).
"""

from equipment.imports.excel.archive import Limits, read_upload, too_large_message
from equipment.imports.excel.fields import FIELD_LABELS, FIELDS
from equipment.imports.excel.headers import HeaderMatch, MissingColumns, find_header
from equipment.imports.excel.messages import FileRejected, Message
from equipment.imports.excel.pipeline import open_sheet_rows, parse_asset_list
from equipment.imports.excel.result import ParsedRow, ParseResult, RowError
from equipment.imports.excel.sheet import SheetRows
from equipment.imports.excel.values import CellError
from equipment.imports.excel.workbook import open_workbook

__all__ = [
    "FIELDS",
    "FIELD_LABELS",
    "CellError",
    "FileRejected",
    "HeaderMatch",
    "Limits",
    "Message",
    "MissingColumns",
    "ParseResult",
    "ParsedRow",
    "RowError",
    "SheetRows",
    "find_header",
    "open_sheet_rows",
    "open_workbook",
    "parse_asset_list",
    "read_upload",
    "too_large_message",
]
