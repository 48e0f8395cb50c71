"""An engineer whose organization is NULL (the schema allows it) sees nothing and changes nothing:
every write answers 403 with a message that says why, never a 500."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from accounts.models import Role, User
from core.access import UNASSIGNED
from core.extensions import db
from equipment.imports.models import ImportBatch
from equipment.models import Equipment, Facility

SAMPLE = Path(__file__).parents[1] / "samples" / "asset_list_clean_ru.xlsx"
WHY = "не привязана к организации"


@pytest.fixture
def lost(world, make) -> User:
    return make.user("lost@example.kz", Role.ENGINEER)


def _counts() -> tuple[int, int, int]:
    return tuple(
        db.session.execute(select(func.count()).select_from(model)).scalar()
        for model in (Facility, Equipment, ImportBatch)
    )


def test_the_scope_of_an_engineer_without_organization_is_empty(lost):
    assert lost.organization_id is None
    assert lost.scope == UNASSIGNED
    assert not lost.scope.can_edit_registry and not lost.scope.everything


def test_the_api_shows_nothing(client, lost, make):
    headers = {"Authorization": f"Bearer {make.token(lost)}"}
    for url in ("/api/v1/facilities", "/api/v1/organizations", "/api/v1/imports"):
        response = client.get(url, headers=headers)
        assert response.status_code == 200 and response.get_json() == [], url
    listed = client.get("/api/v1/equipment", headers=headers).get_json()
    assert listed["total"] == 0 and listed["items"] == []


def test_api_writes_answer_403_with_the_reason(client, lost, make, world):
    headers = {"Authorization": f"Bearer {make.token(lost)}"}
    before = _counts()
    facility = {"code": "X-01", "name": "Чужой ОПО", "region_id": world.fac_a.region_id}
    item = {
        "facility_id": world.fac_a.id,
        "inventory_no": "X-1",
        "name": "Котел",
        "device_type": "tank",
    }
    upload = {"file": (io.BytesIO(SAMPLE.read_bytes()), "list.xlsx"), "dry_run": "false"}
    answers = [
        client.post("/api/v1/facilities", json=facility, headers=headers),
        client.post("/api/v1/equipment", json=item, headers=headers),
        client.post(
            "/api/v1/imports", data=upload, headers=headers, content_type="multipart/form-data"
        ),
    ]
    for response in answers:
        body = response.get_json()
        assert response.status_code == 403 and body["code"] == 403, body
        assert WHY in body["message"]
    assert _counts() == before


def test_pages_show_nothing_and_refuse_changes_with_the_reason(client, lost, login_as, world):
    login_as(lost)
    home = client.get("/").get_data(as_text=True)
    assert WHY in home
    for url in ("/facilities", "/equipment", "/imports"):
        page = client.get(url).get_data(as_text=True)
        assert "Котельная Альфа" not in page and "Котел ДЕ-25 Альфа" not in page, url
    before = _counts()
    facility_form = {
        "organization_id": str(world.org_a.id),
        "code": "X-01",
        "name": "Чужой ОПО",
        "region_id": str(world.fac_a.region_id),
        "sector": "other",
        "status": "operating",
    }
    answers = {
        "GET /facilities/new": client.get("/facilities/new"),
        "POST /facilities/new": client.post("/facilities/new", data=facility_form),
        "GET /equipment/new": client.get("/equipment/new"),
        "POST /equipment/new": client.post(
            "/equipment/new",
            data={"facility_id": str(world.fac_a.id), "inventory_no": "X-1", "name": "Котел"},
        ),
        "POST /imports": client.post(
            "/imports",
            data={"file": (io.BytesIO(SAMPLE.read_bytes()), "list.xlsx")},
            content_type="multipart/form-data",
        ),
    }
    for name, response in answers.items():
        assert response.status_code == 403, name
        assert WHY in response.get_data(as_text=True), name
    assert _counts() == before


def test_the_generic_403_is_unchanged_for_regulators(client, world, login_as):
    login_as(world.reg_pav)
    page = client.get("/facilities/new").get_data(as_text=True)
    assert "Доступ запрещён: недостаточно прав." in page and WHY not in page
