"""The failed-rows workbook: the invalid rows as the user typed them, each with its row number in
the source file (the number the preview shows) and what is wrong, fixed and uploaded again."""

from __future__ import annotations

import html
import io
import re
from datetime import datetime

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from core.extensions import db
from equipment.imports.models import ImportBatch
from equipment.models import ConditionAssessment, Equipment
from tests.helpers.imports import COLUMNS, ONE_C, SAMPLE_FACILITIES, sample, save, upload

SOURCE_ROW, ERROR = "Строка исходного файла", "Ошибка"


@pytest.fixture
def org(world, make):
    for code, name in SAMPLE_FACILITIES.items():
        make.facility(world.org_a, code, name=name)
    return world.org_a


def _batch_id(response) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    return int(re.search(r"/imports/(\d+)$", response.headers["Location"])[1])


def _error_rows_on_the_page(client, batch_id: int) -> list[int]:
    page = html.unescape(client.get(f"/imports/{batch_id}").get_data(as_text=True))
    table = page[page.index('id="errors"') : page.index("</table>", page.index('id="errors"'))]
    return [int(n) for n in re.findall(r'<td class="num">(\d+)</td>', table)]


def _failed_rows(client, batch_id: int):
    response = client.get(f"/imports/{batch_id}/errors.xlsx")
    assert response.status_code == 200
    return load_workbook(io.BytesIO(response.get_data()))


def _typed_list() -> bytes:
    """A list as an engineer types it: a title row, whole numbers, a wear in percent format,
    an inventory number shown with leading zeros, a decimal wear; three rows with errors."""
    book = Workbook()
    sheet = book.active
    sheet.append(["Перечень технических устройств"])
    sheet.append(COLUMNS)
    rows = [
        # row 3: no such day
        ["OPO-01", 100200, "Котел ДКВР", "котел паровой", 1990, "31.02.2015", 7, 0.45],
        ["OPO-01", "T-2", "Котел исправный", "котел паровой", 1991, datetime(1992, 1, 1), 20, 10],
        # row 5: the service life in words
        [
            "OPO-02",
            "T-3",
            "Сосуд",
            "сосуд под давлением",
            1985,
            datetime(1986, 5, 1),
            "сорок",
            72.55,
        ],
        # row 6: wear above 100
        ["OPO-03", "T-4", "Кран", "кран мостовой", 2001, datetime(2002, 1, 1), 25, 130],
    ]
    for values in rows:
        sheet.append(values)
    sheet["B3"].number_format = "0000000000"
    sheet["H3"].number_format = "0%"
    return save(book)


def test_failed_rows_keep_the_source_row_and_the_values_as_typed(org, world, client, login_as):
    login_as(world.eng_a)
    batch_id = _batch_id(upload(client, _typed_list(), "typed.xlsx"))
    shown = _error_rows_on_the_page(client, batch_id)
    assert shown == [3, 5, 6]

    sheet = _failed_rows(client, batch_id).worksheets[0]
    header = [c.value for c in sheet[1]]
    assert header == [*COLUMNS, SOURCE_ROW, ERROR]  # the file's columns keep their letters
    col = {title: i + 1 for i, title in enumerate(header)}
    assert [sheet.cell(r, col[SOURCE_ROW]).value for r in (2, 3, 4)] == shown

    # whole numbers are whole numbers, in the General format: «1990», «7», not «1990,0»
    for line, title in [(2, "Год изготовления"), (2, "Срок службы, лет"), (4, "Износ, %")]:
        cell = sheet.cell(line, col[title])
        assert isinstance(cell.value, int) and cell.number_format == "General", (title, cell)
    assert sheet.cell(2, col["Срок службы, лет"]).value == 7
    assert sheet.cell(4, col["Год изготовления"]).value == 2001
    # a decimal is kept unrounded, a percent cell stays a percent, leading zeros stay shown
    decimal = sheet.cell(3, col["Износ, %"])
    assert (decimal.value, decimal.number_format) == (72.55, "General")
    percent = sheet.cell(2, col["Износ, %"])
    assert percent.value == pytest.approx(0.45) and percent.number_format.endswith("%")
    padded = sheet.cell(2, col["Инвентарный номер"])
    assert (padded.value, padded.number_format) == (100200, "0000000000")
    # text typed as text stays text
    assert sheet.cell(3, col["Срок службы, лет"]).value == "сорок"
    assert sheet.cell(2, col["Дата ввода в эксплуатацию"]).value == "31.02.2015"
    assert "31.02.2015" in sheet.cell(2, col[ERROR]).value


def test_the_fixed_failed_rows_load(org, world, client, login_as):
    login_as(world.eng_a)
    batch_id = _batch_id(upload(client, _typed_list(), "typed.xlsx"))
    book = _failed_rows(client, batch_id)
    sheet = book.worksheets[0]
    col = {c.value: c.column for c in sheet[1]}
    sheet.cell(2, col["Дата ввода в эксплуатацию"], datetime(2015, 2, 28))
    sheet.cell(3, col["Срок службы, лет"], 40)
    sheet.cell(4, col["Износ, %"], 30)

    fixed_id = _batch_id(upload(client, save(book), "typed-ошибки.xlsx"))
    fixed = db.session.get(ImportBatch, fixed_id)
    assert fixed.report["errors"] == []
    assert (fixed.counts["created"], fixed.counts["invalid"]) == (3, 0), fixed.counts
    assert set(fixed.report.get("ignored_columns") or []) >= {SOURCE_ROW, ERROR}
    response = client.post(f"/imports/{fixed_id}/commit", data={})
    assert response.status_code == 302

    db.session.expire_all()
    items = {
        e.inventory_no: e
        for e in db.session.scalars(
            select(Equipment).where(Equipment.organization_id == world.org_a.id)
        )
    }
    assert {"0000100200", "T-3", "T-4"} <= set(items)  # the zeros typed are kept
    boiler = items["0000100200"]
    assert boiler.service_life_years == 7 and boiler.commissioned_on.isoformat() == "2015-02-28"
    assert items["T-3"].service_life_years == 40

    def wear(item):
        return db.session.scalar(
            select(ConditionAssessment.wear_pct).where(ConditionAssessment.equipment_id == item.id)
        )

    assert wear(boiler) == pytest.approx(45)  # 45 %, not 0.45 %
    assert wear(items["T-3"]) == pytest.approx(72.55)
    assert wear(items["T-4"]) == pytest.approx(30)


def test_failed_rows_of_the_1c_export_name_the_rows_the_page_shows(org, world, client, login_as):
    """The 1C export has a title, group rows and totals: the rows are its own numbers."""
    login_as(world.eng_a)
    batch_id = _batch_id(upload(client, sample(ONE_C), "1c.xlsx"))
    shown = _error_rows_on_the_page(client, batch_id)
    assert shown and min(shown) > 10  # below the title and the header
    sheet = _failed_rows(client, batch_id).worksheets[0]
    header = [c.value for c in sheet[1]]
    assert header[-2:] == [SOURCE_ROW, ERROR]
    source_rows = [r[-2] for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert source_rows == shown
