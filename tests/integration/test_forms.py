"""What Russian users type into the registry forms: decimal commas, grouped thousands, numbers
the database cannot hold, dates before any equipment existed."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from core.extensions import db
from equipment.models import ConditionAssessment, Equipment, Facility


def equipment_form(world, **overrides) -> dict:
    form = {
        "facility_id": str(world.fac_a.id),
        "inventory_no": world.item_a.inventory_no,
        "name": world.item_a.name,
        "device_type": "steam_boiler",
        "manufacture_year": "1999",
        "commissioned_on": "2000-01-01",
        "service_life_years": "20",
        "service_life_source": "manufacturer",
        "status": "in_service",
    }
    form.update(overrides)
    return form


def field_error(page: str, field: str) -> str:
    match = re.search(rf'id="{field}-error"[^>]*>(.*?)</', page, re.S)
    assert match, f"no error shown next to {field}"
    return match.group(1).strip()


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
