"""Inventory numbers that the import takes for one («ин-16» is «ИН-16») are one number
everywhere: the database refuses a second one, the form and the API answer with the item that
has it, and the import updates that item instead of adding another."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from core.extensions import db
from equipment.models import Equipment
from tests.helpers.errors import field_error
from tests.helpers.forms import equipment_form
from tests.helpers.imports import load, preview, row, xlsx

# world.item_a is «A-INV-1 — Котел ДЕ-25 Альфа» in facility A-01
NAMED = "уже есть в реестре: A-INV-1 — Котел ДЕ-25 Альфа (A-01)"
LOOK_ALIKES = ["a-inv-1", "A-Inv-1", "A-INV-1\u00a0"]


def items() -> int:
    return db.session.scalar(select(func.count()).select_from(Equipment))


@pytest.mark.parametrize("number", ["a-inv-1", "A-INV -1", "a-INV-1"])
def test_the_database_refuses_a_look_alike_whatever_writes_it(world, number):
    row_values = {
        "organization_id": world.org_a.id,
        "facility_id": world.fac_a.id,
        "inventory_no": number,  # the key comes from the column default, as on bulk inserts
        "name": "Двойник",
        "device_type": "other",
        "status": "in_service",
    }
    with pytest.raises(IntegrityError):
        db.session.execute(insert(Equipment.__table__), [row_values])
        db.session.flush()
    db.session.rollback()
    # another organization may use the number
    db.session.execute(
        insert(Equipment.__table__),
        [{**row_values, "organization_id": world.org_b.id, "facility_id": world.fac_b.id}],
    )
    db.session.commit()


@pytest.mark.parametrize("number", LOOK_ALIKES)
def test_the_api_answers_a_look_alike_with_the_item_that_has_the_number(
    client, make, world, number
):
    headers = {"Authorization": f"Bearer {make.token(world.eng_a)}"}
    before = items()
    body = {
        "facility_id": world.fac_a2.id,
        "inventory_no": number,
        "name": "Двойник",
        "device_type": "tank",
    }
    created = client.post("/api/v1/equipment", json=body, headers=headers)
    assert created.status_code == 422, created.get_json()
    (message,) = created.get_json()["errors"]["json"]["inventory_no"]
    assert f"Инвентарный номер «{number.strip()}» {NAMED}" in message
    patched = client.patch(
        f"/api/v1/equipment/{world.item_a2.id}", json={"inventory_no": number}, headers=headers
    )
    assert patched.status_code == 422, patched.get_json()
    assert NAMED in patched.get_json()["errors"]["json"]["inventory_no"][0]
    assert items() == before
    db.session.expire_all()
    assert db.session.get(Equipment, world.item_a2.id).inventory_no == "A-INV-2"


def test_an_item_may_change_the_case_of_its_own_number(client, make, world):
    headers = {"Authorization": f"Bearer {make.token(world.eng_a)}"}
    response = client.patch(
        f"/api/v1/equipment/{world.item_a.id}", json={"inventory_no": "a-inv-1"}, headers=headers
    )
    assert response.status_code == 200, response.get_json()
    db.session.expire_all()
    item = db.session.get(Equipment, world.item_a.id)
    assert (item.inventory_no, item.inventory_key) == ("a-inv-1", "A-INV-1")


def test_the_form_answers_a_look_alike_next_to_the_field(client, world, login_as):
    login_as(world.eng_a)
    before = items()
    response = client.post(
        "/equipment/new",
        data=equipment_form(world, inventory_no="a-inv-1", name="Двойник"),
    )
    assert response.status_code == 400
    message = html.unescape(field_error(response.get_data(as_text=True), "inventory_no"))
    assert f"Инвентарный номер «a-inv-1» {NAMED}" in message
    assert items() == before


def test_the_import_updates_the_item_a_look_alike_names(world):
    before = items()
    counts = load(world.org_a, xlsx([row("A-01", "a-inv-1", "Котел ДЕ-25 Альфа, из файла")]))
    assert (counts["created"], counts["updated"]) == (0, 1)
    assert items() == before
    db.session.expire_all()
    item = db.session.get(Equipment, world.item_a.id)
    assert (item.inventory_no, item.name) == ("A-INV-1", "Котел ДЕ-25 Альфа, из файла")


def test_two_rows_of_one_file_with_one_number_the_second_is_invalid_naming_the_first(world):
    data = xlsx([row("A-01", "ИН-7", "Котел первый"), row("A-01", "ин-7", "Котел второй")])
    _batch, plan = preview(world.org_a, data)
    (error,) = plan.errors
    assert (error["row"], error["value"]) == (3, "ин-7")
    assert "повторяется (см. строку 2)" in error["message"]
    assert [r.inventory_no for r in plan.rows] == ["ИН-7"]
