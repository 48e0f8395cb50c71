"""Damaged workbooks: a real .xlsx broken as files break in transit or on a bad disk (bytes
flipped inside a compressed part, a wrong CRC-32, a part that claims another size, a file cut
short, a broken central directory) is refused with «Файл повреждён» on the page, in the API
(422) and in the CLI, and nothing is stored."""

from __future__ import annotations

import io
import json
import random
import struct
import zipfile

import pytest
from sqlalchemy import func, select

from core.extensions import db
from equipment.imports.models import ImportBatch
from equipment.models import Equipment
from tests.helpers.imports import ENGLISH, SAMPLE_FACILITIES, api_upload, make_token, sample, upload

ORG_BIN = "040540526019"
SHEET = "xl/worksheets/sheet1.xml"
STYLES = "xl/styles.xml"
DAMAGED = "Файл повреждён"


def _infos(data: bytes) -> dict[str, zipfile.ZipInfo]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename: info for info in archive.infolist()}


def _data_span(data: bytes, member: str) -> tuple[int, int]:
    """Where a member's compressed bytes lie (after its local header)."""
    info = _infos(data)[member]
    name_length, extra_length = struct.unpack_from("<HH", data, info.header_offset + 26)
    start = info.header_offset + 30 + name_length + extra_length
    return start, start + info.compress_size


def _central_record(data: bytes, member: str) -> int:
    """The offset of a member's record in the central directory."""
    end = data.rindex(b"PK\x05\x06")
    position = struct.unpack_from("<I", data, end + 16)[0]
    while position < end:
        name_length, extra_length, comment_length = struct.unpack_from("<HHH", data, position + 28)
        if data[position + 46 : position + 46 + name_length].decode() == member:
            return position
        position += 46 + name_length + extra_length + comment_length
    raise KeyError(member)


def flipped(data: bytes, member: str = SHEET) -> bytes:
    """Bytes flipped in the middle of a compressed part; its local header kept."""
    start, end = _data_span(data, member)
    broken = bytearray(data)
    for i in range(4):
        broken[(start + end) // 2 + i] ^= 0xFF
    return bytes(broken)


def wrong_crc(data: bytes, member: str = SHEET) -> bytes:
    """The part intact, its CRC-32 changed in the local header and the central directory."""
    crc = _infos(data)[member].CRC ^ 0x5A5A
    broken = bytearray(data)
    struct.pack_into("<I", broken, _infos(data)[member].header_offset + 14, crc)
    struct.pack_into("<I", broken, _central_record(data, member) + 16, crc)
    return bytes(broken)


def wrong_size(data: bytes, member: str = SHEET, by: int = 100) -> bytes:
    """The central directory claims another uncompressed size."""
    broken = bytearray(data)
    struct.pack_into(
        "<I", broken, _central_record(data, member) + 24, _infos(data)[member].file_size + by
    )
    return bytes(broken)


def short_compressed(data: bytes, member: str = SHEET) -> bytes:
    """The central directory claims fewer compressed bytes than the part has."""
    broken = bytearray(data)
    info = _infos(data)[member]
    struct.pack_into("<I", broken, _central_record(data, member) + 20, info.compress_size // 2)
    return bytes(broken)


def garbage_data(data: bytes, member: str = STYLES) -> bytes:
    """A part's compressed bytes replaced by noise (of the same length)."""
    start, end = _data_span(data, member)
    noise = random.Random(10).randbytes(end - start)
    return data[:start] + noise + data[end:]


def broken_directory(data: bytes) -> bytes:
    start = struct.unpack_from("<I", data, data.rindex(b"PK\x05\x06") + 16)[0]
    return data[:start] + b"XXXX" + data[start + 4 :]


def moved_directory(data: bytes) -> bytes:
    """The end record points a few bytes past the real central directory."""
    broken = bytearray(data)
    end = data.rindex(b"PK\x05\x06")
    struct.pack_into("<I", broken, end + 16, struct.unpack_from("<I", data, end + 16)[0] + 5)
    return bytes(broken)


DAMAGES = {
    # name: (make the file, what the message names besides «Файл повреждён»)
    "bytes flipped in the sheet": (lambda d: flipped(d), SHEET),
    "bytes flipped in the styles": (lambda d: flipped(d, STYLES), STYLES),
    "wrong CRC-32 of the sheet": (lambda d: wrong_crc(d), "CRC-32"),
    "wrong CRC-32 of the workbook part": (lambda d: wrong_crc(d, "xl/workbook.xml"), "CRC-32"),
    "sheet claims a larger size": (lambda d: wrong_size(d), "размер"),
    "styles claim a smaller size": (lambda d: wrong_size(d, STYLES, -100), "размер"),
    "compressed size cut": (lambda d: short_compressed(d), "обрывается"),
    "noise instead of compressed data": (lambda d: garbage_data(d), STYLES),
    "truncated in the middle": (lambda d: d[: len(d) // 2], "zip"),
    "truncated by its last bytes": (lambda d: d[:-30], "zip"),
    "broken central directory": (lambda d: broken_directory(d), "zip"),
    "central directory moved": (lambda d: moved_directory(d), "неверное место"),
}


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def org(world, make):
    for code, name in SAMPLE_FACILITIES.items():
        make.facility(world.org_a, code, name=name)
    return world.org_a


def test_the_damaging_helpers_break_only_what_they_say():
    data = sample(ENGLISH)
    assert zipfile.ZipFile(io.BytesIO(wrong_crc(data))).read(STYLES)  # other parts intact
    with pytest.raises(zipfile.BadZipFile, match="CRC"):
        zipfile.ZipFile(io.BytesIO(wrong_crc(data))).read(SHEET)
    assert _infos(wrong_size(data))[SHEET].file_size == _infos(data)[SHEET].file_size + 100
    assert len(flipped(data)) == len(data) and flipped(data) != data


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_a_damaged_workbook_is_refused_on_the_page_the_api_and_the_cli(
    org, world, client, login_as, runner, tmp_path, damage
):
    make_file, named = DAMAGES[damage]
    data = make_file(sample(ENGLISH))
    items_before = _count(Equipment)

    login_as(world.eng_a)
    response = upload(client, data, "list.xlsx")
    assert response.status_code == 400, damage
    page = response.get_data(as_text=True)
    assert DAMAGED in page and named in page, page[-2000:]
    assert 'id="upload-form"' in page  # the same form, to try another file

    token = make_token(world.eng_a)
    for dry_run in ("true", "false"):
        response = api_upload(client, token, data, "list.xlsx", dry_run=dry_run)
        assert response.status_code == 422, (damage, response.status_code)
        body = response.get_json()
        assert body["message"].startswith(DAMAGED) and named in body["message"], body
        assert body["errors"]["json"]["file"] == [body["message"]]

    path = tmp_path / "list.xlsx"
    path.write_bytes(data)
    result = runner.invoke(args=["equipment", "import", str(path), "--org", ORG_BIN])
    assert result.exit_code == 1, result.output
    assert DAMAGED in result.output and "Traceback" not in result.output
    result = runner.invoke(args=["equipment", "import", str(path), "--org", ORG_BIN, "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"].startswith(DAMAGED)

    assert _count(ImportBatch) == 0 and _count(Equipment) == items_before


def test_the_same_file_undamaged_loads(org, world, client, login_as):
    """The damages above are the only difference: the file itself is a good list."""
    login_as(world.eng_a)
    response = upload(client, sample(ENGLISH), "list.xlsx")
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    assert _count(ImportBatch) == 1
