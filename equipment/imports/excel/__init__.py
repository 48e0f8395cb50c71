"""Reading equipment lists from Excel (.xlsx, .xls, .ods). Pure Python.

    result = parse_asset_list(data, "list.xlsx")
    result.rows      # valid rows: ParsedRow(excel_row, values={field: value}, approximate)
    result.errors    # RowError(excel_row, column, value, message) per bad cell

A file that cannot be used raises ``FileRejected`` with a message for the user.

No database access and no app context; the only tie to the app is that the longest text each
field may hold is read from the registry's model columns (``validate.text_limits``).
"""

from equipment.imports.excel.headers import FIELD_LABELS, FIELDS, HeaderMatch, find_header
from equipment.imports.excel.parse import ParseResult, parse_asset_list
from equipment.imports.excel.reader import FileRejected, Limits, SheetRows, open_sheet_rows
from equipment.imports.excel.validate import ParsedRow, RowError

__all__ = [
    "FIELDS",
    "FIELD_LABELS",
    "FileRejected",
    "HeaderMatch",
    "Limits",
    "ParseResult",
    "ParsedRow",
    "RowError",
    "SheetRows",
    "find_header",
    "open_sheet_rows",
    "parse_asset_list",
]
