"""What python-calamine does not give, read from the file itself, before calamine loads a sheet.

calamine builds a dense grid of every sheet from its first to its last cell with a value, so a
5 KB file with one «x» in XFD150000 asks for 2.5 billion cells (78 GB) and aborts the process.
It also reads error cells (#N/A, #DIV/0!…) as empty, and it does not expose number formats
(«0.45 shown as 45 %», «100200 shown as 0000100200»). This module reads those facts cheaply:

* ``.xlsx``/``.xlsm``: the sheet XML is streamed (4 MB at a time) and searched with a few
  regular expressions that only match what is unusual — rows from 100,000 on, cells right of
  column AZ or without a reference, error cells, cells styled with a percent or zero-padded
  number format. An ordinary list gives no matches, so the cost is that of inflating the XML
  (about a tenth of calamine's own reading). Only when the used range may be too large is the
  sheet read cell by cell: if the far cells hold nothing (spaces, empty text), they are cut out
  of the XML and calamine reads only the real table; otherwise the file is refused, naming the
  far cell.
* ``.ods``: content.xml is read with expat (repeated rows and cells counted as calamine does),
  for the used range, error cells and merged cells (calamine gives no merges for ods).
* ``.xls``: the grid is bounded by the format (65,536 × 256, still 1 GB in calamine); the cell
  records of each sheet are walked for the used range, error cells and number formats.
"""

from __future__ import annotations

import html
import io
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from xml.parsers import expat

from equipment.imports.excel.values import column_letter

CHUNK = 4 << 20
PERCENT = "percent"


class SheetTooLarge(Exception):
    """The used range of a sheet is too large; ``cell`` is the far cell with a value."""

    def __init__(self, cell: str, rows: int, cols: int, blank: bool = False):
        super().__init__(cell)
        self.cell, self.rows, self.cols, self.blank = cell, rows, cols, blank


@dataclass
class SheetExtras:
    """Facts of one sheet that calamine does not give. Rows are Excel rows (from 1), columns
    0-based (A = 0)."""

    errors: dict[tuple[int, int], str] = field(default_factory=dict)  # error cells: code
    formats: dict[tuple[int, int], str] = field(default_factory=dict)  # PERCENT or «0000»
    merges: list[tuple[tuple[int, int], tuple[int, int]]] | None = None  # 0-based, ods only
    trimmed: bool = False  # far empty cells were cut out before calamine read the sheet
    has_styles: bool = False  # the number format of each cell is known (.xlsx)


def column_index(letters: bytes | str) -> int:
    index = 0
    for ch in letters if isinstance(letters, str) else letters.decode():
        index = index * 26 + (ord(ch) - 64)
    return index - 1


# ---------------------------------------------------------------------------- xlsx


_ATTR_R = re.compile(rb'\sr="([A-Z]{1,4})(\d{1,9})"')
_ATTR_ROW_R = re.compile(rb'\sr="(\d{1,9})"')
_ATTR_T = re.compile(rb'\st="(\w+)"')
_ATTR_S = re.compile(rb'\ss="(\d+)"')


def xlsx_sheet_members(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name → the zip member holding its XML."""
    try:
        book = archive.read("xl/workbook.xml")
        rels = archive.read("xl/_rels/workbook.xml.rels")
    except KeyError:
        return {}
    targets = {}
    for tag in re.findall(rb"<(?:\w+:)?Relationship\b[^>]*>", rels):
        rid = re.search(rb'\bId="([^"]+)"', tag)
        target = re.search(rb'\bTarget="([^"]+)"', tag)
        if rid and target:
            path = html.unescape(target[1].decode("utf-8", "replace"))
            path = path.lstrip("/") if path.startswith("/") else "xl/" + path
            targets[rid[1]] = _normalise_path(path)
    members = {}
    for tag in re.findall(rb"<(?:\w+:)?sheet\b[^>]*>", book):
        name = re.search(rb'\bname="([^"]*)"', tag)
        rid = re.search(rb'\b\w+:id="([^"]+)"', tag)
        if name and rid and rid[1] in targets:
            members[html.unescape(name[1].decode("utf-8", "replace"))] = targets[rid[1]]
    return members


def _normalise_path(path: str) -> str:
    parts: list[str] = []
    for part in path.split("/"):
        if part == "..":
            if parts:
                parts.pop()
        elif part and part != ".":
            parts.append(part)
    return "/".join(parts)


_BUILTIN_PERCENT = {9, 10}


def xlsx_styles(archive: zipfile.ZipFile) -> dict[int, str]:
    """Cell style index → PERCENT or a zero-padding mask («0000000000»), for the styles whose
    number format changes how a number reads; the others are left out."""
    try:
        styles = archive.read("xl/styles.xml")
    except KeyError:
        return {}
    codes: dict[int, str] = {}
    for tag in re.findall(rb"<(?:\w+:)?numFmt\b[^>]*>", styles):
        fid = re.search(rb'\bnumFmtId="(\d+)"', tag)
        code = re.search(rb'\bformatCode="([^"]*)"', tag)
        if fid and code:
            codes[int(fid[1])] = html.unescape(code[1].decode("utf-8", "replace"))
    xfs = re.search(rb"<(?:\w+:)?cellXfs\b[^>]*>(.*?)</(?:\w+:)?cellXfs>", styles, re.S)
    kinds: dict[int, str] = {}
    if not xfs:
        return kinds
    for index, tag in enumerate(re.findall(rb"<(?:\w+:)?xf\b[^>]*>", xfs[1])):
        fid = re.search(rb'\bnumFmtId="(\d+)"', tag)
        number = int(fid[1]) if fid else 0
        kind = format_kind(number, codes.get(number))
        if kind:
            kinds[index] = kind
    return kinds


def format_kind(number_format_id: int, code: str | None) -> str | None:
    """PERCENT, a zero mask, or None for a number format."""
    if number_format_id in _BUILTIN_PERCENT:
        return PERCENT
    if not code:
        return None
    plain = re.sub(r'"[^"]*"|\\.|\[[^\]]*\]', "", code.split(";")[0])
    if "%" in plain:
        return PERCENT
    if re.fullmatch(r"0{2,}", plain.strip()):
        return plain.strip()
    return None


@dataclass
class _Patterns:
    rows: re.Pattern  # rows from 100,000 on, or without a leading r=
    cells: re.Pattern  # cells right of AZ, or without a leading r=
    errors: re.Pattern
    styled: re.Pattern | None
    two_letters: re.Pattern


def _patterns(prefix: bytes, styled_ids: list[int]) -> _Patterns:
    p = re.escape(prefix)
    styled = None
    if styled_ids:
        ids = b"|".join(str(i).encode() for i in sorted(styled_ids))
        styled = re.compile(rb' s="(?:' + ids + rb')"')
    return _Patterns(
        rows=re.compile(rb"<" + p + rb'row(?=[\s>/])(?! r="\d{1,5}")'),
        cells=re.compile(rb"<" + p + rb'c(?=[\s>/])(?! r="A?[A-Z]\d)'),
        errors=re.compile(rb' t="e"'),
        styled=styled,
        two_letters=re.compile(rb"<" + p + rb'c r="A[A-Z]\d'),
    )


class DamagedPart(Exception):
    """A zip member that does not unpack to what the archive says it holds. ``reason``:
    ``header`` (no local header where the directory points), ``data`` (the compressed data
    cannot be inflated), ``cut`` (the data ends before the compressed stream does), ``size``
    (it unpacks to another size than stated), ``crc`` (its CRC-32 does not match)."""

    def __init__(self, member: str, reason: str):
        super().__init__(f"{member}: {reason}")
        self.member = member
        self.reason = reason


def member_chunks(data: bytes, archive: zipfile.ZipFile, member: str) -> Iterator[bytes]:
    """The inflated content of a zip member, a few MB at a time, checked against what the
    archive states (size and CRC-32; ``DamagedPart`` when it differs, raised once the member
    is read to its end). Inflated with zlib directly: zipfile's own stream is 2-3 times
    slower. Never more than the stated size is inflated, so a member lying about its size
    cannot unpack to gigabytes."""
    info = archive.getinfo(member)
    offset = info.header_offset
    if info.compress_type not in (0, 8):
        yield from _zipfile_chunks(archive, member)
        return
    if data[offset : offset + 4] != b"PK\x03\x04":
        raise DamagedPart(member, "header")
    name_length, extra_length = struct.unpack_from("<HH", data, offset + 26)
    start = offset + 30 + name_length + extra_length
    end = start + info.compress_size
    if end > len(data):
        raise DamagedPart(member, "cut")
    size = crc = 0
    if info.compress_type == 0:
        for position in range(start, end, CHUNK):
            chunk = data[position : min(position + CHUNK, end)]
            size += len(chunk)
            crc = zlib.crc32(chunk, crc)
            yield chunk
    else:
        inflate = zlib.decompressobj(-15)
        room = info.file_size + 1  # one byte more than stated tells a longer member
        for position in range(start, end, CHUNK // 4):
            pending = data[position : min(position + CHUNK // 4, end)]
            while not inflate.eof:
                want = min(CHUNK, room - size)
                try:
                    out = inflate.decompress(pending, want)
                except zlib.error:
                    raise DamagedPart(member, "data") from None
                pending = inflate.unconsumed_tail
                if out:
                    size += len(out)
                    if size > info.file_size:
                        raise DamagedPart(member, "size")
                    crc = zlib.crc32(out, crc)
                    yield out
                if not pending and len(out) < want:  # this input is all inflated
                    break
            if inflate.eof:
                break
        if not inflate.eof:
            raise DamagedPart(member, "cut")
    if size != info.file_size:
        raise DamagedPart(member, "size")
    if crc != info.CRC:
        raise DamagedPart(member, "crc")


def _zipfile_chunks(archive: zipfile.ZipFile, member: str) -> Iterator[bytes]:
    """A member in another compression (zipfile checks its CRC-32)."""
    try:
        with archive.open(member) as stream:
            while chunk := stream.read(CHUNK):
                yield chunk
    except zipfile.BadZipFile as err:
        raise DamagedPart(member, "crc" if "CRC" in str(err) else "header") from None
    except (OSError, EOFError, ValueError, NotImplementedError, zlib.error):
        raise DamagedPart(member, "data") from None


def verify_members(data: bytes, archive: zipfile.ZipFile, skip=frozenset()) -> None:
    """Read every member (but ``skip``, read elsewhere through ``member_chunks``) to its end:
    ``DamagedPart`` for the first one that does not unpack to what the archive states."""
    for info in archive.infolist():
        if info.is_dir() or info.filename in skip:
            continue
        for _chunk in member_chunks(data, archive, info.filename):
            pass


def scan_xlsx_sheet(
    data: bytes,
    archive: zipfile.ZipFile,
    member: str,
    styles: dict[int, str],
    max_cells: int,
    max_columns: int,
) -> tuple[SheetExtras, bytes | None]:
    """The sheet's extras, and its XML with the far empty cells cut out when that was needed
    (None when calamine can read the sheet as it is). Raises ``SheetTooLarge``."""
    extras = SheetExtras(has_styles=True)
    reach = _Reach()
    prefix = b""
    patterns: _Patterns | None = None
    for prefix, text in _pieces(member_chunks(data, archive, member)):
        if patterns is None:
            patterns = _patterns(prefix, list(styles))
        _scan_piece(text, prefix, patterns, styles, extras, reach)
    rows = max([reach.max_row, 99_999] + [r for r, _ in reach.far])
    cols = max([c + 1 for _, c in reach.far], default=52)
    if not reach.far and not reach.irregular and rows * cols > max_cells:  # 200,000 rows or more
        xml = archive.read(member)
        if not patterns or not patterns.two_letters.search(xml):
            cols = 26
    if not reach.irregular and rows * cols <= max_cells and cols <= max_columns:
        return extras, None
    # rare: the used range may be too large; read every cell to find the real table
    xml = archive.read(member)
    trimmed = _trim_far_cells(xml, prefix, _blank_shared_strings(archive), max_cells, max_columns)
    extras.trimmed = trimmed is not None
    return extras, trimmed


@dataclass
class _Reach:
    """How far a sheet's cells go, as far as the unusual ones tell."""

    max_row: int = 0  # the largest row number found among rows ≥ 100,000
    far: list[tuple[int, int]] = field(default_factory=list)  # (row, col) of cells right of AZ
    irregular: bool = False  # rows or cells without a leading reference: positions are implicit


def _pieces(chunks: Iterator[bytes]) -> Iterator[tuple[bytes, bytes]]:
    """(namespace prefix, text) of a sheet's XML, in pieces cut before a row (or a tag), so
    that no tag the patterns look for is split between two pieces."""
    prefix: bytes | None = None
    tail = b""
    while True:
        chunk = next(chunks, b"")
        text = tail + chunk
        if not text:
            return
        if prefix is None:
            root = re.search(rb"<(\w+:)?worksheet\b", text)
            prefix = root[1] if root and root[1] else b""
        if chunk:
            cut = text.rfind(b"<" + prefix + b"row")
            if cut <= 0:
                cut = text.rfind(b"<")
            if cut <= 0:
                tail = text
                continue
            text, tail = text[:cut], text[cut:]
        else:
            tail = b""
        yield prefix, text
        if not chunk:
            return


def _scan_piece(
    text: bytes,
    prefix: bytes,
    patterns: _Patterns,
    styles: dict[int, str],
    extras: SheetExtras,
    reach: _Reach,
) -> None:
    for match in patterns.rows.finditer(text):
        number = _ATTR_ROW_R.search(text, match.end(), text.find(b">", match.end()))
        if number is None:
            reach.irregular = True
        else:
            reach.max_row = max(reach.max_row, int(number[1]))
    for match in patterns.cells.finditer(text):
        tag_end = text.find(b">", match.end())
        ref = _ATTR_R.search(text, match.end(), tag_end)
        if ref is None:
            reach.irregular = True
        elif len(ref[1]) > 1 and (col := column_index(ref[1])) >= 52:
            reach.far.append((int(ref[2]), col))
    if patterns.errors.search(text):
        _read_errors(text, prefix, extras.errors)
    if patterns.styled is None:
        return
    for match in patterns.styled.finditer(text):
        tag = text[text.rfind(b"<", 0, match.start()) : text.find(b">", match.end()) + 1]
        if not tag.startswith(b"<" + prefix + b"c"):
            continue
        ref = _ATTR_R.search(tag)
        style = _ATTR_S.search(tag)
        kind = styles.get(int(style[1])) if style else None
        if ref and kind and (_ATTR_T.search(tag) is None or b't="n"' in tag):
            extras.formats[(int(ref[2]), column_index(ref[1]))] = kind


def _read_errors(data: bytes, prefix: bytes, errors: dict[tuple[int, int], str]) -> None:
    p = re.escape(prefix)
    cell = re.compile(rb"<" + p + rb'c\s([^>]*?\bt="e"[^>]*?)>(.*?)</' + p + rb"c>", re.S)
    for match in cell.finditer(data):
        ref = _ATTR_R.search(b" " + match[1])
        value = re.search(rb"<" + p + rb"v>([^<]*)</" + p + rb"v>", match[2])
        if ref:
            code = html.unescape(value[1].decode("utf-8", "replace")).strip() if value else ""
            errors[(int(ref[2]), column_index(ref[1]))] = code or "#N/A"


def _blank_shared_strings(archive: zipfile.ZipFile) -> set[int]:
    try:
        xml = archive.read("xl/sharedStrings.xml")
    except KeyError:
        return set()
    blank = set()
    for index, item in enumerate(
        re.finditer(rb"<(?:\w+:)?si>(.*?)</(?:\w+:)?si>|<(?:\w+:)?si/>", xml, re.S)
    ):
        body = item[1] or b""
        texts = re.findall(rb"<(?:\w+:)?t(?:\s[^>]*)?>([^<]*)</(?:\w+:)?t>", body)
        if not html.unescape(b"".join(texts).decode("utf-8", "replace")).strip():
            blank.add(index)
    return blank


def _trim_far_cells(
    xml: bytes, prefix: bytes, blank_strings: set[int], max_cells: int, max_columns: int
) -> bytes | None:
    """Walk every cell: the box of the cells that hold something; cells with nothing in them
    (spaces, empty text) outside it are cut out. Raises ``SheetTooLarge`` when the box itself
    is too large."""
    p = re.escape(prefix)
    token = re.compile(
        rb"<" + p + rb"row\b([^>]*?)(/?)>|<" + p + rb"c\b([^>]*?)(?:/>|>(.*?)</" + p + rb"c>)",
        re.S,
    )
    tags = (
        re.compile(rb"<" + p + rb"v>([^<]*)</" + p + rb"v>"),
        re.compile(rb"<" + p + rb"t(?:\s[^>]*)?>([^<]*)</" + p + rb"t>"),
    )
    row, col = 0, -1
    last_row, last_col = 0, -1
    far_row_cell, far_col_cell = None, None
    blanks: list[tuple[int, int, int, int]] = []  # (row, col, start, end) of empty value cells
    for match in token.finditer(xml):
        if match[1] is not None:
            number = _ATTR_ROW_R.search(match[1] or b"")
            row = int(number[1]) if number else row + 1
            col = -1
            continue
        attrs, body = match[3] or b"", match[4]
        ref = _ATTR_R.search(attrs)
        if ref:
            col = column_index(ref[1])
            row = int(ref[2])
        else:
            col += 1
        if body is None:
            continue  # a styled cell without a value: calamine skips it too
        kind = _ATTR_T.search(attrs)
        empty = _holds_nothing(kind[1] if kind else b"n", body, tags, blank_strings)
        if empty is None:
            continue
        if empty:
            blanks.append((row, col, match.start(), match.end()))
            continue
        if row > last_row:
            last_row, far_row_cell = row, (row, col)
        if col > last_col:
            last_col, far_col_cell = col, (row, col)
    rows, cols = last_row, last_col + 1
    if cols > max_columns or rows * cols > max_cells:
        far_cell = (
            far_row_cell if cols <= max_columns and far_row_cell is not None else far_col_cell
        )
        r, c = far_cell or (rows, cols - 1)
        raise SheetTooLarge(f"{column_letter(c)}{r}", rows, cols)
    cut = [(start, end) for r, c, start, end in blanks if r > rows or c >= cols]
    if not cut:
        return None
    pieces, position = [], 0
    for start, end in cut:
        pieces.append(xml[position:start])
        position = end
    pieces.append(xml[position:])
    return b"".join(pieces)


def _holds_nothing(
    kind: bytes, body: bytes, tags: tuple[re.Pattern, re.Pattern], blank_strings: set[int]
) -> bool | None:
    """Whether a cell's value is nothing but spaces or empty text; None: it has no value."""
    value_tag, text_tag = tags
    if kind == b"inlineStr":
        texts = text_tag.findall(body)
        if not texts:
            return None
        return not html.unescape(b"".join(texts).decode("utf-8", "replace")).strip()
    value = value_tag.search(body)
    if value is None:
        return None
    text = value[1]
    if kind == b"s":
        return text.strip().isdigit() and int(text) in blank_strings
    if kind in (b"str", b"n"):
        return not html.unescape(text.decode("utf-8", "replace")).strip()
    return False


def replace_members(data: bytes, replaced: dict[str, bytes]) -> bytes:
    """The same zip with some members' content replaced."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as target,
    ):
        for info in source.infolist():
            content = replaced.get(info.filename)
            target.writestr(info.filename, source.read(info) if content is None else content)
    return out.getvalue()


# ---------------------------------------------------------------------------- ods

_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_CALCEXT = "urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0"
_T = _TABLE + "|"


def scan_ods(archive: zipfile.ZipFile, max_cells: int, max_columns: int) -> dict[str, SheetExtras]:
    """Sheet name → merges and error cells of an .ods; raises ``SheetTooLarge`` (with the sheet
    name in ``cell`` as «name!ref») when a sheet's used range is too large."""
    sheets: dict[str, SheetExtras] = {}
    state = {"name": None, "row": 0, "col": 0, "rows_rep": 1, "extent": (0, 0), "far": None}
    cell: dict = {}
    text: list[str] = []

    def start(tag: str, attrs: dict) -> None:
        if tag == _T + "table":
            state.update(name=attrs.get(_T + "name", f"Лист{len(sheets) + 1}"), row=0)
            state.update(extent=(0, 0), far=None)
            sheets[state["name"]] = SheetExtras(merges=[])
        elif tag == _T + "table-row":
            state["col"] = 0
            state["rows_rep"] = _int(attrs.get(_T + "number-rows-repeated"), 1)
        elif tag in (_T + "table-cell", _T + "covered-table-cell"):
            repeat = _int(attrs.get(_T + "number-columns-repeated"), 1)
            cell.clear()
            cell.update(col=state["col"], repeat=repeat, attrs=attrs)
            text.clear()
            state["col"] += repeat
        elif tag.endswith("|s") and cell:
            text.append(" ")

    def chars(data: str) -> None:
        if cell:
            text.append(data)

    def end(tag: str) -> None:
        if tag in (_T + "table-cell", _T + "covered-table-cell") and cell:
            _end_cell(state, cell, "".join(text), sheets[state["name"]], max_cells, max_columns)
            cell.clear()
        elif tag == _T + "table-row":
            state["row"] += state["rows_rep"]

    parser = expat.ParserCreate(namespace_separator="|")
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    parser.buffer_text = True
    try:
        with archive.open("content.xml") as stream:
            while chunk := stream.read(CHUNK):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
    except expat.ExpatError:
        return {}  # calamine reports the broken file in its own words
    return sheets


def _end_cell(state, cell, content: str, extras: SheetExtras, max_cells, max_columns) -> None:
    attrs = cell["attrs"]
    row, col, repeat = state["row"], cell["col"], cell["repeat"]
    rows_rep = state["rows_rep"]
    spans = (
        _int(attrs.get(_T + "number-rows-spanned"), 1),
        _int(attrs.get(_T + "number-columns-spanned"), 1),
    )
    if spans != (1, 1) and extras.merges is not None:
        extras.merges.append(((row, col), (row + spans[0] - 1, col + spans[1] - 1)))
    kind = attrs.get(_OFFICE + "|value-type")
    if kind is None:
        return
    if attrs.get(_CALCEXT + "|value-type") == "error":
        code = content.strip() or "#N/A"
        for r in range(row, row + min(rows_rep, 100)):  # a repeated error: its first cells
            for c in range(col, col + min(repeat, 100)):
                extras.errors[(r + 1, c)] = code
    last_row, last_col = row + rows_rep, col + repeat
    rows, cols = max(state["extent"][0], last_row), max(state["extent"][1], last_col)
    state["extent"] = (rows, cols)
    if cols > max_columns or rows * cols > max_cells:
        raise SheetTooLarge(f"{state['name']}!{column_letter(last_col - 1)}{last_row}", rows, cols)


def _int(value: str | None, default: int) -> int:
    try:
        return max(int(value), 1) if value is not None else default
    except ValueError:
        return default


# ---------------------------------------------------------------------------- xls


_XLS_ERRORS = {
    0x00: "#NULL!", 0x07: "#DIV/0!", 0x0F: "#VALUE!", 0x17: "#REF!", 0x1D: "#NAME?",
    0x24: "#NUM!", 0x2A: "#N/A", 0x2B: "#GETTING_DATA",
}  # fmt: skip
# BIFF8 records of cells that hold a value (BLANK and MULBLANK do not: calamine skips them)
_NUMBER, _RK, _MULRK, _LABELSST, _LABEL, _RSTRING, _BOOLERR, _FORMULA = (
    0x0203, 0x027E, 0x00BD, 0x00FD, 0x0204, 0x00D6, 0x0205, 0x0006,
)  # fmt: skip
_CELLS = frozenset((_NUMBER, _RK, _LABELSST, _LABEL, _RSTRING, _BOOLERR, _FORMULA))


def scan_xls(data: bytes, max_cells: int, max_columns: int) -> dict[str, SheetExtras]:
    """Sheet name → error cells and number formats of an .xls (BIFF8), read from its records;
    raises ``SheetTooLarge`` (``cell`` as «name!ref») when the cells with a value span too
    large a grid. {} when the workbook stream cannot be read (calamine then says why)."""
    stream = _ole_stream(data, ("Workbook", "Book"))
    if stream is None:
        return {}
    formats, xf_formats, sheets = _xls_globals(stream)
    kinds = {i: k for i, f in enumerate(xf_formats) if (k := format_kind(f, formats.get(f)))}
    return {
        name: _scan_xls_sheet(stream, name, start, kinds, max_cells, max_columns)
        for name, start in sheets
    }


def _xls_globals(stream: bytes) -> tuple[dict[int, str], list[int], list[tuple[str, int]]]:
    """The workbook globals, up to their EOF: number formats, the format of each XF, and the
    worksheets with the offset of their records."""
    unpack = struct.unpack_from
    formats: dict[int, str] = {}
    xf_formats: list[int] = []
    sheets: list[tuple[str, int]] = []
    position = 0
    while position + 4 <= len(stream):
        kind, length = unpack("<HH", stream, position)
        body = position + 4
        if kind == 0x041E and length >= 5:  # FORMAT
            number, count, flags = unpack("<HHB", stream, body)
            raw = stream[body + 5 : body + 5 + count * (2 if flags & 1 else 1)]
            formats[number] = raw.decode("utf-16-le" if flags & 1 else "latin-1", "replace")
        elif kind == 0x00E0 and length >= 4:  # XF
            xf_formats.append(unpack("<H", stream, body + 2)[0])
        elif kind == 0x0085 and length >= 8:  # BOUNDSHEET8
            offset, _state, sheet_type, count, flags = unpack("<IBBBB", stream, body)
            raw = stream[body + 8 : body + 8 + count * (2 if flags & 1 else 1)]
            name = raw.decode("utf-16-le" if flags & 1 else "latin-1", "replace")
            if sheet_type == 0:
                sheets.append((name, offset))
        elif kind == 0x000A:
            break
        position = body + length
    return formats, xf_formats, sheets


def _scan_xls_sheet(
    stream: bytes, name: str, start: int, kinds: dict[int, str], max_cells: int, max_columns: int
) -> SheetExtras:
    unpack = struct.unpack_from
    extras = SheetExtras(has_styles=True)
    last_row = last_col = -1
    far_row = far_col = (0, 0)
    position = start
    while position + 4 <= len(stream):
        kind, length = unpack("<HH", stream, position)
        body = position + 4
        position = body + length
        if kind == 0x000A:
            break
        if kind in _CELLS and length >= 6:
            row, col, xf = unpack("<HHH", stream, body)
            cols = ((col, xf),)
            _xls_error(stream, kind, body, length, row, col, extras.errors)
        elif kind == _MULRK and length >= 6:
            row, first = unpack("<HH", stream, body)
            count = (length - 6) // 6
            cols = tuple(
                (first + i, unpack("<H", stream, body + 4 + 6 * i)[0]) for i in range(count)
            )
        else:
            continue
        for col, xf in cols:
            if kinds and xf in kinds:
                extras.formats[(row + 1, col)] = kinds[xf]
            if row > last_row:
                last_row, far_row = row, (row, col)
            if col > last_col:
                last_col, far_col = col, (row, col)
    rows, width = last_row + 1, last_col + 1
    if width > max_columns or rows * width > max_cells:
        r, c = far_col if width > max_columns else far_row
        raise SheetTooLarge(f"{name}!{column_letter(c)}{r + 1}", rows, width)
    return extras


def _xls_error(
    stream: bytes, kind: int, body: int, length: int, row: int, col: int, errors: dict
) -> None:
    """The code of an error cell (a BOOLERR or a FORMULA whose result is an error)."""
    if kind == _BOOLERR and length >= 8 and stream[body + 7]:
        errors[(row + 1, col)] = _XLS_ERRORS.get(stream[body + 6], "#N/A")
    elif (
        kind == _FORMULA
        and length >= 14
        and stream[body + 12 : body + 14] == b"\xff\xff"
        and stream[body + 6] == 2  # an error result
    ):
        errors[(row + 1, col)] = _XLS_ERRORS.get(stream[body + 8], "#N/A")


def _ole_stream(data: bytes, names: tuple[str, ...]) -> bytes | None:
    """A stream of an OLE2 compound file (only streams in regular sectors, as the workbook is)."""
    try:
        shift = struct.unpack_from("<H", data, 0x1E)[0]
        sector = 1 << shift
        fat_count, dir_start = struct.unpack_from("<II", data, 0x2C)
        difat_start, difat_count = struct.unpack_from("<II", data, 0x44)
        difat = list(struct.unpack_from("<109I", data, 0x4C))
        next_difat, guard = difat_start, 0
        per = sector // 4
        while next_difat < 0xFFFFFFFA and guard < difat_count + 1:
            base = 512 + next_difat * sector
            entries = struct.unpack_from(f"<{per}I", data, base)
            difat.extend(entries[:-1])
            next_difat, guard = entries[-1], guard + 1
        fat: list[int] = []
        for sid in difat[:fat_count]:
            if sid >= 0xFFFFFFFA:
                continue
            fat.extend(struct.unpack_from(f"<{per}I", data, 512 + sid * sector))

        def chain(start: int, limit: int) -> bytes:
            parts, sid, seen = [], start, 0
            while sid < 0xFFFFFFFA and sid < len(fat) and seen <= limit:
                parts.append(data[512 + sid * sector : 512 + (sid + 1) * sector])
                sid, seen = fat[sid], seen + 1
            return b"".join(parts)

        directory = chain(dir_start, len(data) // sector + 1)
        for offset in range(0, len(directory) - 127, 128):
            entry = directory[offset : offset + 128]
            length = struct.unpack_from("<H", entry, 64)[0]
            name = entry[: max(length - 2, 0)].decode("utf-16-le", "replace")
            if name in names and entry[66] == 2:
                start, size = struct.unpack_from("<II", entry, 116)
                if size < 4096:
                    return None  # in the mini stream; a real workbook is never that small
                return chain(start, size // sector + 1)[:size]
    except (struct.error, IndexError, ValueError):
        return None
    return None
