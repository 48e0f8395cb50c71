"""What Russian users type into the registry forms: decimal commas, grouped thousands, numbers
the database cannot hold, dates before any equipment existed."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from core import clock
from core.extensions import db
from equipment.models import ConditionAssessment, Equipment, Facility
from tests.helpers.errors import field_error
from tests.helpers.forms import equipment_form


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("1,6", 1.6), ("1 250,5", 1250.5), ("1\u00a0250,5", 1250.5), ("2.5", 2.5)],
)
def test_a_decimal_comma_and_grouped_thousands_are_accepted(client, world, login_as, typed, stored):
    login_as(world.eng_a)
    response = client.post(
        f"/equipment/{world.item_a.id}/edit", data=equipment_form(world, temperature_c=typed)
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert db.session.get(Equipment, world.item_a.id).temperature_c == pytest.approx(stored)


def test_a_wear_with_a_decimal_comma_is_accepted(client, world, login_as):
    login_as(world.eng_a)
    response = client.post(
        f"/equipment/{world.item_a.id}/assessments/new",
        data={"assessed_on": "2024-05-01", "wear_pct": "47,5", "method": "expert", "condition": ""},
    )
    assert response.status_code == 302
    assert db.session.scalars(select(ConditionAssessment.wear_pct)).all() == [47.5]


@pytest.mark.parametrize(
    ("field", "typed", "expected"),
    [
        ("cycle_limit", "99999999999", "2 147 483 647"),
        ("cycle_count", "-1", "от 0"),
        ("pressure_mpa", "1e999", "числ"),
        ("pressure_mpa", "abc", "числ"),
        ("commissioned_on", "1812-06-24", "1900"),
        ("manufacture_year", "1850", "1900"),
    ],
)
def test_values_the_registry_cannot_hold_are_refused_in_russian(
    client, world, login_as, field, typed, expected
):
    login_as(world.eng_a)
    response = client.post(
        f"/equipment/{world.item_a.id}/edit", data=equipment_form(world, **{field: typed})
    )
    assert response.status_code == 400
    assert expected in field_error(response.get_data(as_text=True), field)
    item = db.session.get(Equipment, world.item_a.id)
    assert (item.cycle_limit, item.cycle_count, item.pressure_mpa) == (None, None, None)
    assert item.manufacture_year == 1999


def test_an_admin_creates_a_facility_for_an_organization_through_the_form(client, world, login_as):
    login_as(world.admin)
    form = {
        "organization_id": str(world.org_b.id),
        "code": "B-02",
        "name": "Склад ГСМ Бета",
        "region_id": str(world.fac_b.region_id),
        "sector": "other",
        "status": "operating",
        "hazard_class": "III",
    }
    assert client.get("/facilities/new").status_code == 200
    response = client.post("/facilities/new", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    created = db.session.scalar(select(Facility).where(Facility.code == "B-02"))
    assert (created.organization_id, created.name) == (world.org_b.id, "Склад ГСМ Бета")

    unknown = client.post("/facilities/new", data={**form, "code": "B-03", "organization_id": "0"})
    assert unknown.status_code == 400
    assert db.session.scalar(select(Facility).where(Facility.code == "B-03")) is None


# ---------------------------------------------------------------------------- inputs as typed


def inputs(page: str) -> dict[str, str]:
    """Each rendered <input>'s tag by its name."""
    return {
        re.search(r'name="([^"]*)"', tag).group(1): tag
        for tag in re.findall(r"<input[^>]*>", page)
        if 'name="' in tag
    }


NUMBER_FIELDS = {
    "/equipment/{item}/edit": (
        "manufacture_year",
        "service_life_years",
        "cycle_limit",
        "cycle_count",
        "pressure_mpa",
        "temperature_c",
    ),
    "/equipment/{item}/assessments/new": ("wear_pct", "residual_life_years"),
}
DATE_FIELDS = {
    "/equipment/{item}/edit": ("commissioned_on",),
    "/equipment/{item}/assessments/new": ("assessed_on",),
    "/equipment/{item}/inspections/new": ("done_on", "next_due_on", "extended_until"),
}


def test_numbers_and_dates_are_text_inputs_the_server_reads(client, world, login_as):
    """type=number loses «1,6» (chromium reads 16) and type=date shows the browser's format."""
    login_as(world.eng_a)
    for url in {**NUMBER_FIELDS, **DATE_FIELDS}:
        page = client.get(url.format(item=world.item_a.id)).get_data(as_text=True)
        assert 'type="number"' not in page and 'type="date"' not in page, url
        tags = inputs(page)
        for name in NUMBER_FIELDS.get(url, ()):
            assert 'type="text"' in tags[name], tags[name]
            assert re.search(r'inputmode="(decimal|numeric)"', tags[name]), tags[name]
        for name in DATE_FIELDS.get(url, ()):
            assert 'type="text"' in tags[name] and 'placeholder="дд.мм.гггг"' in tags[name]


def test_stored_values_are_shown_as_russian_users_write_them(client, world, login_as):
    login_as(world.eng_a)
    item = db.session.get(Equipment, world.item_a.id)
    item.pressure_mpa = 1.6
    db.session.commit()
    tags = inputs(client.get(f"/equipment/{world.item_a.id}/edit").get_data(as_text=True))
    assert 'value="1,6"' in tags["pressure_mpa"]
    assert 'value="01.01.2000"' in tags["commissioned_on"]
    assert 'value="20"' in tags["service_life_years"]  # whole years, not «20.0»


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("15.03.2001", date(2001, 3, 15)),
        ("5.3.2001", date(2001, 3, 5)),
        ("2001-03-15", date(2001, 3, 15)),
    ],
)
def test_dates_are_read_as_dd_mm_yyyy_or_iso(client, world, login_as, typed, stored):
    login_as(world.eng_a)
    response = client.post(
        f"/equipment/{world.item_a.id}/edit", data=equipment_form(world, commissioned_on=typed)
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert db.session.get(Equipment, world.item_a.id).commissioned_on == stored


@pytest.mark.parametrize(
    ("url", "data", "field", "expected"),
    [
        (
            "/equipment/{item}/assessments/new",
            {"assessed_on": "31.02.2024", "wear_pct": "40", "method": "expert"},
            "assessed_on",
            "Неверная дата: ожидается дд.мм.гггг.",
        ),
        (
            "/equipment/{item}/assessments/new",
            {"assessed_on": "01.02.24", "wear_pct": "40", "method": "expert"},
            "assessed_on",
            "Неверная дата: год пишется четырьмя цифрами, дд.мм.гггг.",
        ),
        (
            "/equipment/{item}/inspections/new",
            {"kind": "examination", "done_on": "вчера", "result": "passed"},
            "done_on",
            "Неверная дата: ожидается дд.мм.гггг.",
        ),
        (
            "/equipment/{item}/edit",
            None,
            "facility_id",
            "Такого значения нет в списке: выберите значение из списка.",
        ),
    ],
)
def test_unreadable_input_says_what_is_wrong_not_required(
    client, world, login_as, url, data, field, expected
):
    login_as(world.eng_a)
    if data is None:
        data = equipment_form(world, facility_id="abc")
    response = client.post(url.format(item=world.item_a.id), data=data)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    if field == "facility_id":
        expected = "Выберите один из ваших ОПО из списка."
    assert field_error(page, field) == expected
    assert "Обязательное поле." not in page


def test_a_facility_region_that_is_not_a_number_is_named_as_such(client, world, login_as):
    login_as(world.eng_a)
    form = {"code": "A-09", "name": "Склад", "region_id": "abc", "sector": "other"}
    response = client.post("/facilities/new", data={**form, "status": "operating"})
    assert response.status_code == 400
    assert field_error(response.get_data(as_text=True), "region_id") == "Выберите регион из списка."
    response = client.post("/facilities/new", data={**form, "region_id": "", "status": "operating"})
    assert field_error(response.get_data(as_text=True), "region_id") == "Выберите регион."


@pytest.mark.parametrize(
    ("field", "typed", "message"),
    [
        ("pressure_mpa", "abc", "Введите давление числом от 0 до 1000 МПа, например 1,6."),
        ("pressure_mpa", "12e", "Введите давление числом от 0 до 1000 МПа, например 1,6."),
        ("pressure_mpa", "1001", "Введите давление числом от 0 до 1000 МПа, например 1,6."),
        ("service_life_years", "0,5", "Введите срок службы в целых годах, от 1 до 100."),
        ("service_life_years", "0", "Введите срок службы в целых годах, от 1 до 100."),
        ("service_life_years", "101", "Введите срок службы в целых годах, от 1 до 100."),
        ("manufacture_year", "19x9", f"Введите год от 1900 до {clock.today().year}."),
    ],
)
def test_one_clear_message_per_field(client, world, login_as, field, typed, message):
    login_as(world.eng_a)
    response = client.post(
        f"/equipment/{world.item_a.id}/edit", data=equipment_form(world, **{field: typed})
    )
    assert response.status_code == 400
    assert field_error(response.get_data(as_text=True), field) == message
    assert db.session.get(Equipment, world.item_a.id).service_life_years == 20


def test_the_service_life_is_whole_years_as_in_the_import(client, world, login_as):
    login_as(world.eng_a)
    response = client.post(
        f"/equipment/{world.item_a.id}/edit", data=equipment_form(world, service_life_years="25")
    )
    assert response.status_code == 302
    assert db.session.get(Equipment, world.item_a.id).service_life_years == 25.0


# ---------------------------------------------------------------------------- defaults


def selected(page: str, name: str) -> str | None:
    """The value of the selected option of a <select>, or None when none is marked."""
    block = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', page, re.S).group(1)
    match = re.search(
        r'<option[^>]*selected[^>]*value="([^"]*)"|<option[^>]*value="([^"]*)"[^>]*selected', block
    )
    return None if match is None else (match.group(1) or match.group(2) or "")


def test_new_forms_choose_nothing_for_the_user(client, world, login_as):
    login_as(world.eng_a)
    page = client.get("/equipment/new").get_data(as_text=True)
    assert selected(page, "device_type") in (None, "")
    assert "— выберите —" in page
    assert selected(page, "service_life_source") == "unknown"
    assert selected(page, "facility_id") in (None, "")  # two facilities: none preselected
    page = client.get(f"/equipment/{world.item_a.id}/inspections/new").get_data(as_text=True)
    assert selected(page, "result") in (None, "") and selected(page, "kind") in (None, "")
    page = client.get(f"/equipment/{world.item_a.id}/assessments/new").get_data(as_text=True)
    assert selected(page, "method") in (None, "")
    page = client.get("/facilities/new").get_data(as_text=True)
    assert selected(page, "sector") in (None, "")


def test_required_choices_left_blank_are_refused(client, world, login_as):
    login_as(world.eng_a)
    response = client.post(
        "/equipment/new",
        data=equipment_form(world, inventory_no="NEW-1", device_type="", facility_id=""),
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert field_error(page, "device_type") == "Выберите тип устройства."
    assert field_error(page, "facility_id") == "Выберите ОПО."
    response = client.post(
        f"/equipment/{world.item_a.id}/inspections/new",
        data={"kind": "", "done_on": "01.02.2024", "result": ""},
    )
    page = response.get_data(as_text=True)
    assert field_error(page, "result") == "Выберите результат."
    assert field_error(page, "kind") == "Выберите вид мероприятия."


def test_a_life_source_without_a_life_is_refused_and_never_shown(client, world, login_as):
    login_as(world.eng_a)
    response = client.post(
        f"/equipment/{world.item_a.id}/edit",
        data=equipment_form(world, service_life_years="", service_life_source="manufacturer"),
    )
    assert response.status_code == 400
    assert "Неизвестно" in field_error(response.get_data(as_text=True), "service_life_source")

    response = client.post(
        f"/equipment/{world.item_a.id}/edit",
        data=equipment_form(world, service_life_years="", service_life_source="unknown"),
    )
    assert response.status_code == 302
    card = client.get(f"/equipment/{world.item_a.id}").get_data(as_text=True)
    assert "Документация изготовителя" not in card
    life = re.search(r'<dd id="service-life">(.*?)</dd>', card, re.S).group(1)
    assert life.strip() == "— (не указан)"


def test_the_api_stores_no_source_for_a_missing_life(app, world, make):
    client = app.test_client()
    headers = {"Authorization": f"Bearer {make.token(world.eng_a)}"}
    response = client.patch(
        f"/api/v1/equipment/{world.item_a.id}",
        json={"service_life_years": None, "service_life_source": "norm"},
        headers=headers,
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["service_life_source"] == "unknown"


# ---------------------------------------------------------------------------- accessibility


def test_errors_are_tied_to_their_fields_and_the_first_takes_the_focus(client, world, login_as):
    login_as(world.eng_a)
    response = client.post(
        f"/equipment/{world.item_a.id}/edit",
        data=equipment_form(world, name="", pressure_mpa="abc"),
    )
    page = response.get_data(as_text=True)
    tags = inputs(page)
    for name in ("name", "pressure_mpa"):
        assert 'aria-invalid="true"' in tags[name]
        assert f'aria-describedby="{name}-error"' in tags[name]
        assert f'id="{name}-error"' in page
    assert "autofocus" in tags["name"] and "autofocus" not in tags["pressure_mpa"]
    assert sum("autofocus" in tag for tag in tags.values()) == 1
    summary = re.search(r'<div class="flash error error-summary"[^>]*>(.*?)</div>', page, re.S)
    assert summary, "no error summary"
    assert re.findall(r'href="#(\w+)"', summary.group(1)) == ["name", "pressure_mpa"]


def test_adding_equipment_without_a_facility_points_to_creating_one(client, make, login_as):
    from accounts.models import Role

    org = make.org("ТОО «Новая»", "180340021802", "PAV")
    engineer = make.user("new@example.kz", Role.ENGINEER, org)
    login_as(engineer)
    page = client.get("/equipment/new").get_data(as_text=True)
    assert 'id="no-facilities"' in page and 'href="/facilities/new"' in page
    assert 'id="equipment-form"' not in page
