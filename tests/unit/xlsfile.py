"""A minimal BIFF8 .xls writer for the tests (no writer of the format is installed): one sheet
of strings, numbers, error and blank cells in an OLE2 container, as calamine and Excel read it."""

from __future__ import annotations

import struct


def _record(kind: int, body: bytes) -> bytes:
    return struct.pack("<HH", kind, len(body)) + body


def _text(value: str) -> bytes:
    return struct.pack("<HB", len(value), 1) + value.encode("utf-16-le")


def minimal_xls(rows: dict[tuple[int, int], object], dimensions=None, percent=()) -> bytes:
    """A BIFF8 .xls with one sheet «Лист1»: {(row, col): str | float | ("error", code)} (0-based);
    ``percent`` cells get the built-in «0%» format; ``dimensions`` overrides the declared range."""
    xf = struct.pack("<HHHBBBBIIH", 0, 0, 0xFFF5, 0x20, 0, 0, 0, 0, 0, 0x20C0)  # style XF
    cell_xf = struct.pack("<HHHBBBBIIH", 0, 0, 0x0001, 0x20, 0, 0, 0, 0, 0, 0x20C0)
    pct_xf = struct.pack("<HHHBBBBIIH", 0, 9, 0x0001, 0x20, 0, 0, 0, 0, 0, 0x20C0)
    font = (
        struct.pack("<HHHHHBBBB", 200, 0, 0x7FFF, 400, 0, 0, 0, 0, 0)
        + struct.pack("<BB", 5, 1)
        + "Arial".encode("utf-16-le")
    )
    name = "Лист1"
    sheet = [_record(0x0809, struct.pack("<HHHHII", 0x0600, 0x0010, 0, 0, 0, 0))]
    last_row = max((r for r, _ in rows), default=0) + 1
    last_col = max((c for _, c in rows), default=0) + 1
    r_last, c_last = dimensions or (last_row, last_col)
    sheet.append(_record(0x0200, struct.pack("<IIHHH", 0, r_last, 0, c_last, 0)))
    for (r, c), value in sorted(rows.items()):
        ixfe = 17 if (r, c) in percent else 16
        if value == ("blank",):
            sheet.append(_record(0x0201, struct.pack("<HHH", r, c, ixfe)))
        elif isinstance(value, tuple):
            code = {"#N/A": 0x2A, "#DIV/0!": 0x07, "#REF!": 0x17}[value[1]]
            sheet.append(_record(0x0205, struct.pack("<HHHBB", r, c, ixfe, code, 1)))
        elif isinstance(value, str):
            sheet.append(_record(0x0204, struct.pack("<HHH", r, c, ixfe) + _text(value)))
        else:
            sheet.append(_record(0x0203, struct.pack("<HHHd", r, c, ixfe, float(value))))
    sheet.append(_record(0x000A, b""))
    head = [_record(0x0809, struct.pack("<HHHHII", 0x0600, 0x0005, 0, 0, 0, 0))]
    head.append(_record(0x0042, struct.pack("<H", 1200)))  # CODEPAGE utf-16
    head += [_record(0x0031, font)] * 5
    head += [_record(0x00E0, xf)] * 16 + [_record(0x00E0, cell_xf), _record(0x00E0, pct_xf)]
    bound_size = 4 + 4 + 2 + 2 + 2 * len(name)
    tail = [_record(0x000A, b"")]
    offset = sum(map(len, head)) + bound_size + sum(map(len, tail))
    bound = _record(
        0x0085,
        struct.pack("<IBB", offset, 0, 0)
        + struct.pack("<BB", len(name), 1)
        + name.encode("utf-16-le"),
    )
    stream = b"".join(head) + bound + b"".join(tail) + b"".join(sheet)
    stream += b"\0" * max(0, 4096 - len(stream))
    stream += b"\0" * (-len(stream) % 512)
    n = len(stream) // 512
    # sectors: 0 FAT, 1..n workbook, n+1 directory
    fat = [0xFFFFFFFD] + [i + 2 for i in range(n - 1)] + [0xFFFFFFFE, 0xFFFFFFFE]
    fat += [0xFFFFFFFF] * (128 - len(fat))

    def entry(name, kind, start, size, child=0xFFFFFFFF):
        raw = name.encode("utf-16-le") + b"\0\0"
        return (
            raw.ljust(64, b"\0")
            + struct.pack("<HBB", len(raw), kind, 1)
            + struct.pack("<III", 0xFFFFFFFF, 0xFFFFFFFF, child)
            + b"\0" * 16
            + struct.pack("<I", 0)
            + b"\0" * 16
            + struct.pack("<III", start, size, 0)
        )

    directory = entry("Root Entry", 5, 0xFFFFFFFE, 0, child=1) + entry(
        "Workbook", 2, 1, len(stream)
    )
    directory = directory.ljust(512, b"\0")
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + b"\0" * 16
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + b"\0" * 6
        + struct.pack("<IIIIIIIII", 0, 1, n + 1, 0, 4096, 0xFFFFFFFE, 0, 0xFFFFFFFE, 0)
    )
    header += struct.pack("<I", 0) + struct.pack("<I", 0xFFFFFFFF) * 108
    return header + struct.pack("<128I", *fat) + stream + directory
