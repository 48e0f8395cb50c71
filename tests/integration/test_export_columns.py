"""The registry export's title rows (what it is, as of when, which filter), the columns a user
chooses (the page's form, ``columns=``, the API and the background job alike), the columns
added in issue 10 and whole numbers written as whole numbers: read back with openpyxl."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import load_workbook

from core import clock
from core.extensions import db
from equipment.catalog import AssessmentMethod, InspectionKind, InspectionResult
from equipment.models import ConditionAssessment, Inspection
from equipment.services import refresh_curves

HEADER_ROW = 4


@pytest.fixture
def fleet(world, make):
    item = world.item_a
    item.manufacturer = "=Белэнергомаш"  # a formula-like maker: stays text
    item.service_life_years = 20.0
    db.session.add_all(
        [
            Inspection(
                equipment_id=item.id,
                kind=InspectionKind.EXAMINATION,
                done_on=date(2021, 5, 4),
                result=InspectionResult.PASSED,
            ),
            Inspection(
                equipment_id=item.id,
                kind=InspectionKind.EXAMINATION,
                done_on=date(2023, 6, 7),
                result=InspectionResult.PASSED,
            ),
            Inspection(  # not an examination: not the last examination
                equipment_id=item.id,
                kind=InspectionKind.HYDRAULIC_TEST,
                done_on=date(2024, 1, 2),
                result=InspectionResult.PASSED,
            ),
            ConditionAssessment(
                equipment_id=item.id,
                assessed_on=date(2022, 3, 1),
                wear_pct=55.0,
                method=AssessmentMethod.DIAGNOSTICS,
            ),
        ]
    )
    make.equipment(world.fac_a, "A-HALF", service_life_years=12.5)
    db.session.commit()
    refresh_curves(db.session, [item.id], {})
    db.session.commit()
    return world


def book_of(response):
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return load_workbook(io.BytesIO(response.get_data())).worksheets[0]


def table(sheet) -> tuple[list, dict]:
    header = [c.value for c in sheet[HEADER_ROW]]
    rows = {line[0].value: line for line in sheet.iter_rows(min_row=HEADER_ROW + 1)}
    return header, rows


def test_the_title_rows_say_what_as_of_when_and_the_filter(client, fleet, login_as):
    login_as(fleet.eng_a)
    sheet = book_of(client.get(f"/equipment/export.xlsx?band=unfit&facility_id={fleet.fac_a.id}"))
    today = f"{clock.today():%d.%m.%Y}"
    assert sheet["A1"].value == (
        f"Реестр технических устройств опасных производственных объектов по состоянию на {today}"
    )
    assert sheet["A1"].font.b
    assert (
        sheet["A2"].value
        == "Фильтр: ОПО: A-01 — Котельная Альфа; Степень износа: Негодное (80–100\xa0%)"
    )
    assert sheet["A3"].value is None
    assert sheet["A4"].value == "Инвентарный номер"
    unfiltered = book_of(client.get("/equipment/export.xlsx"))
    assert unfiltered["A2"].value == "Фильтр: всё оборудование (без фильтра)"


def test_the_search_text_in_the_title_stays_text(client, fleet, login_as):
    login_as(fleet.eng_a)
    sheet = book_of(client.get("/equipment/export.xlsx?q=%3D1%2B1"))
    assert sheet["A2"].value == "Фильтр: Поиск: «=1+1»"
    assert sheet["A2"].data_type == "s"


def test_new_columns_and_whole_numbers(client, fleet, login_as):
    login_as(fleet.eng_a)
    header, rows = table(book_of(client.get("/equipment/export.xlsx")))
    line = rows["A-INV-1"]

    def cell(title):
        return line[header.index(title)]

    assert cell("Изготовитель").value == "=Белэнергомаш"
    assert cell("Изготовитель").data_type == "s" and cell("Изготовитель").quotePrefix
    assert cell("Наименование ОПО").value == "Котельная Альфа"
    assert cell("Регион").value == "Павлодарская область"
    examined = cell("Последнее техническое освидетельствование (по реестру)")
    assert examined.is_date and examined.value.date() == date(2023, 6, 7)
    assessed = cell("Последняя оценка технического состояния (по реестру)")
    assert assessed.is_date and assessed.value.date() == date(2022, 3, 1)
    life = cell("Нормативный срок службы, лет")
    assert life.value == 20 and isinstance(life.value, int)
    assert life.number_format == "General"  # «20», never «20,0»
    half = rows["A-HALF"][header.index("Нормативный срок службы, лет")]
    assert half.value == 12.5
    # an item with no examination or assessment: empty cells, not an error
    other = rows["A-HALF"]
    assert (
        other[header.index("Последнее техническое освидетельствование (по реестру)")].value is None
    )


def test_the_user_chooses_the_columns(client, fleet, login_as):
    login_as(fleet.eng_a)
    page = client.get("/equipment?band=unfit").get_data(as_text=True)
    assert 'id="export-columns"' in page
    assert 'name="columns" value="manufacturer" checked' in page
    assert '<input type="hidden" name="band" value="unfit">' in page
    # the form's request: repeated columns, in the workbook's order whatever the request's
    url = "/equipment/export.xlsx?q=A-INV&columns=region&columns=inventory_no"
    url += "&columns=last_examined_on"
    header, rows = table(book_of(client.get(url)))
    assert header == [
        "Инвентарный номер",
        "Регион",
        "Последнее техническое освидетельствование (по реестру)",
    ]
    assert rows["A-INV-1"][2].value.date() == date(2023, 6, 7)
    # a link's form: comma-separated
    header, _rows = table(book_of(client.get("/equipment/export.xlsx?columns=name,bin")))
    assert header == ["Наименование", "БИН"]


def test_an_unknown_column_is_named_not_crashed(client, fleet, login_as):
    login_as(fleet.eng_a)
    response = client.get(
        "/equipment/export.xlsx?band=unfit&columns=name,salary", follow_redirects=True
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Столбцы: Неизвестный столбец «salary»" in page
    assert "Инвентарный номер" in page  # the allowed ones, as the page names them


def test_the_api_and_the_background_job_take_the_same_columns(
    app, client, runner, fleet, make, login_as
):
    auth = {"Authorization": f"Bearer {make.token(fleet.eng_a)}"}
    bad = client.post("/api/v1/equipment/exports?columns=salary", headers=auth)
    assert bad.status_code == 422
    assert "salary" in str(bad.get_json())
    response = client.post(
        "/api/v1/equipment/exports?columns=inventory_no,manufacturer,service_life_years&q=A-INV",
        headers=auth,
    )
    assert response.status_code == 202
    job_id = response.get_json()["id"]
    login_as(fleet.eng_a)
    result = runner.invoke(args=["worker", "--once"])
    assert "1 job(s) run" in result.output, result.output
    sheet = book_of(client.get(f"/jobs/{job_id}/file"))
    assert sheet["A2"].value == "Фильтр: Поиск: «A-INV»"
    header, rows = table(sheet)
    assert header == ["Инвентарный номер", "Изготовитель", "Нормативный срок службы, лет"]
    assert [c.value for c in rows["A-INV-1"]] == ["A-INV-1", "=Белэнергомаш", 20]


def test_a_facility_out_of_scope_is_never_named_in_the_title(client, fleet, login_as):
    login_as(fleet.eng_a)
    sheet = book_of(client.get(f"/equipment/export.xlsx?facility_id={fleet.fac_b.id}"))
    assert sheet["A2"].value == f"Фильтр: ОПО: #{fleet.fac_b.id}"
    assert sheet.max_row == HEADER_ROW  # and no row of it
