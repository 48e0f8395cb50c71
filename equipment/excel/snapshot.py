"""A parsed asset list kept with its import batch, so the commit does not read the file again.

Reading and validating a 100,000-row workbook takes seconds; the commit used to do it a second
time only to find the rows the preview had already found. The preview stores what the planner
needs of a ``ParseResult`` (``dump``) and the commit plans from it (``load``), against the
registry as it is then, so a registry that changed meanwhile is still caught.

The format is compressed JSON lines, each value kept with its exact type: ``None``, ``bool``,
``int``, ``float`` and ``str`` are JSON's own; a date and the catalog's enums are a tagged
pair (``["d", "2024-05-01"]``, ``["DeviceType", "boiler"]``), so what ``load`` gives back
compares equal to what the reader produced. Row values are written as lists in the order of
a key shape listed once, not as one JSON object per row. A type it does not know is a
``TypeError`` at ``dump``, never a silently different value at ``load``. No ``pickle``: the
blob comes back from the database, and reading it must not be able to run code.
"""

from __future__ import annotations

import enum
import json
import zlib
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from equipment import catalog
from equipment.excel.parse import ParseResult, SheetReport, SkippedRow
from equipment.excel.validate import ParsedRow, RowError

FORMAT = 1
CHUNK = 2_000  # rows per line
# What the planner reads of an invalid row (its number and its facility).
INVALID_KEYS = ("inventory_no", "facility_code", "facility_name")

_ENUMS: dict[str, type[enum.Enum]] = {
    name: value
    for name, value in vars(catalog).items()
    if isinstance(value, type)
    and issubclass(value, enum.Enum)
    and value.__module__ == catalog.__name__
}
_NATIVE = frozenset((type(None), bool, int, float, str))


def _encode(value: Any) -> Any:
    cls = value.__class__
    if cls in _NATIVE:
        return value
    if cls is date:
        return ["d", value.isoformat()]
    if cls is datetime:
        return ["t", value.isoformat()]
    if _ENUMS.get(cls.__name__) is cls:
        return [cls.__name__, value.value]
    raise TypeError(f"snapshot: a value of type {cls.__name__} cannot be stored: {value!r}")


def _decode(value: Any) -> Any:
    if value.__class__ is not list:
        return value
    tag, text = value
    if tag == "d":
        return date.fromisoformat(text)
    if tag == "t":
        return datetime.fromisoformat(text)
    return _ENUMS[tag](text)


def _encode_values(values: dict[str, Any], shapes: dict[tuple, int]) -> list:
    keys = tuple(values)
    shape = shapes.get(keys)
    if shape is None:
        shape = shapes[keys] = len(shapes)
    return [shape, *[v if v.__class__ in _NATIVE else _encode(v) for v in values.values()]]


def _lines(result: ParseResult) -> Iterator[list]:
    """The header line, then chunks of rows, then the closing line (errors, reports)."""
    shapes: dict[tuple, int] = {}
    sheets: dict[str, int] = {}
    yield [
        "parse",
        FORMAT,
        {
            "rows_read": result.rows_read,
            "header_row": result.header_row,
            "mapping": list(result.mapping.items()),
            "ignored_columns": result.ignored_columns,
            "sheet_name": result.sheet_name,
            "facility_labels": result.facility_labels,
            "as_of": result.as_of.isoformat() if result.as_of else None,
            "bins": result.bins,
        },
    ]
    rows = result.rows
    for start in range(0, len(rows), CHUNK):
        chunk = []
        for row in rows[start : start + CHUNK]:
            sheet = sheets.setdefault(row.sheet, len(sheets))
            approximate = sorted(row.approximate) if row.approximate else 0
            chunk.append([row.excel_row, sheet, approximate, *_encode_values(row.values, shapes)])
        yield ["rows", chunk]
    yield [
        "end",
        {
            "shapes": [list(keys) for keys in shapes],
            "sheets": list(sheets),
            "errors": [[e.excel_row, e.column, e.value, e.message, e.sheet] for e in result.errors],
            "notes": result.notes,
            "invalid": [
                [sheet, row, {k: values.get(k) for k in INVALID_KEYS if values.get(k) is not None}]
                for (sheet, row), values in result.invalid_values.items()
            ],
            "sheet_reports": [s.as_dict() for s in result.sheets],
            "skipped": [[s.sheet, s.excel_row, s.reason, s.text] for s in result.skipped_rows],
            "sheet_fields": {name: sorted(fields) for name, fields in result.sheet_fields.items()},
            "ignored_reasons": list(result.ignored_reasons.items()),
        },
    ]


def dump(result: ParseResult) -> bytes:
    """The parse result as compressed JSON lines."""
    packer = zlib.compressobj(1)
    parts = []
    for line in _lines(result):
        text = json.dumps(line, ensure_ascii=False, separators=(",", ":"), allow_nan=True)
        parts.append(packer.compress(text.encode() + b"\n"))
    parts.append(packer.flush())
    return b"".join(parts)


def _read_lines(blob: bytes) -> Iterator[Any]:
    unpacker = zlib.decompressobj()
    pending = b""
    for start in range(0, len(blob), 1 << 20):
        pending += unpacker.decompress(blob[start : start + (1 << 20)])
        *complete, pending = pending.split(b"\n")
        for line in complete:
            yield json.loads(line)
    pending += unpacker.flush()
    if pending.strip():
        yield json.loads(pending)


def load(blob: bytes) -> ParseResult:
    """The ``ParseResult`` that ``dump`` stored. Raises ``ValueError`` on a damaged blob."""
    try:
        return _load(blob)
    except ValueError as err:
        raise ValueError(f"snapshot: {err}") from err
    except (StopIteration, zlib.error, LookupError, TypeError, AttributeError) as err:
        raise ValueError(f"snapshot: not a stored parse result ({err!r})") from err


def _load(blob: bytes) -> ParseResult:
    lines = _read_lines(blob)
    kind, version, head = next(lines)
    if kind != "parse" or version != FORMAT:
        raise ValueError(f"format {kind} {version} is not {FORMAT}")
    encoded_rows: list[list] = []
    tail = None
    for line in lines:
        if line[0] == "rows":
            encoded_rows.extend(line[1])
        elif line[0] == "end":
            tail = line[1]
    if tail is None:
        raise ValueError("truncated")
    shapes = [tuple(keys) for keys in tail["shapes"]]
    sheets = tail["sheets"]
    rows = []
    for excel_row, sheet, approximate, shape, *values in encoded_rows:
        rows.append(
            ParsedRow(
                excel_row,
                dict(
                    zip(
                        shapes[shape],
                        [v if v.__class__ is not list else _decode(v) for v in values],
                        strict=True,
                    )
                ),
                frozenset(approximate) if approximate else frozenset(),
                sheets[sheet],
            )
        )
    as_of = head["as_of"]
    return ParseResult(
        rows=rows,
        errors=[RowError(*error) for error in tail["errors"]],
        rows_read=head["rows_read"],
        header_row=head["header_row"],
        mapping=dict(map(tuple, head["mapping"])),
        ignored_columns=head["ignored_columns"],
        sheet_name=head["sheet_name"],
        facility_labels=head["facility_labels"],
        notes=tail["notes"],
        invalid_values={(sheet, row): values for sheet, row, values in tail["invalid"]},
        sheets=[SheetReport(**report) for report in tail["sheet_reports"]],
        skipped_rows=[SkippedRow(*skipped) for skipped in tail["skipped"]],
        sheet_fields={name: frozenset(fields) for name, fields in tail["sheet_fields"].items()},
        ignored_reasons=dict(map(tuple, tail["ignored_reasons"])),
        bins=head["bins"],
        as_of=date.fromisoformat(as_of) if as_of else None,
    )
