"""What reading an asset list gives: the parsed rows, the row errors, and what became of each
sheet and of the rows that are not data. Plain data, built by the steps, kept by ``snapshot``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from equipment.imports.excel.messages import Message


@dataclass(slots=True)
class ParsedRow:
    excel_row: int
    values: dict[str, Any]
    # date fields given as a bare year (or month and year) and read as its first day
    approximate: frozenset[str] = frozenset()
    sheet: str = ""


@dataclass(frozen=True, slots=True)
class RowError:
    excel_row: int
    column: str  # the column title as written in the file
    value: str  # the cell as written
    message: Message  # what is wrong and what is expected; rendered when shown (str())
    sheet: str = ""


@dataclass(frozen=True, slots=True)
class SkippedRow:
    sheet: str
    excel_row: int
    reason: str  # in the reader's language when the list was read
    text: str  # what the row held, shortened


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
