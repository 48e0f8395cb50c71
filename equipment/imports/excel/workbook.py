"""Step 1 of reading, continued: open the checked file with python-calamine, every sheet's used
range bounded first.

calamine builds a sheet as a dense grid from its first to its last cell with a value (about 32
bytes a cell, no limit for xlsx): one value in XFD150000 asks for 78 GB and aborts the process.
So before calamine sees the file, ``xmlscan`` reads the used range of every sheet (and what
calamine does not give: error cells, number formats, the merges of an ods); a sheet too large
is refused naming its far cell, and far cells that hold nothing are cut out of the XML.
``Workbook.load`` hands one sheet at a time to the next step (``sheet``).
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Callable
from typing import Any

import python_calamine

from equipment.imports.excel import xmlscan
from equipment.imports.excel.archive import OLE2_MAGIC, ZIP_MAGIC, Limits, check_file, count
from equipment.imports.excel.messages import N_, FileRejected, Message
from equipment.imports.excel.sheet import ENCRYPTED, SheetRows, load_sheet, short_error
from equipment.imports.excel.xmlscan import SheetExtras

_SHEET_FOLDERS = ("xl/worksheets/", "xl/dialogsheets/", "xl/macrosheets/")


class Workbook:
    """An upload checked and opened; its sheets are loaded one at a time (``load``), so a
    workbook of several big sheets never holds more than one in memory."""

    def __init__(self, data: bytes, filename: str, limits: Limits):
        check_file(data, filename, limits)
        self.limits = limits
        data, self.extras = bound_sheets(data, limits)
        self._book = _open_calamine(data)
        self.sheet_names = list(self._book.sheet_names)
        self.candidates, self.hidden = _candidate_sheets(self._book)

    def load(self, name: str, beside: Callable[[], Any] | None = None) -> SheetRows | None:
        """The sheet with its first rows read; None when it is empty (see ``sheet.load_sheet``)."""
        return load_sheet(
            self._book, name, self.sheet_names, self.extras.get(name) or SheetExtras(), beside
        )

    def close(self) -> None:
        self._book.close()  # the loaded sheets keep their own data


def open_workbook(data: bytes, filename: str, limits: Limits) -> Workbook:
    return Workbook(data, filename, limits)


def bound_sheets(data: bytes, limits: Limits) -> tuple[bytes, dict[str, SheetExtras]]:
    """The file as calamine may read it, and what xmlscan found of each sheet. Every part of
    a zip is read to its end and checked against its stated size and CRC-32 first (the sheets
    while they are scanned): a damaged archive is refused here, never in calamine's words or
    a traceback."""
    try:
        if data[:4] == ZIP_MAGIC:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
                if "xl/workbook.bin" in names:
                    raise FileRejected(
                        N_(
                            "A binary Excel workbook (.xlsb) is not accepted. Save the file as "
                            "«Excel Workbook» (.xlsx) and upload it again."
                        )
                    )
                if "content.xml" in names and "xl/workbook.xml" not in names:
                    xmlscan.verify_members(data, archive)
                    return data, xmlscan.scan_ods(archive, limits.max_cells, limits.max_columns)
                return _bound_xlsx(data, archive, limits)
        if data[:8] == OLE2_MAGIC:
            return data, xmlscan.scan_xls(data, limits.max_cells, limits.max_columns)
    except xmlscan.SheetTooLarge as err:
        name, _, cell = err.cell.rpartition("!")
        raise FileRejected(_too_large(name, cell, err.rows, err.cols, limits)) from None
    except xmlscan.DamagedPart as err:
        raise FileRejected(damaged_part(err.member, err.reason)) from None
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, struct.error):
        raise FileRejected(DAMAGED) from None
    return data, {}


DAMAGED = N_("The file is damaged: its structure (zip) could not be read.")
_DAMAGE_REASONS = {
    "header": N_("the archive points to it at a wrong place"),
    "data": N_("its compressed data cannot be unpacked"),
    "cut": N_("it is cut short"),
    "size": N_("it unpacks to another size than the archive states"),
    "crc": N_("its checksum (CRC-32) does not match"),
}


def damaged_part(member: str, reason: str) -> Message:
    return N_(
        "The file is damaged: the part «%(part)s» of the archive is broken (%(reason)s). Open "
        "the file in Excel and save it again, or ask for a new copy, and upload it again.",
        part=member,
        reason=_DAMAGE_REASONS.get(reason, _DAMAGE_REASONS["data"]),
    )


def _bound_xlsx(
    data: bytes, archive: zipfile.ZipFile, limits: Limits
) -> tuple[bytes, dict[str, SheetExtras]]:
    # the sheet parts are checked while they are scanned below, every other part here
    scanned = {m for m in archive.namelist() if _in_sheet_folder(m)}
    xmlscan.verify_members(data, archive, skip=scanned)
    styles = xmlscan.xlsx_styles(archive)
    extras: dict[str, SheetExtras] = {}
    replaced: dict[str, bytes] = {}
    for name, member in _sheet_members(archive):
        try:
            found, xml = xmlscan.scan_xlsx_sheet(
                data, archive, member, styles, limits.max_cells, limits.max_columns
            )
        except xmlscan.SheetTooLarge as err:
            raise FileRejected(_too_large(name, err.cell, err.rows, err.cols, limits)) from None
        if name:
            extras[name] = found
        if xml is not None:
            replaced[member] = xml
    return (xmlscan.replace_members(data, replaced) if replaced else data), extras


def _sheet_members(archive: zipfile.ZipFile) -> list[tuple[str, str]]:
    """(sheet name, zip member) of every sheet part; a part the workbook does not name (or
    names oddly) comes with an empty name and is scanned all the same: whatever calamine may
    read is bounded first."""
    actual = {name.casefold(): name for name in archive.namelist()}
    named = [
        (name, actual[member.casefold()])
        for name, member in xmlscan.xlsx_sheet_members(archive).items()
        if member.casefold() in actual
    ]
    seen = {member for _, member in named}
    return named + [
        ("", member)
        for member in actual.values()
        if _in_sheet_folder(member) and member not in seen
    ]


def _in_sheet_folder(member: str) -> bool:
    return member.lower().startswith(_SHEET_FOLDERS) and member.lower().endswith(".xml")


def _too_large(name: str, cell: str, rows: int, cols: int, limits: Limits) -> Message:
    params = {
        "cell": cell,
        "rows": count(rows),
        "cols": count(cols),
        "max_cells": count(limits.max_cells),
        "max_cols": count(limits.max_columns),
    }
    if not name:
        return N_(
            "The table is too large: cell %(cell)s is filled, and the sheet takes %(rows)s rows "
            "× %(cols)s columns (at most %(max_cells)s cells and %(max_cols)s columns are "
            "accepted). Remove what lies outside the table: delete the rows and columns after "
            "the data that look empty (they may hold spaces) and upload the file again.",
            **params,
        )
    return N_(
        "The table is too large: on the sheet «%(sheet)s» cell %(cell)s is filled, and the sheet "
        "takes %(rows)s rows × %(cols)s columns (at most %(max_cells)s cells and %(max_cols)s "
        "columns are accepted). Remove what lies outside the table: delete the rows and columns "
        "after the data that look empty (they may hold spaces) and upload the file again.",
        sheet=name,
        **params,
    )


def _open_calamine(data: bytes):
    try:
        return python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except python_calamine.PasswordError:
        raise FileRejected(ENCRYPTED)
    except Exception as exc:  # calamine raises several error types for broken files
        raise FileRejected(
            N_(
                "The file is damaged or is not an Excel workbook (%(error)s).",
                error=short_error(exc),
            )
        )


def _candidate_sheets(workbook) -> tuple[list[str], list[str]]:
    """(worksheets to read, hidden worksheets left out); all of them when all are hidden."""
    worksheet = python_calamine.SheetTypeEnum.WorkSheet
    visible = python_calamine.SheetVisibleEnum.Visible
    meta = [m for m in workbook.sheets_metadata if m.typ == worksheet]
    shown = [m.name for m in meta if m.visible == visible]
    if shown:
        return shown, [m.name for m in meta if m.visible != visible]
    return [m.name for m in meta] or list(workbook.sheet_names), []
