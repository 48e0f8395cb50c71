"""Step 1 of reading: is the upload a spreadsheet we can open safely? Nothing is parsed yet.

Everything that can go wrong with the file itself (empty, too big, not a spreadsheet, encrypted,
a damaged or bomb-like zip) raises ``FileRejected`` with a message for the user.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

from equipment.imports.excel.messages import N_, FileRejected, Message

MB = 1024 * 1024
ZIP_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_EMPTY_ZIP_MAGIC = b"PK\x05\x06"
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")
_WORD_DOCUMENT = "WordDocument".encode("utf-16-le")

ENCRYPTED = N_(
    "The file is protected by a password. Remove the password in Excel (File → Info → Protect "
    "Workbook) and upload the file again."
)
_WORD = N_("This is a Word document, not an Excel spreadsheet. Upload an .xlsx file.")


@dataclass(frozen=True)
class Limits:
    """What an upload may cost; anything beyond is rejected with a message."""

    max_bytes: int = 50 * MB
    max_rows: int = 200_000  # data rows (items), not sheet rows
    # the grid calamine builds for a sheet (about 32 bytes a cell): 10 million cells are a
    # list of 200,000 rows × 50 columns; anything larger is a stray cell far outside the table
    max_cells: int = 10_000_000
    max_columns: int = 1_000
    max_uncompressed_bytes: int = 500 * MB
    max_compression_ratio: float = 200.0
    max_zip_entries: int = 10_000
    # members smaller than this are not checked for the ratio: tiny XML parts compress well
    ratio_check_min_bytes: int = 1 * MB


def count(number: int) -> str:
    """12345 → «12 345» (a no-break space between thousands)."""
    return f"{number:,}".replace(",", "\u00a0")


def _megabytes(size: int, whole: bool = False, above: int | None = None) -> str:
    """Bytes as megabytes with one decimal and a decimal comma: 51 MB → «51,0». ``whole``: a
    whole number of megabytes without the decimal (a limit: «50»). ``above``: a limit in
    bytes the size exceeds; rounded up where plain rounding would show the limit itself
    (50 MB + 1 byte → «50,1», not «50,0»)."""
    if whole and size % MB == 0:
        return str(size // MB)
    tenths = round(size * 10 / MB)
    if above is not None and tenths * MB <= above * 10:
        tenths = -(-size * 10 // MB)
    return f"{tenths // 10},{tenths % 10}"


def too_large_message(size: int, limits: Limits) -> str:
    return str(
        N_(
            "The file is too large: %(size)s MB; at most %(limit)s MB is accepted.",
            size=_megabytes(size, above=limits.max_bytes),
            limit=_megabytes(limits.max_bytes, whole=True),
        )
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
        raise FileRejected(N_("The file is empty."))
    if size > limits.max_bytes:
        raise FileRejected(too_large_message(size, limits))
    head = data[:8]
    if head.startswith(ZIP_MAGIC):
        _check_zip(data, limits)
    elif head.startswith(_EMPTY_ZIP_MAGIC):
        raise FileRejected(
            N_("The file is damaged: it is an empty zip archive, not an Excel workbook.")
        )
    elif head == OLE2_MAGIC:
        _check_ole2(data)
    else:
        raise FileRejected(_not_a_spreadsheet(data, filename))


def _check_zip(data: bytes, limits: Limits) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise FileRejected(N_("The file is damaged: its structure (zip) could not be read."))
    _check_bomb(infos, limits)
    names = {info.filename for info in infos}
    if "xl/workbook.xml" in names or "xl/workbook.bin" in names or "content.xml" in names:
        return
    if "word/document.xml" in names:
        raise FileRejected(_WORD)
    if any(name.startswith("ppt/") for name in names):
        raise FileRejected(
            N_("This is a PowerPoint presentation, not an Excel spreadsheet. Upload an .xlsx file.")
        )
    raise FileRejected(
        N_("This is a zip archive, not an Excel spreadsheet. Upload an .xlsx, .xls or .ods file.")
    )


def _check_bomb(infos: list[zipfile.ZipInfo], limits: Limits) -> None:
    if len(infos) > limits.max_zip_entries:
        raise FileRejected(
            N_(
                "The file is refused: the archive has too many parts (%(parts)s), it looks like "
                "a zip bomb.",
                parts=len(infos),
            )
        )
    total = sum(info.file_size for info in infos)
    if total > limits.max_uncompressed_bytes:
        raise FileRejected(
            N_(
                "The file is refused: unpacked it takes %(size)s MB, at most %(limit)s MB is "
                "accepted (it looks like a zip bomb).",
                size=f"{total / MB:.0f}",
                limit=f"{limits.max_uncompressed_bytes / MB:.0f}",
            )
        )
    for info in infos:
        if info.file_size < limits.ratio_check_min_bytes:
            continue
        ratio = info.file_size / max(info.compress_size, 1)
        if ratio > limits.max_compression_ratio:
            raise FileRejected(
                N_(
                    "The file is refused: its part «%(part)s» is compressed %(ratio)s times, at "
                    "most %(limit)s is accepted (it looks like a zip bomb).",
                    part=info.filename,
                    ratio=f"{ratio:.0f}",
                    limit=f"{limits.max_compression_ratio:.0f}",
                )
            )


def _check_ole2(data: bytes) -> None:
    # An encrypted .xlsx is an OLE2 container with an "EncryptedPackage" stream
    if _ENCRYPTED_PACKAGE in data:
        raise FileRejected(ENCRYPTED)
    if _WORD_DOCUMENT in data:
        raise FileRejected(_WORD)


def _not_a_spreadsheet(data: bytes, filename: str) -> Message:
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"%pdf"):
        kind = N_("a PDF document")
    elif head.startswith((b"<!doctype html", b"<html", b"<table")) or b"<html" in head[:200]:
        kind = N_("a web page (HTML), though it may be called .xls")
    elif head.startswith(b"<?xml"):
        kind = N_("an XML file (such as «XML Spreadsheet 2003»)")
    elif head.startswith(b"{\\rtf"):
        kind = N_("an RTF document")
    elif head.startswith(b"moxcel"):
        kind = N_("a 1C spreadsheet document (.mxl)")
    elif b"\x00" not in data[:4096]:
        kind = N_("a text file (such as CSV)")
    else:
        kind = N_("not an Excel spreadsheet")
    if not filename:
        return N_(
            "The file is not an Excel spreadsheet: it is %(kind)s. Save the list as «Excel "
            "Workbook» (.xlsx) and upload it again.",
            kind=kind,
        )
    return N_(
        "The file «%(name)s» is not an Excel spreadsheet: it is %(kind)s. Save the list as «Excel "
        "Workbook» (.xlsx) and upload it again.",
        name=filename,
        kind=kind,
    )
