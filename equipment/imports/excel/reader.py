"""A small adapter over python-calamine: safety checks, sheets, rows with Excel numbers.

Everything that can go wrong with the file itself (not a spreadsheet, encrypted, corrupt, empty,
too big, a zip bomb, a sheet whose used range is too large) raises ``FileRejected`` with a
message in Russian for the user. ``Workbook`` opens a file and loads its sheets one at a time.

What python-calamine 0.9 gives and does not give:

* ``CalamineSheet.iter_rows()`` yields rows lazily. Empty cells come as ``""``; we turn them into
  ``None``. Rows are counted from Excel row 1, but columns start at the first used column, so we
  pad the left side to keep column index 0 = Excel column A.
* ``CalamineSheet.merged_cell_ranges`` lists merged ranges (xlsx/xls only, ``None`` for ods:
  ``xmlscan`` reads those of an ods) as 0-based ``((row, col), (row, col))``. We copy the
  top-left value into every cell of the range,
  so a facility cell merged over ten rows reaches all ten, and a title or group row merged across
  the width reads as the same text in every cell (the parser recognises that).
* Text comes with the «_xHHHH_» escapes of the file decoded, so «_x0000_» gives a NUL
  character; we drop those.
* A sheet is built as a dense grid from its first to its last cell with a value (about 32
  bytes a cell, no limit for xlsx): one value in XFD150000 asks for 78 GB and aborts the
  process. ``xmlscan`` bounds the used range of every sheet before calamine reads it.
* Error cells (#N/A, #DIV/0!…) come as ``""`` (xlsx, xls) or as the formula's stored number or
  ``""`` (ods), the same as an empty cell: ``xmlscan`` finds them and the rows carry a
  ``CellError`` in their place, which the validator reports.
* Number formats are not exposed, so ``0.45`` shown as ``45 %`` reads as 0.45 and ``100200``
  shown as ``0000100200`` as 100200: ``xmlscan`` reads the formats of xlsx and xls cells
  (``SheetRows.formats``); for ods the validator recognises a wear column of fractions as a
  whole.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import python_calamine

from equipment.imports.excel import xmlscan
from equipment.imports.excel.headers import header_score
from equipment.imports.excel.values import CellError
from equipment.imports.excel.xmlscan import SheetExtras

Row = list[Any]
NumberedRow = tuple[int, Row]

PEEK_ROWS = 30

_ZIP_MAGIC = b"PK\x03\x04"
_EMPTY_ZIP_MAGIC = b"PK\x05\x06"
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")
_WORD_DOCUMENT = "WordDocument".encode("utf-16-le")
_MB = 1024 * 1024


class FileRejected(Exception):
    """The file cannot be imported; ``message`` is in Russian and meant for the user."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Limits:
    """What an upload may cost; anything beyond is rejected with a message."""

    max_bytes: int = 50 * _MB
    max_rows: int = 200_000  # data rows (items), not sheet rows
    # the grid calamine builds for a sheet (about 32 bytes a cell): 10 million cells are a
    # list of 200,000 rows × 50 columns; anything larger is a stray cell far outside the table
    max_cells: int = 10_000_000
    max_columns: int = 1_000
    max_uncompressed_bytes: int = 500 * _MB
    max_compression_ratio: float = 200.0
    max_zip_entries: int = 10_000
    # members smaller than this are not checked for the ratio: tiny XML parts compress well
    ratio_check_min_bytes: int = 1 * _MB


@dataclass
class SheetRows:
    """One loaded sheet: its name, the first rows for header detection, and all rows lazily."""

    sheet_name: str
    sheet_names: list[str]
    row_count: int  # last used Excel row
    peek: list[NumberedRow]
    _sheet: Any = field(repr=False)
    _merged: list[tuple[tuple[int, int], tuple[int, int]]] = field(repr=False, default_factory=list)
    extras: SheetExtras = field(repr=False, default_factory=SheetExtras)

    def rows(self) -> Iterator[NumberedRow]:
        """All rows of the sheet, from Excel row 1, as ``(excel_row, values)``."""
        return _iter_sheet(self._sheet, self._merged, self.extras.errors)

    @property
    def formats(self) -> dict[tuple[int, int], str]:
        """(Excel row, 0-based column) → number-format kind (``xmlscan.PERCENT`` or a zero
        mask) of the cells whose format changes how a number reads (.xlsx only)."""
        return self.extras.formats


class Workbook:
    """An upload checked and opened; its sheets are loaded one at a time (``load``), so a
    workbook of several big sheets never holds more than one in memory."""

    def __init__(self, data: bytes, filename: str, limits: Limits):
        check_file(data, filename, limits)
        self.limits = limits
        self.extras: dict[str, SheetExtras] = {}
        data = self._prescan(data, limits)
        self._book = _open_workbook(data)
        self.sheet_names = list(self._book.sheet_names)
        self.candidates, self.hidden = _candidate_sheets(self._book)

    def _prescan(self, data: bytes, limits: Limits) -> bytes:
        """Bound the used range of every sheet before calamine builds its grid (see xmlscan)."""
        try:
            if data[:4] == _ZIP_MAGIC:
                with zipfile.ZipFile(io.BytesIO(data)) as archive:
                    names = set(archive.namelist())
                    if "xl/workbook.bin" in names:
                        raise FileRejected(
                            "Двоичная книга Excel (.xlsb) не принимается. Сохраните файл как "
                            "«Книга Excel» (.xlsx) и загрузите снова."
                        )
                    if "content.xml" in names and "xl/workbook.xml" not in names:
                        self.extras = xmlscan.scan_ods(
                            archive, limits.max_cells, limits.max_columns
                        )
                        return data
                    return self._prescan_xlsx(data, archive, limits)
            if data[:8] == _OLE2_MAGIC:
                self.extras = xmlscan.scan_xls(data, limits.max_cells, limits.max_columns)
        except xmlscan.SheetTooLarge as err:
            name, _, cell = err.cell.rpartition("!")
            raise FileRejected(_too_large(name, cell, err.rows, err.cols, limits)) from None
        return data

    def _prescan_xlsx(self, data: bytes, archive: zipfile.ZipFile, limits: Limits) -> bytes:
        styles = xmlscan.xlsx_styles(archive)
        replaced: dict[str, bytes] = {}
        actual = {name.casefold(): name for name in archive.namelist()}
        named = [
            (name, actual[member.casefold()])
            for name, member in xmlscan.xlsx_sheet_members(archive).items()
            if member.casefold() in actual
        ]
        # a sheet part the workbook does not name (or names oddly) is scanned all the same:
        # whatever calamine may read is bounded first
        seen = {member for _, member in named}
        named += [
            ("", member)
            for member in actual.values()
            if member.lower().startswith(("xl/worksheets/", "xl/dialogsheets/", "xl/macrosheets/"))
            and member.lower().endswith(".xml")
            and member not in seen
        ]
        for name, member in named:
            try:
                extras, xml = xmlscan.scan_xlsx_sheet(
                    data, archive, member, styles, limits.max_cells, limits.max_columns
                )
            except xmlscan.SheetTooLarge as err:
                raise FileRejected(_too_large(name, err.cell, err.rows, err.cols, limits)) from None
            if name:
                self.extras[name] = extras
            if xml is not None:
                replaced[member] = xml
        return xmlscan.replace_members(data, replaced) if replaced else data

    def load(self, name: str, beside: Callable[[], Any] | None = None) -> SheetRows | None:
        """The sheet with its first rows read; None when it is empty.

        ``beside`` is work to do in this thread while the sheet loads in another: calamine
        reads a sheet without holding the GIL (1 s of a 100,000-row list), time in which an
        import fetches what it needs of the registry."""
        if beside is None:
            sheet = _load_sheet(self._book, name)
        else:
            with ThreadPoolExecutor(1, thread_name_prefix="sheet") as pool:
                loading = pool.submit(_load_sheet, self._book, name)
                try:
                    beside()
                finally:
                    sheet = loading.result()  # a bad sheet's FileRejected is raised here
        if sheet.end is None:
            return None
        extras = self.extras.get(name) or SheetExtras()
        merged = sheet.merged_cell_ranges
        if merged is None:
            merged = extras.merges or []
        peek = list(_take(_iter_sheet(sheet, merged, extras.errors), PEEK_ROWS))
        return SheetRows(
            sheet_name=name,
            sheet_names=self.sheet_names,
            row_count=sheet.end[0] + 1,
            peek=peek,
            _sheet=sheet,
            _merged=merged,
            extras=extras,
        )

    def close(self) -> None:
        self._book.close()  # the loaded sheets keep their own data


def open_workbook(data: bytes, filename: str, limits: Limits) -> Workbook:
    return Workbook(data, filename, limits)


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
            raise FileRejected("В файле нет данных: все листы пустые.")
        return best[1]
    finally:
        book.close()


def _too_large(name: str, cell: str, rows: int, cols: int, limits: Limits) -> str:
    where = f"на листе «{name}» " if name else ""
    return (
        f"Таблица слишком велика: {where}заполнена ячейка {cell}, и лист занимает "
        f"{_count(rows)} строк × {_count(cols)} столбцов (допускается не более "
        f"{_count(limits.max_cells)} ячеек и {_count(limits.max_columns)} столбцов). Уберите "
        "лишнее за пределами таблицы: удалите пустые на вид строки и столбцы после данных "
        "(в них могут быть пробелы) и загрузите файл снова."
    ).replace("Таблица слишком велика: на", "Таблица слишком велика: на", 1)


# ---------------------------------------------------------------------------- file checks


def _megabytes(size: int, whole: bool = False, above: int | None = None) -> str:
    """Bytes as megabytes with one decimal and a decimal comma: 51 MB → «51,0». ``whole``: a
    whole number of megabytes without the decimal (a limit: «50»). ``above``: a limit in
    bytes the size exceeds; rounded up where plain rounding would show the limit itself
    (50 MB + 1 byte → «50,1», not «50,0»)."""
    if whole and size % _MB == 0:
        return str(size // _MB)
    tenths = round(size * 10 / _MB)
    if above is not None and tenths * _MB <= above * 10:
        tenths = -(-size * 10 // _MB)
    return f"{tenths // 10},{tenths % 10}"


def too_large_message(size: int, limits: Limits) -> str:
    return (
        f"Файл слишком большой: {_megabytes(size, above=limits.max_bytes)} МБ, допускается не "
        f"более {_megabytes(limits.max_bytes, whole=True)} МБ."
    )


def read_upload(stream, limits: Limits) -> bytes:
    """The bytes of an uploaded file, read up to the limit. A larger file is refused with
    its real size (read from the end of the spooled upload, not from the bytes read)."""
    data = stream.read(limits.max_bytes + 1)
    if len(data) > limits.max_bytes:
        size = len(data)
        try:
            stream.seek(0, io.SEEK_END)
            size = max(size, stream.tell())
        except (AttributeError, OSError, ValueError):  # not seekable: at least what was read
            pass
        raise FileRejected(too_large_message(size, limits))
    return data


def check_file(data: bytes, filename: str, limits: Limits) -> None:
    """Reject what is not a spreadsheet we can read safely, before any parsing."""
    size = len(data)
    if size == 0:
        raise FileRejected("Файл пустой.")
    if size > limits.max_bytes:
        raise FileRejected(too_large_message(size, limits))
    head = data[:8]
    if head.startswith(_ZIP_MAGIC):
        _check_zip(data, limits)
    elif head.startswith(_EMPTY_ZIP_MAGIC):
        raise FileRejected("Файл повреждён: это пустой zip-архив, а не книга Excel.")
    elif head == _OLE2_MAGIC:
        _check_ole2(data)
    else:
        raise FileRejected(_not_a_spreadsheet(data, filename))


def _check_zip(data: bytes, limits: Limits) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise FileRejected("Файл повреждён: не удалось прочитать его структуру (zip).")
    if len(infos) > limits.max_zip_entries:
        raise FileRejected(
            f"Файл отклонён: в архиве слишком много частей ({len(infos)}), похоже на zip-бомбу."
        )
    total = sum(info.file_size for info in infos)
    if total > limits.max_uncompressed_bytes:
        raise FileRejected(
            f"Файл отклонён: после распаковки он занимает {total / _MB:.0f} МБ, допускается не "
            f"более {limits.max_uncompressed_bytes / _MB:.0f} МБ (похоже на zip-бомбу)."
        )
    for info in infos:
        if info.file_size < limits.ratio_check_min_bytes:
            continue
        ratio = info.file_size / max(info.compress_size, 1)
        if ratio > limits.max_compression_ratio:
            raise FileRejected(
                f"Файл отклонён: часть «{info.filename}» сжата в {ratio:.0f} раз, допускается не "
                f"более {limits.max_compression_ratio:.0f} (похоже на zip-бомбу)."
            )
    names = {info.filename for info in infos}
    if "xl/workbook.xml" in names or "xl/workbook.bin" in names or "content.xml" in names:
        return
    if "word/document.xml" in names:
        raise FileRejected("Это документ Word, а не таблица Excel. Загрузите файл .xlsx.")
    if any(name.startswith("ppt/") for name in names):
        raise FileRejected("Это презентация PowerPoint, а не таблица Excel. Загрузите файл .xlsx.")
    raise FileRejected("Это zip-архив, а не таблица Excel. Загрузите файл .xlsx, .xls или .ods.")


def _check_ole2(data: bytes) -> None:
    # An encrypted .xlsx is an OLE2 container with an "EncryptedPackage" stream
    if _ENCRYPTED_PACKAGE in data:
        raise FileRejected(
            "Файл зашифрован паролем. Снимите пароль в Excel (Файл → Сведения → Защита книги) "
            "и загрузите файл снова."
        )
    if _WORD_DOCUMENT in data:
        raise FileRejected("Это документ Word, а не таблица Excel. Загрузите файл .xlsx.")


def _not_a_spreadsheet(data: bytes, filename: str) -> str:
    name = f"«{filename}»" if filename else ""
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"%pdf"):
        kind = "PDF-документ"
    elif head.startswith((b"<!doctype html", b"<html", b"<table")) or b"<html" in head[:200]:
        kind = "веб-страница (HTML), хотя может называться .xls"
    elif head.startswith(b"<?xml"):
        kind = "XML-файл (например, «Таблица XML 2003»)"
    elif head.startswith(b"{\\rtf"):
        kind = "документ RTF"
    elif head.startswith(b"moxcel"):
        kind = "табличный документ 1С (.mxl)"
    elif b"\x00" not in data[:4096]:
        kind = "текстовый файл (например, CSV)"
    else:
        kind = "не таблица Excel"
    return (
        f"Файл {name} не является таблицей Excel: это {kind}. Сохраните список как «Книга Excel» "
        "(.xlsx) и загрузите снова.".replace("  ", " ")
    )


# ---------------------------------------------------------------------------- calamine


def _open_workbook(data: bytes):
    try:
        return python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except python_calamine.PasswordError:
        raise FileRejected("Файл зашифрован паролем. Снимите пароль в Excel и загрузите снова.")
    except Exception as exc:  # calamine raises several error types for broken files
        raise FileRejected(f"Файл повреждён или не является книгой Excel ({_short(exc)}).")


def _candidate_sheets(workbook) -> tuple[list[str], list[str]]:
    """(worksheets to read, hidden worksheets left out); all of them when all are hidden."""
    worksheet = python_calamine.SheetTypeEnum.WorkSheet
    visible = python_calamine.SheetVisibleEnum.Visible
    meta = [m for m in workbook.sheets_metadata if m.typ == worksheet]
    shown = [m.name for m in meta if m.visible == visible]
    if shown:
        return shown, [m.name for m in meta if m.visible != visible]
    return [m.name for m in meta] or list(workbook.sheet_names), []


def _load_sheet(workbook, name: str):
    try:
        return workbook.get_sheet_by_name(name)
    except python_calamine.PasswordError:
        raise FileRejected("Файл зашифрован паролем. Снимите пароль в Excel и загрузите снова.")
    except Exception as exc:
        raise FileRejected(f"Файл повреждён: не удалось прочитать лист «{name}» ({_short(exc)}).")


def _iter_sheet(
    sheet,
    merged: list[tuple[tuple[int, int], tuple[int, int]]],
    errors: dict[tuple[int, int], str] | None = None,
) -> Iterator[NumberedRow]:
    start_row, start_col = sheet.start or (0, 0)
    end_row, end_col = sheet.end or (0, 0)
    by_top: dict[int, list[tuple[int, int, int, int]]] = {}
    for (r0, c0), (r1, c1) in merged:
        r1, c1 = min(r1, end_row), min(c1, end_col)  # «A1:XFD1048576» must not cost a minute
        if (r0, c0) != (r1, c1) and r0 <= r1 and c0 <= c1:
            by_top.setdefault(r0, []).append((r0, c0, r1, c1))
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
                if c >= len(values):
                    values.extend([None] * (c + 1 - len(values)))
                values[c] = CellError(code)
        if row_index in by_top:
            for r0, c0, r1, c1 in by_top[row_index]:
                value = values[c0] if c0 < len(values) else None
                for r in range(r0, r1 + 1):
                    fills.setdefault(r, []).append((c0, c1, value))
        if fills:
            for c0, c1, value in fills.pop(row_index, ()):
                if c1 >= len(values):
                    values.extend([None] * (c1 + 1 - len(values)))
                values[c0 : c1 + 1] = [value] * (c1 - c0 + 1)
        yield row_index + 1, values
        row_index += 1
        row = next(iterator, None)


def _take(rows: Iterator[NumberedRow], count: int) -> Iterator[NumberedRow]:
    for _, item in zip(range(count), rows, strict=False):
        yield item


def _count(number: int) -> str:
    return f"{number:,}".replace(",", "\u00a0")


def _short(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 200 else text[:200] + "…"
