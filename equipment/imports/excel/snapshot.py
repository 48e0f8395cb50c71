"""A parsed asset list kept with its import batch, so the commit does not read the file again.

Reading and validating a 100,000-row workbook takes seconds; the commit used to do it a second
time only to find the rows the preview had already found. The preview stores what the planner
needs of a ``ParseResult`` (``dump``) and the commit plans from it (``load``), against the
registry as it is then, so a registry that changed meanwhile is still caught.

The format is compressed JSON lines written and read by orjson. Row values are written as
lists in the order of a *shape* listed once: the row's keys and the type of each value. JSON
keeps ``None``, ``bool``, ``int``, ``float`` and ``str`` as they are; dates, datetimes and the
catalog's enums are written by orjson as their ISO text or value and turned back by the type
their shape names, so what ``load`` gives back compares equal to what the reader produced, type
included. Types are checked once per shape, not per value: a type it does not know is a
``TypeError`` at ``dump``, never a silently different value at ``load``. No ``pickle``: the
blob comes back from the database, and reading it must not be able to run code. A blob of an
older format is a ``ValueError``, and the commit then reads the batch's file again. A row
error's message is kept as its msgid and parameters (``Message.to_json``), so it is shown in
the language of whoever reads the report.
"""

from __future__ import annotations

import enum
import zlib
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import orjson

from equipment import catalog
from equipment.imports.excel.messages import Message
from equipment.imports.excel.result import ParsedRow, ParseResult, RowError, SheetReport, SkippedRow

FORMAT = 2
CHUNK = 5_000  # rows per line
# What the planner reads of an invalid row (its number and its facility).
INVALID_KEYS = ("inventory_no", "facility_code", "facility_name")

_ENUMS: dict[str, type[enum.Enum]] = {
    name: value
    for name, value in vars(catalog).items()
    if isinstance(value, type)
    and issubclass(value, enum.Enum)
    and value.__module__ == catalog.__name__
}
# JSON's own types, by the tag a shape gives them ("" : kept as loaded)
_NATIVE = {type(None): "", bool: "", int: "", float: "", str: ""}


def _tag(cls: type, key: str) -> str:
    """How a shape names the type of a value; a type that cannot be stored is refused."""
    tag = _NATIVE.get(cls)
    if tag is not None:
        return tag
    if cls is date:
        return "d"
    if cls is datetime:
        return "t"
    if _ENUMS.get(cls.__name__) is cls:
        return cls.__name__
    raise TypeError(f"snapshot: a value of type {cls.__name__} ({key}) cannot be stored")


def _converter(tag: str):
    """What turns a loaded JSON value back into the type its shape names."""
    if tag == "d":
        return date.fromisoformat
    if tag == "t":
        return datetime.fromisoformat
    members = dict(_ENUMS[tag]._value2member_map_)  # KeyError: not a catalog enum
    return members.__getitem__


def _lines(result: ParseResult) -> Iterator[Any]:
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
            values = row.values
            sheet = sheets.get(row.sheet)
            if sheet is None:
                sheet = sheets[row.sheet] = len(sheets)
            shape_key = (*values, *map(type, values.values()))
            shape = shapes.get(shape_key)
            if shape is None:
                for key, value in values.items():
                    _tag(value.__class__, key)  # refuses a type that cannot be stored
                shape = shapes[shape_key] = len(shapes)
            approximate = sorted(row.approximate) if row.approximate else 0
            chunk.append([row.excel_row, sheet, approximate, shape, *values.values()])
        yield ["rows", chunk]
    yield [
        "end",
        {
            "shapes": [_shape_of(key) for key in shapes],
            "sheets": list(sheets),
            "errors": [
                [e.excel_row, e.column, e.value, e.message.to_json(), e.sheet]
                for e in result.errors
            ],
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


def _shape_of(key: tuple) -> list:
    """A shape as stored: its keys and the tag of each value's type."""
    width = len(key) // 2
    names = key[:width]
    return [list(names), [_tag(cls, name) for name, cls in zip(names, key[width:], strict=True)]]


def dump(result: ParseResult) -> bytes:
    """The parse result as compressed JSON lines."""
    packer = zlib.compressobj(1)
    parts = [packer.compress(orjson.dumps(line) + b"\n") for line in _lines(result)]
    parts.append(packer.flush())
    return b"".join(parts)


def _read_lines(blob: bytes) -> Iterator[Any]:
    unpacker = zlib.decompressobj()
    pending = b""
    for start in range(0, len(blob), 1 << 20):
        pending += unpacker.decompress(blob[start : start + (1 << 20)])
        *complete, pending = pending.split(b"\n")
        for line in complete:
            yield orjson.loads(line)
    pending += unpacker.flush()
    if pending.strip():
        yield orjson.loads(pending)


def load(blob: bytes) -> ParseResult:
    """The ``ParseResult`` that ``dump`` stored. Raises ``ValueError`` on a damaged blob."""
    try:
        return _load(blob)
    except ValueError as err:  # orjson.JSONDecodeError included
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
    # each shape: its keys, and (position, converter) of the values that are not JSON's own
    shapes = [
        (tuple(names), [(i, _converter(tag)) for i, tag in enumerate(tags) if tag])
        for names, tags in tail["shapes"]
    ]
    sheets = tail["sheets"]
    no_approximate: frozenset[str] = frozenset()
    rows = []
    append = rows.append
    for encoded in encoded_rows:
        names, convert = shapes[encoded[3]]
        values = encoded[4:]
        for i, to_type in convert:
            values[i] = to_type(values[i])
        approximate = encoded[2]
        append(
            ParsedRow(
                encoded[0],
                dict(zip(names, values, strict=True)),
                frozenset(approximate) if approximate else no_approximate,
                sheets[encoded[1]],
            )
        )
    del encoded_rows
    as_of = head["as_of"]
    return ParseResult(
        rows=rows,
        errors=[
            RowError(row, column, value, Message.from_json(message), sheet)
            for row, column, value, message, sheet in tail["errors"]
        ],
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
