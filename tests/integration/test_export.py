"""Excel output on the real database: the registry export (the current filter, the user's scope,
frozen header, real dates, text never run as a formula) and the import template (drop-down of
device types, example row, explanations) that loads back as it is."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date, datetime, timedelta

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from core import clock
from core.extensions import db
from equipment.catalog import DeviceType, EquipmentStatus
from equipment.imports.batches import preview_batch
from equipment.imports.planner import ImportOptions
from equipment.models import Equipment
from equipment.registry.query import curve_of
from equipment.wear import indicators

HEADER_ROW = 4  # the export's title (what, as of), its filter, an empty row, the header
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MUST_PLAN = "К включению в план"
HEADER = [
    "Инвентарный номер",
    "Наименование",
    "Вид устройства",
    "Код ОПО",
]
FORMULA_LIKE = {
    "name": '=HYPERLINK("http://x","y")',
    "model": "+7 777",
    "factory_no": "-5",
    "registration_no": "@SUM(A1)",
}


def export(client, query: str = ""):
    response = client.get(f"/equipment/export.xlsx{query}")
    assert response.status_code == 200, response.get_data(as_text=True)[:1000]
    assert response.mimetype == XLSX
    assert "attachment" in response.headers["Content-Disposition"]
    return response


def rows_of(response) -> tuple[list, list[list]]:
    """(the header, the data rows): below the title rows."""
    sheet = load_workbook(io.BytesIO(response.get_data())).worksheets[0]
    values = [[c.value for c in line] for line in sheet.iter_rows(min_row=HEADER_ROW)]
    return values[0], values[1:]


def listed(client, query: str) -> list[str]:
    """Inventory numbers the registry page shows for the same filter (all pages)."""
    sep = "&" if query else "?"
    page = client.get(f"/equipment{query}{sep}per_page=500").get_data(as_text=True)
    return [chunk.split("</a>")[0].split(">")[-1] for chunk in page.split("<tr data-id=")[1:]]


@pytest.fixture
def fleet(world, make):
    """Org A: two old items (must be planned), a new one, a decommissioned one and one whose
    text looks like formulas; org B: an old one."""
    fresh = make.equipment(
        world.fac_a,
        "A-NEW",
        name="Кран новый",
        device_type=DeviceType.CRANE,
        commissioned_on=clock.today() - timedelta(days=200),
        manufacture_year=clock.today().year - 1,
    )
    tricky = make.equipment(
        world.fac_a, "=1+1", commissioned_on=date(1985, 6, 1), manufacture_year=1984, **FORMULA_LIKE
    )
    make.equipment(world.fac_a, "A-OFF", status=EquipmentStatus.DECOMMISSIONED)
    return {"fresh": fresh, "tricky": tricky}


def test_export_follows_the_filter_in_the_users_scope(client, world, fleet, login_as):
    login_as(world.eng_a)
    header, rows = rows_of(export(client, "?flag=must_plan"))
    assert header[:4] == HEADER
    inventories = [r[0] for r in rows]
    assert sorted(inventories) == sorted(["A-INV-1", "A-INV-2", "=1+1"])
    assert inventories == listed(client, "?flag=must_plan")  # the same rows as the page
    assert "B-INV-1" not in inventories  # must be planned too, but another organization's
    flags = header.index("Признаки (расчёт)")
    assert all(MUST_PLAN in r[flags] for r in rows)
    # the stored items agree: exactly the must-plan ones of org A
    today = clock.today()
    items = db.session.execute(
        select(Equipment).where(Equipment.organization_id == world.org_a.id)
    ).scalars()
    expected = {
        i.inventory_no
        for i in items
        if i.status != EquipmentStatus.DECOMMISSIONED and indicators(curve_of(i), today).must_plan
    }
    assert set(inventories) == expected

    _header, rows = rows_of(export(client))  # no filter: everything active of org A
    assert sorted(r[0] for r in rows) == sorted(["A-INV-1", "A-INV-2", "A-NEW", "=1+1"])
    _header, rows = rows_of(export(client, "?status=decommissioned"))
    assert [r[0] for r in rows] == ["A-OFF"]
    _header, rows = rows_of(export(client, "?device_type=crane&sort=-inventory_no"))
    assert [r[0] for r in rows] == ["A-NEW"]


def test_export_ignores_paging_and_keeps_the_sort(client, world, fleet, login_as):
    login_as(world.eng_a)
    _header, rows = rows_of(export(client, "?per_page=1&page=2&sort=-inventory_no"))
    assert [r[0] for r in rows] == sorted(["A-INV-1", "A-INV-2", "A-NEW", "=1+1"], reverse=True)


def test_export_scope_of_a_regulator_and_of_another_organization(client, world, fleet, login_as):
    login_as(world.reg_pav)  # sees the facilities in Pavlodar: A-01, not A-02 (Karaganda)
    _header, rows = rows_of(export(client, "?flag=must_plan"))
    assert sorted(r[0] for r in rows) == sorted(["A-INV-1", "=1+1"])
    client.post("/logout")
    login_as(world.eng_b)
    _header, rows = rows_of(export(client, "?flag=must_plan"))
    assert [r[0] for r in rows] == ["B-INV-1"]
    client.post("/logout")
    login_as(world.admin)
    _header, rows = rows_of(export(client, "?flag=must_plan"))
    assert sorted(r[0] for r in rows) == sorted(["A-INV-1", "A-INV-2", "=1+1", "B-INV-1"])


def test_export_header_is_frozen_and_dates_are_dates(client, world, fleet, login_as):
    login_as(world.eng_a)
    book = load_workbook(io.BytesIO(export(client).get_data()))
    sheet = book.worksheets[0]
    assert sheet.title == "Оборудование"
    assert sheet.freeze_panes == f"A{HEADER_ROW + 1}"
    header = [c.value for c in sheet[HEADER_ROW]]
    assert header[:4] == HEADER and "Дата ввода в эксплуатацию" in header
    assert all(c.font.b for c in sheet[HEADER_ROW])
    rows = {line[0].value: line for line in sheet.iter_rows(min_row=HEADER_ROW + 1)}
    old = rows["A-INV-1"]
    commissioned = old[header.index("Дата ввода в эксплуатацию")]
    assert commissioned.is_date and commissioned.value == datetime(2000, 1, 1)
    life_end = old[header.index("Окончание срока службы (расчёт)")]
    assert life_end.is_date and life_end.value == datetime(2020, 1, 1)
    assert old[header.index("Год изготовления")].value == 1999
    assert old[header.index("Год изготовления")].data_type == "n"
    wear = old[header.index("Физический износ, % (расчёт)")]
    assert wear.data_type == "n" and wear.value == 100
    assert rows["A-NEW"][header.index("Вид устройства")].value == "Грузоподъёмный кран"
    assert sheet.auto_filter.ref and sheet.auto_filter.ref.startswith(f"A{HEADER_ROW}:")


def test_text_that_looks_like_a_formula_stays_text(client, world, fleet, login_as):
    login_as(world.eng_a)
    data = export(client).get_data()
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    header = [c.value for c in sheet[HEADER_ROW]]
    line = next(r for r in sheet.iter_rows(min_row=HEADER_ROW + 1) if r[0].value == "=1+1")
    cells = {
        "inventory_no": line[0],
        "name": line[1],
        "model": line[header.index("Марка (модель)")],
        "factory_no": line[header.index("Заводской номер")],
        "registration_no": line[header.index("Регистрационный номер")],
    }
    assert cells["inventory_no"].data_type == "s" and cells["inventory_no"].value == "=1+1"
    assert cells["inventory_no"].quotePrefix
    for field_name, text in FORMULA_LIKE.items():
        cell = cells[field_name]
        assert cell.data_type == "s", (field_name, cell.data_type)
        assert cell.value == text
        assert cell.quotePrefix  # shown and kept as text when edited in Excel, too
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/sheet")]
        for name in sheets:
            assert "<f>" not in archive.read(name).decode(), name  # no formula anywhere


def test_bad_export_filter_is_explained_not_crashed(client, world, login_as):
    login_as(world.eng_a)
    response = client.get("/equipment/export.xlsx?band=purple&flag=odd")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "purple" in page and "odd" in page
    assert "Хорошее" in page and "good, satisfactory" not in page  # labels, not codes


def test_export_needs_a_login(client, world):
    response = client.get("/equipment/export.xlsx")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# ---------------------------------------------------------------------------- template


def _template(client):
    response = client.get("/imports/template.xlsx")
    assert response.status_code == 200
    assert response.mimetype == XLSX
    return response.get_data()


def test_template_has_headers_a_device_type_drop_down_an_example_and_help(client, world, login_as):
    login_as(world.eng_a)
    book = load_workbook(io.BytesIO(_template(client)))
    assert book.sheetnames[0] == "Оборудование" and "Пояснения" in book.sheetnames
    sheet = book["Оборудование"]
    header = [c.value for c in sheet[1]]
    for title in (
        "Код ОПО",
        "Инвентарный номер",
        "Наименование",
        "Вид устройства",
        "Физический износ, %",
    ):
        assert title in header, title
    assert sheet.freeze_panes == "A2"
    example = {title: c.value for title, c in zip(header, sheet[2], strict=False)}
    assert example["Инвентарный номер"] == "ИН-000123"
    assert example["Вид устройства"] == "котел паровой"
    assert isinstance(example["Дата ввода в эксплуатацию"], datetime)

    column = chr(ord("A") + header.index("Вид устройства"))
    validations = [
        v
        for v in sheet.data_validations.dataValidation
        if v.type == "list" and any(str(r).startswith(f"{column}2") for r in v.sqref.ranges)
    ]
    assert len(validations) == 1, [
        (v.type, str(v.sqref)) for v in sheet.data_validations.dataValidation
    ]
    source = validations[0].formula1
    match = re.fullmatch(r"'?(.+?)'?!\$A\$1:\$A\$(\d+)", source)
    assert match, source
    options = [c.value for c in book[match[1]]["A"]][: int(match[2])]
    assert len(options) == len(DeviceType) and "Паровой котёл" in options
    assert book[match[1]].sheet_state == "hidden"

    help_sheet = book["Пояснения"]
    explained = {r[0]: r[1] for r in help_sheet.iter_rows(min_row=2, values_only=True)}
    assert set(explained) == set(header)
    assert all(explained.values()), [k for k, v in explained.items() if not v]
    assert "Обязательно" in explained["Инвентарный номер"]


def test_the_template_loads_back_with_every_drop_down_value(client, world, make, login_as):
    make.facility(world.org_a, "OPO-01", name="Котельная №1")
    login_as(world.eng_a)
    book = load_workbook(io.BytesIO(_template(client)))
    sheet = book["Оборудование"]
    header = [c.value for c in sheet[1]]
    kinds = [c.value for c in book["Списки"]["A"] if c.value]
    example = [c.value for c in sheet[2]]
    for number, kind in enumerate(kinds, start=1):
        line = list(example)
        line[header.index("Инвентарный номер")] = f"T-{number:02d}"
        line[header.index("Вид устройства")] = kind
        sheet.append(line)
    out = io.BytesIO()
    book.save(out)
    batch, plan = preview_batch(
        db.session, world.eng_a, world.org_a, out.getvalue(), "шаблон.xlsx", ImportOptions()
    )
    db.session.commit()
    assert plan.errors == []
    assert plan.counts()["created"] == 1 + len(kinds)
    assert plan.new_facilities == []
    response = client.post(f"/imports/{batch.id}/commit", data={})
    assert response.status_code == 302
    db.session.expire_all()
    loaded = {
        i.inventory_no: i
        for i in db.session.execute(
            select(Equipment).where(Equipment.inventory_no.like("T-%"))
        ).scalars()
    }
    assert sorted(i.device_type for i in loaded.values()) == sorted(DeviceType)
    sample = db.session.execute(
        select(Equipment).where(Equipment.inventory_no == "ИН-000123")
    ).scalar_one()
    assert sample.facility.code == "OPO-01"
    assert sample.device_type == DeviceType.STEAM_BOILER
    assert sample.commissioned_on == date(1987, 3, 15)
    assert sample.status == EquipmentStatus.IN_SERVICE


def test_failed_rows_workbook_keeps_formula_like_text_as_text(client, world, login_as):
    book = Workbook()
    sheet = book.active
    sheet.append(["Код ОПО", "Инвентарный номер", "Наименование", "Вид устройства", "Износ, %"])
    sheet.append(["A-01", "=2+2", '=HYPERLINK("http://x","y")', "котел паровой", "130 %"])
    sheet["B2"].data_type = sheet["C2"].data_type = "s"  # written as text, not as formulas
    out = io.BytesIO()
    book.save(out)
    batch, plan = preview_batch(
        db.session, world.eng_a, world.org_a, out.getvalue(), "x.xlsx", ImportOptions()
    )
    db.session.commit()
    assert plan.counts()["invalid"] == 1
    login_as(world.eng_a)
    response = client.get(f"/imports/{batch.id}/errors.xlsx")
    assert response.status_code == 200 and response.mimetype == XLSX
    failed = load_workbook(io.BytesIO(response.get_data())).worksheets[0]
    inventory, name = failed["B2"], failed["C2"]
    assert (inventory.value, inventory.data_type) == ("=2+2", "s")
    assert (name.value, name.data_type) == ('=HYPERLINK("http://x","y")', "s")
    assert failed.cell(1, failed.max_column).value == "Ошибка"
    assert "от 0 до 100" in failed.cell(2, failed.max_column).value


def test_export_names_each_rows_organization_and_bin(client, world, fleet, login_as):
    login_as(world.admin)
    header, rows = rows_of(export(client, "?flag=must_plan&sort=inventory_no"))
    org, bin_ = header.index("Эксплуатирующая организация"), header.index("БИН")
    assert bin_ == org + 1 and header[org - 1] == "Код ОПО"
    by_item = {r[0]: (r[org], r[bin_]) for r in rows}
    assert by_item["A-INV-1"] == (world.org_a.name, world.org_a.bin)
    assert by_item["B-INV-1"] == (world.org_b.name, world.org_b.bin)
    assert all(isinstance(b, str) and len(b) == 12 for _o, b in by_item.values())
