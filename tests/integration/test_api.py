"""The registry API as a client sees it: paging envelope, indicators, filters, sorting,
field-level validation errors, audited changes, wear re-based by assessments, life extended by
an expertise, the OpenAPI document, and JSON errors (never a 500) for bad input."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from core import clock
from core.audit import AuditEvent
from core.extensions import db
from equipment.catalog import DeviceType, EquipmentStatus, InspectionKind, InspectionResult
from equipment.imports.batches import preview_batch
from equipment.imports.models import ImportBatch
from equipment.imports.planner import ImportOptions
from equipment.models import ConditionAssessment, Equipment, Facility, Inspection
from equipment.services import refresh_curves
from equipment.wear import add_years
from tests.helpers.clients import Api
from tests.helpers.errors import field_errors

TODAY = clock.today()
LIFE_DAYS = 20 * 365.25  # the fleet's normative service life, in days
HUGE_ID = 10**20  # a well-formed id beyond every integer column


@pytest.fixture
def api(app, make, world) -> Api:
    return Api(app, make.token(world.eng_a))


@pytest.fixture
def fleet(world, make) -> dict[str, Equipment]:
    """Org A's items with known indicators (besides A-INV-1 and A-INV-2, both worn out):

    A-INV-3  crane, 400 days old, inspection overdue           -> good, wear ~5.5
    A-INV-4  hot-water boiler, 13 years old, suspended          -> dilapidated, wear ~65
    A-INV-5  vessel without dates or life                       -> unknown band, no life end
    A-OLD    decommissioned (hidden unless asked for)
    """
    crane = make.equipment(
        world.fac_a,
        "A-INV-3",
        name="Кран козловой КК-10",
        device_type=DeviceType.CRANE,
        commissioned_on=TODAY - timedelta(days=400),
        manufacture_year=None,
        factory_no="ЗН-77",
    )
    db.session.add(
        Inspection(
            equipment_id=crane.id,
            kind=InspectionKind.EXAMINATION,
            done_on=TODAY - timedelta(days=380),
            next_due_on=TODAY - timedelta(days=15),
            result=InspectionResult.PASSED,
        )
    )
    refresh_curves(db.session, [crane.id], {})
    db.session.commit()
    boiler = make.equipment(
        world.fac_a,
        "A-INV-4",
        name="КОТЕЛ КВ-ГМ-10",
        device_type=DeviceType.HOT_WATER_BOILER,
        commissioned_on=TODAY - timedelta(days=round(13 * 365.25)),
        manufacture_year=None,
        status=EquipmentStatus.SUSPENDED,
    )
    vessel = make.equipment(
        world.fac_a,
        "A-INV-5",
        name="Сосуд без паспорта",
        device_type=DeviceType.PRESSURE_VESSEL,
        commissioned_on=None,
        manufacture_year=None,
        service_life_years=None,
    )
    old = make.equipment(
        world.fac_a, "A-OLD", name="Списанный сосуд", status=EquipmentStatus.DECOMMISSIONED
    )
    return {
        "A-INV-1": world.item_a,
        "A-INV-2": world.item_a2,
        "A-INV-3": crane,
        "A-INV-4": boiler,
        "A-INV-5": vessel,
        "A-OLD": old,
    }


def inventory(api: Api, query: str = "") -> list[str]:
    response = api.get(f"/api/v1/equipment{query}")
    assert response.status_code == 200, response.get_json()
    return [item["inventory_no"] for item in response.get_json()["items"]]


def counts() -> dict[str, int]:
    """Rows that a refused request must not have added."""
    db.session.rollback()  # end the test session's transaction: see other sessions' commits
    return {
        model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
        for model in (Equipment, Facility, ConditionAssessment, Inspection, AuditEvent)
    }


def reload(item: Equipment) -> Equipment:
    db.session.rollback()
    return db.session.get(Equipment, item.id)


# ---------------------------------------------------------------------------- list


def test_list_answers_a_paging_envelope(api, fleet):
    body = api.get("/api/v1/equipment").get_json()
    assert set(body) == {"items", "total", "page", "per_page", "pages"}
    assert (body["total"], body["page"], body["per_page"], body["pages"]) == (5, 1, 50, 1)
    assert [i["inventory_no"] for i in body["items"]] == [f"A-INV-{n}" for n in range(1, 6)]

    body = api.get("/api/v1/equipment?per_page=2&page=3").get_json()
    assert (body["total"], body["page"], body["per_page"], body["pages"]) == (5, 3, 2, 3)
    assert [i["inventory_no"] for i in body["items"]] == ["A-INV-5"]
    past_the_end = api.get("/api/v1/equipment?per_page=2&page=4").get_json()
    assert past_the_end["items"] == [] and past_the_end["total"] == 5


def test_each_item_carries_its_indicators(api, fleet):
    items = {i["inventory_no"]: i for i in api.get("/api/v1/equipment").get_json()["items"]}
    worn = items["A-INV-1"]["indicators"]
    assert worn["wear_pct"] == 100
    assert worn["band"] == "unfit"
    assert worn["life_end"] == "2020-01-01"
    assert worn["life_expired"] is True
    # critical, and so not «warning» (the flags are a ladder, as on the dashboard)
    assert worn["critical"] is True and worn["warning"] is False and worn["must_plan"] is True
    assert worn["inspection_overdue"] is False
    assert {"critical", "life_expired"} <= set(worn["reasons"])
    assert worn["as_of"] == TODAY.isoformat()

    crane = items["A-INV-3"]["indicators"]
    assert crane["wear_pct"] == pytest.approx(400 / LIFE_DAYS * 100, abs=1e-6)
    assert crane["band"] == "good"
    assert crane["life_end"] == add_years(TODAY - timedelta(days=400), 20).isoformat()
    assert crane["life_expired"] is False and crane["critical"] is False
    assert crane["inspection_overdue"] is True
    assert crane["next_inspection_due"] == (TODAY - timedelta(days=15)).isoformat()

    boiler = items["A-INV-4"]["indicators"]
    assert boiler["wear_pct"] == pytest.approx(65, abs=0.01)
    assert boiler["band"] == "dilapidated"
    assert boiler["warning"] is True and boiler["critical"] is False

    vessel = items["A-INV-5"]["indicators"]
    assert vessel["wear_pct"] is None and vessel["band"] == "unknown"
    assert vessel["life_end"] is None and vessel["life_expired"] is False


def test_single_item_has_the_same_indicators_as_the_list(api, fleet):
    listed = {i["id"]: i for i in api.get("/api/v1/equipment").get_json()["items"]}
    for item_id, item in listed.items():
        assert api.get(f"/api/v1/equipment/{item_id}").get_json() == item


@pytest.mark.parametrize(
    "query,expected",
    [
        ("?device_type=crane", ["A-INV-3"]),
        ("?device_type=steam_boiler", ["A-INV-1"]),
        ("?status=suspended", ["A-INV-4"]),
        ("?status=decommissioned", ["A-OLD"]),
        ("?band=unfit", ["A-INV-1", "A-INV-2"]),
        ("?band=dilapidated", ["A-INV-4"]),
        ("?band=good", ["A-INV-3"]),
        ("?band=unknown", ["A-INV-5"]),
        ("?flag=life_expired", ["A-INV-1", "A-INV-2"]),
        ("?flag=warning", ["A-INV-4"]),  # at or above warning, below critical
        ("?flag=inspection_overdue", ["A-INV-3"]),
        ("?flag=must_plan", ["A-INV-1", "A-INV-2"]),
        # a repeated flag narrows: every flag must hold
        ("?flag=warning&flag=critical", []),
        ("?flag=critical&flag=life_expired", ["A-INV-1", "A-INV-2"]),
        ("?flag=warning&flag=inspection_overdue", []),
        ("?q=котел", ["A-INV-1", "A-INV-4"]),
        ("?q=КОТЕЛ", ["A-INV-1", "A-INV-4"]),
        ("?q=%D0%9A%D0%BE%D1%82%D0%B5%D0%BB%20%D0%94%D0%95-25", ["A-INV-1"]),  # «Котел ДЕ-25»
        ("?q=%20%20кран%20%20", ["A-INV-3"]),
        ("?q=inv-3", ["A-INV-3"]),
        ("?q=зн-77", ["A-INV-3"]),  # factory number
        ("?q=котел&status=suspended", ["A-INV-4"]),
        ("?q=котел&band=unfit&device_type=steam_boiler", ["A-INV-1"]),
        ("?q=нет-такого", []),
    ],
)
def test_filters(api, fleet, query, expected):
    assert inventory(api, query) == expected


def test_filter_by_facility(api, fleet, world):
    assert inventory(api, f"?facility_id={world.fac_a2.id}") == ["A-INV-2"]
    assert inventory(api, f"?facility_id={world.fac_a.id}&band=good") == ["A-INV-3"]
    assert len(inventory(api, f"?organization_id={world.org_a.id}")) == 5


def test_sorting_by_wear_and_life_end(api, fleet):
    response = api.get("/api/v1/equipment?sort=-wear").get_json()["items"]
    assert [i["inventory_no"] for i in response] == [
        "A-INV-2",  # 100 % (ties: the newer item first when descending)
        "A-INV-1",  # 100 %
        "A-INV-4",  # ~65 %
        "A-INV-3",  # ~5 %
        "A-INV-5",  # unknown wear comes last
    ]
    wears = [i["indicators"]["wear_pct"] for i in response if i["indicators"]["wear_pct"]]
    assert wears == sorted(wears, reverse=True)

    by_life_end = inventory(api, "?sort=life_end")  # no life end: last both ways
    assert by_life_end == ["A-INV-1", "A-INV-2", "A-INV-4", "A-INV-3", "A-INV-5"]
    assert inventory(api, "?sort=-life_end") == [
        "A-INV-3",
        "A-INV-4",
        "A-INV-2",
        "A-INV-1",
        "A-INV-5",
    ]
    assert inventory(api, "?sort=-inventory_no&per_page=2") == ["A-INV-5", "A-INV-4"]


@pytest.mark.parametrize(
    "field,value",
    [
        ("device_type", "rocket"),
        ("status", "broken"),
        ("band", "purple"),
        ("flag", "odd"),
        ("sort", "colour"),
        ("sort", "-colour"),
        ("page", "0"),
        ("page", "first"),
        ("per_page", "100000"),
        ("facility_id", "abc"),
        ("organization_id", "1.5"),
    ],
)
def test_bad_filter_values_are_422_naming_the_field(api, world, field, value):
    response = api.get(f"/api/v1/equipment?{field}={value}")
    assert response.status_code == 422
    assert set(field_errors(response)) == {field}


def test_every_bad_filter_is_named_at_once(api, world):
    response = api.get("/api/v1/equipment?band=purple&sort=colour&page=0&flag=ok&flag=odd")
    assert response.status_code == 422
    assert set(field_errors(response)) == {"band", "sort", "page", "flag"}


def test_search_takes_like_wildcards_literally(api, fleet):
    found = {q: inventory(api, f"?q={q}") for q in ("_", "%25", "A_INV", "A%25INV")}
    assert found == {"_": [], "%25": [], "A_INV": [], "A%25INV": []}


def test_search_finds_wildcards_and_the_escape_character_as_text(api, world, make):
    make.equipment(world.fac_a, "W_1", name="Сосуд 50% объёма")
    make.equipment(world.fac_a, "W/2", name="Насос \\ резервный")
    assert inventory(api, "?q=w_1") == ["W_1"]
    assert inventory(api, "?q=50%25") == ["W_1"]
    assert inventory(api, "?q=w/2") == ["W/2"]
    assert inventory(api, "?q=%5C") == ["W/2"]  # a backslash
    assert inventory(api, "?q=/") == ["W/2"]  # autoescape's own escape character


def test_search_ignores_case_and_yo_and_follows_every_change(api, world, make, app):
    item = make.equipment(world.fac_a, "S-1", name="Котёл ДКВР-4", factory_no="ЗН-771")
    assert inventory(api, "?q=КОТЕЛ%20дквр") == ["S-1"]
    assert inventory(api, "?q=зн-771") == ["S-1"]
    assert inventory(api, "?q=дквр-4%0Aзн") == []  # the fields are not run together

    renamed = api.patch(f"/api/v1/equipment/{item.id}", json={"name": "Сосуд В-2"})
    assert renamed.status_code == 200
    assert (inventory(api, "?q=дквр"), inventory(api, "?q=сосуд%20в-2")) == ([], ["S-1"])

    book = Workbook()
    book.active.append(["Инв. №", "Наименование", "Тип", "ОПО"])
    book.active.append(["S-1", "Резервуар РВС-5000", "резервуар", world.fac_a.code])
    out = io.BytesIO()
    book.save(out)
    with app.app_context():
        batch, _plan = preview_batch(
            db.session, world.eng_a, world.org_a, out.getvalue(), "s.xlsx", ImportOptions()
        )
        db.session.commit()
        batch_id = batch.id
    assert api.post(f"/api/v1/imports/{batch_id}/commit", json={}).status_code == 200
    assert (inventory(api, "?q=сосуд"), inventory(api, "?q=рвс-5000")) == ([], ["S-1"])


# ---------------------------------------------------------------------------- create


def new_item(world, **changes) -> dict:
    body = {
        "facility_id": world.fac_a.id,
        "inventory_no": "NEW-1",
        "name": "Сосуд воздушный В-1",
        "device_type": "pressure_vessel",
        "manufacture_year": 2015,
        "commissioned_on": "2016-03-01",
        "service_life_years": 20,
        "service_life_source": "manufacturer",
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not ...}


def test_create_answers_the_item_with_indicators_and_audits(api, world):
    response = api.post("/api/v1/equipment", json=new_item(world))
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert created["organization_id"] == world.org_a.id
    assert created["indicators"]["life_end"] == "2036-03-01"
    assert created["indicators"]["band"] in {"satisfactory", "unsatisfactory"}
    assert api.get(f"/api/v1/equipment/{created['id']}").get_json() == created
    event = db.session.execute(
        select(AuditEvent).where(
            AuditEvent.entity_type == "equipment", AuditEvent.entity_id == created["id"]
        )
    ).scalar_one()
    assert event.action == "create" and event.actor_email == world.eng_a.email
    assert event.changes["inventory_no"] == [None, "NEW-1"]


@pytest.mark.parametrize(
    "changes,fields",
    [
        ({"name": ...}, {"name"}),
        ({"name": ""}, {"name"}),
        ({"inventory_no": ...}, {"inventory_no"}),
        ({"facility_id": ...}, {"facility_id"}),
        ({"manufacture_year": 1800}, {"manufacture_year"}),
        ({"service_life_years": 0}, {"service_life_years"}),
        ({"device_type": "rocket"}, {"device_type"}),
        ({"device_type": ...}, {"device_type"}),
        ({"commissioned_on": "2999-01-01"}, {"commissioned_on"}),
        ({"commissioned_on": "01.03.2016"}, {"commissioned_on"}),
        ({"manufacture_year": "nineteen"}, {"manufacture_year"}),
        ({"organization_id": 2}, {"organization_id"}),  # read-only: an unknown field
        ({"commissioned_on": "2010-01-01"}, {"commissioned_on"}),  # before manufacture
        (
            {"name": ..., "manufacture_year": 1800, "service_life_years": 0, "device_type": "x"},
            {"name", "manufacture_year", "service_life_years", "device_type"},
        ),
    ],
)
def test_invalid_item_is_422_naming_each_field_and_saves_nothing(api, world, changes, fields):
    before = counts()
    response = api.post("/api/v1/equipment", json=new_item(world, **changes))
    assert response.status_code == 422
    assert set(field_errors(response)) == fields
    assert counts() == before


def test_duplicate_inventory_number_is_422_on_inventory_no(api, world, make):
    before = counts()
    response = api.post("/api/v1/equipment", json=new_item(world, inventory_no="A-INV-1"))
    assert response.status_code == 422
    assert set(field_errors(response)) == {"inventory_no"}
    assert counts() == before
    # the key is (organization, inventory number): another organization may use it
    other = Api(api.app, make.token(world.eng_b))
    body = new_item(world, inventory_no="A-INV-1", facility_id=world.fac_b.id)
    assert other.post("/api/v1/equipment", json=body).status_code == 201


# ---------------------------------------------------------------------------- change


def _events(item_id: int, action: str) -> list[AuditEvent]:
    db.session.rollback()
    return list(
        db.session.execute(
            select(AuditEvent)
            .where(
                AuditEvent.entity_type == "equipment",
                AuditEvent.entity_id == item_id,
                AuditEvent.action == action,
            )
            .order_by(AuditEvent.id)
        ).scalars()
    )


def test_patch_changes_a_field_and_audits_before_and_after(api, world):
    item = world.item_a
    response = api.patch(f"/api/v1/equipment/{item.id}", json={"name": "Котел ДЕ-25 № 2"})
    assert response.status_code == 200
    assert response.get_json()["name"] == "Котел ДЕ-25 № 2"
    assert response.get_json()["inventory_no"] == "A-INV-1"  # the rest is kept
    assert reload(item).name == "Котел ДЕ-25 № 2"
    [event] = _events(item.id, "update")
    assert event.changes == {"name": ["Котел ДЕ-25 Альфа", "Котел ДЕ-25 № 2"]}
    assert event.actor_email == world.eng_a.email

    same = api.patch(f"/api/v1/equipment/{item.id}", json={"name": "Котел ДЕ-25 № 2"})
    assert same.status_code == 200
    assert len(_events(item.id, "update")) == 1  # no change, no event


def test_patch_of_the_service_life_moves_the_life_end(api, world):
    response = api.patch(f"/api/v1/equipment/{world.item_a.id}", json={"service_life_years": 30})
    indicators = response.get_json()["indicators"]
    assert indicators["life_end"] == "2030-01-01"
    assert indicators["life_expired"] is (date(2030, 1, 1) <= TODAY)
    [event] = _events(world.item_a.id, "update")
    assert event.changes == {"service_life_years": [20.0, 30.0]}


def test_invalid_patch_is_422_and_changes_nothing(api, world):
    before = counts()
    response = api.patch(
        f"/api/v1/equipment/{world.item_a.id}",
        json={"service_life_years": 0, "manufacture_year": 1800},
    )
    assert response.status_code == 422
    assert set(field_errors(response)) == {"service_life_years", "manufacture_year"}
    assert counts() == before
    assert reload(world.item_a).service_life_years == 20


@pytest.mark.parametrize(
    "kind",
    [
        "equipment",
        "facilities",
    ],
)
@pytest.mark.parametrize("body", ["{}", "same"])
def test_a_patch_that_changes_nothing_writes_no_audit_event(api, world, kind, body):
    obj = world.item_a if kind == "equipment" else world.fac_a
    url = f"/api/v1/{kind}/{obj.id}"
    data = json.dumps({"name": obj.name}) if body == "same" else body
    before = counts()
    response = api.patch(url, data=data, content_type=JSON)
    assert response.status_code == 200
    assert response.get_json()["name"] == obj.name
    assert counts() == before


# ---------------------------------------------------------------------------- assessments


def test_assessment_rebases_the_wear(api, world):
    item = world.item_a
    assessed_on = TODAY - timedelta(days=100)
    response = api.post(
        f"/api/v1/equipment/{item.id}/assessments",
        json={
            "assessed_on": assessed_on.isoformat(),
            "wear_pct": 30,
            "method": "diagnostics",
            "condition": "operable",
            "document_ref": "ТД-17",
        },
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["equipment_id"] == item.id
    indicators = api.get(f"/api/v1/equipment/{item.id}").get_json()["indicators"]
    assert indicators["wear_pct"] == pytest.approx(30 + 100 / LIFE_DAYS * 100, abs=1e-6)
    assert indicators["band"] == "satisfactory"
    assert indicators["critical"] is False
    assert indicators["life_expired"] is True  # the assessment does not extend the life
    listed = api.get(f"/api/v1/equipment/{item.id}/assessments").get_json()
    assert [a["document_ref"] for a in listed] == ["ТД-17"]
    assert len(_events(item.id, "assessment_added")) == 1


@pytest.mark.parametrize(
    "changes,field",
    [
        ({"wear_pct": 140}, "wear_pct"),
        ({"wear_pct": -1}, "wear_pct"),
        ({"assessed_on": (TODAY + timedelta(days=2)).isoformat()}, "assessed_on"),
        ({"method": "guess"}, "method"),
    ],
)
def test_invalid_assessment_is_422_and_saves_nothing(api, world, changes, field):
    body = {"assessed_on": TODAY.isoformat(), "wear_pct": 30, "method": "expert", **changes}
    before = counts()
    response = api.post(f"/api/v1/equipment/{world.item_a.id}/assessments", json=body)
    assert response.status_code == 422
    assert set(field_errors(response)) == {field}
    assert counts() == before


# ---------------------------------------------------------------------------- inspections


def test_extension_by_an_expertise_moves_the_life_end(api, world):
    item = world.item_a
    until = TODAY + timedelta(days=3 * 365)
    response = api.post(
        f"/api/v1/equipment/{item.id}/inspections",
        json={
            "kind": "expertise",
            "done_on": (TODAY - timedelta(days=10)).isoformat(),
            "result": "extended",
            "extended_until": until.isoformat(),
            "next_due_on": until.isoformat(),
            "document_no": "ЭПБ-1",
        },
    )
    assert response.status_code == 201, response.get_json()
    indicators = api.get(f"/api/v1/equipment/{item.id}").get_json()["indicators"]
    assert indicators["life_end"] == until.isoformat()
    assert indicators["life_expired"] is False
    assert "life_expired" not in indicators["reasons"]
    assert indicators["next_inspection_due"] == until.isoformat()
    assert inventory(api, "?flag=life_expired") == ["A-INV-2"]
    listed = api.get(f"/api/v1/equipment/{item.id}/inspections").get_json()
    assert [(i["kind"], i["extended_until"]) for i in listed] == [("expertise", until.isoformat())]


def _inspection(**changes) -> dict:
    body = {
        "kind": "examination",
        "done_on": (TODAY - timedelta(days=5)).isoformat(),
        "result": "passed",
    }
    body.update(changes)
    return body


@pytest.mark.parametrize(
    "body,field",
    [
        (_inspection(result="extended", extended_until="2040-01-01"), "result"),
        (_inspection(result="refused"), "result"),
        (_inspection(kind="expertise", result="extended"), "extended_until"),
        (
            _inspection(kind="expertise", result="extended", extended_until="2001-01-01"),
            "extended_until",
        ),
        (_inspection(next_due_on=(TODAY - timedelta(days=30)).isoformat()), "next_due_on"),
        (_inspection(next_due_on=(TODAY - timedelta(days=5)).isoformat()), "next_due_on"),
        (_inspection(done_on=(TODAY + timedelta(days=1)).isoformat()), "done_on"),
        (_inspection(kind="x-ray"), "kind"),
    ],
)
def test_invalid_inspection_is_422_naming_the_field(api, world, body, field):
    before = counts()
    response = api.post(f"/api/v1/equipment/{world.item_a.id}/inspections", json=body)
    assert response.status_code == 422
    assert set(field_errors(response)) == {field}
    assert counts() == before
    assert reload(world.item_a).life_end == date(2020, 1, 1)


# ---------------------------------------------------------------------------- the document


def test_openapi_document_lists_the_registry(app):
    with app.app_context():
        response = app.test_client().get("/api/openapi.json")
    assert response.status_code == 200
    document = json.loads(response.get_data(as_text=True))
    assert document["openapi"].startswith("3.")
    paths = document["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/equipment"])
    assert {"get", "patch"} <= set(paths["/api/v1/equipment/{item_id}"])
    assert "/api/v1/equipment/{item_id}/inspections" in paths
    params = {p["name"] for p in paths["/api/v1/equipment/{item_id}"].get("parameters", [])}
    assert "item_id" in params


# ---------------------------------------------------------------------------- errors


MISSING = 987_654


@pytest.mark.parametrize(
    "url",
    [
        f"/api/v1/equipment/{MISSING}",
        f"/api/v1/equipment/{MISSING}/assessments",
        f"/api/v1/equipment/{MISSING}/inspections",
        f"/api/v1/facilities/{MISSING}",
        f"/api/v1/organizations/{MISSING}",
        f"/api/v1/imports/{MISSING}",
        "/api/v1/no-such-thing",
        "/api/v1/equipment/not-a-number",
    ],
)
def test_unknown_ids_are_404_json(api, world, url):
    response = api.get(url)
    assert response.status_code == 404
    assert response.mimetype == "application/json"
    assert response.get_json()["code"] == 404


def test_unknown_id_in_a_change_is_404_json(api, world):
    response = api.patch(f"/api/v1/equipment/{MISSING}", json={"name": "x"})
    assert response.status_code == 404 and response.get_json()["code"] == 404
    body = {"assessed_on": TODAY.isoformat(), "wear_pct": 10, "method": "expert"}
    response = api.post(f"/api/v1/equipment/{MISSING}/assessments", json=body)
    assert response.status_code == 404 and response.get_json()["code"] == 404


def test_ids_beyond_the_integer_range_are_404_or_422_not_500(api, world):
    statuses = {
        "GET item": api.get(f"/api/v1/equipment/{HUGE_ID}").status_code,
        "GET facility": api.get(f"/api/v1/facilities/{HUGE_ID}").status_code,
        "filter": api.get(f"/api/v1/equipment?facility_id={HUGE_ID}").status_code,
        "POST": api.post(
            "/api/v1/equipment", json=new_item(world, facility_id=HUGE_ID)
        ).status_code,
    }
    assert statuses["GET item"] == statuses["GET facility"] == 404
    assert statuses["filter"] in (200, 422)  # an empty page or a field error, not a 500
    assert statuses["POST"] == 422


def test_unknown_region_of_a_facility_is_422(api, world):
    created = api.post(
        "/api/v1/facilities", json={"code": "NEW", "name": "Новый ОПО", "region_id": MISSING}
    )
    changed = api.patch(f"/api/v1/facilities/{world.fac_a.id}", json={"region_id": MISSING})
    assert (created.status_code, changed.status_code) == (422, 422)
    assert "region_id" in field_errors(created) and "region_id" in field_errors(changed)


# Well-formed ids that no row can have: 0, the first beyond PostgreSQL's INTEGER, the first
# beyond SQLite's (and Python's sqlite3) 64-bit integers, and far beyond.
NO_ROW_IDS = [0, 2**31, 2**63, HUGE_ID]


@pytest.mark.parametrize("value", NO_ROW_IDS)
@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/equipment/{id}",
        "/api/v1/equipment/{id}/assessments",
        "/api/v1/equipment/{id}/inspections",
        "/api/v1/facilities/{id}",
        "/api/v1/organizations/{id}",
        "/api/v1/imports/{id}",
    ],
)
def test_ids_no_row_can_have_are_404_in_every_api_url(api, world, url, value):
    response = api.get(url.format(id=value))
    assert response.status_code == 404 and response.get_json()["code"] == 404


@pytest.mark.parametrize("value", [2**31, HUGE_ID])
def test_changes_addressed_to_ids_no_row_can_have_are_404(api, world, value):
    before = counts()
    answers = [
        api.patch(f"/api/v1/equipment/{value}", json={"name": "x"}),
        api.patch(f"/api/v1/facilities/{value}", json={"name": "x"}),
        api.post(f"/api/v1/equipment/{value}/assessments", json={}),
        api.post(f"/api/v1/equipment/{value}/inspections", json={}),
        api.post(f"/api/v1/imports/{value}/commit", json={}),
    ]
    assert [r.status_code for r in answers] == [404] * len(answers)
    assert counts() == before


@pytest.mark.parametrize("field", ["facility_id", "organization_id"])
@pytest.mark.parametrize("value", ["0", "-1", str(2**31), str(2**63), str(HUGE_ID)])
def test_id_filters_outside_the_id_range_are_422_naming_the_field(api, fleet, field, value):
    response = api.get(f"/api/v1/equipment?{field}={value}")
    assert response.status_code == 422
    assert set(field_errors(response)) == {field}


@pytest.mark.parametrize("value", [0, -1, 2**31, 2**63, HUGE_ID])
def test_ids_in_bodies_outside_the_id_range_are_422_naming_the_field(api, world, make, value):
    admin = Api(api.app, make.token(world.admin))
    facility = {"code": "NEW", "name": "Новый ОПО", "region_id": world.fac_a.region_id}
    before = counts()
    answers = {
        "POST item": api.post("/api/v1/equipment", json=new_item(world, facility_id=value)),
        "PATCH item": api.patch(
            f"/api/v1/equipment/{world.item_a.id}", json={"facility_id": value}
        ),
        "POST facility": api.post("/api/v1/facilities", json={**facility, "region_id": value}),
        "PATCH facility": api.patch(
            f"/api/v1/facilities/{world.fac_a.id}", json={"region_id": value}
        ),
        "admin POST facility": admin.post(
            "/api/v1/facilities", json={**facility, "organization_id": value}
        ),
    }
    fields = {name: set(field_errors(r)) for name, r in answers.items()}
    assert fields == {
        "POST item": {"facility_id"},
        "PATCH item": {"facility_id"},
        "POST facility": {"region_id"},
        "PATCH facility": {"region_id"},
        "admin POST facility": {"organization_id"},
    }
    assert counts() == before


@pytest.mark.parametrize(
    "changes",
    [{"cycle_limit": 2**31}, {"cycle_count": 2**31}, {"cycle_limit": 2**63, "cycle_count": 10**30}],
)
def test_counts_beyond_the_integer_column_are_422(api, world, changes):
    before = counts()
    response = api.post("/api/v1/equipment", json=new_item(world, **changes))
    assert response.status_code == 422
    assert set(field_errors(response)) == set(changes)
    assert counts() == before


def test_an_admin_must_name_an_existing_organization_for_a_facility(api, world, make):
    admin = Api(api.app, make.token(world.admin))
    body = {"code": "ADM-1", "name": "ОПО администратора", "region_id": world.fac_a.region_id}
    before = counts()
    for organization in (..., None, MISSING):
        data = body if organization is ... else {**body, "organization_id": organization}
        response = admin.post("/api/v1/facilities", json=data)
        assert response.status_code == 422, organization
        assert set(field_errors(response)) == {"organization_id"}
    assert counts() == before
    response = admin.post("/api/v1/facilities", json={**body, "organization_id": world.org_b.id})
    assert response.status_code == 201
    assert response.get_json()["organization_id"] == world.org_b.id


def test_a_facility_patch_audits_only_what_changed(api, world):
    response = api.patch(
        f"/api/v1/facilities/{world.fac_a.id}",
        json={"name": world.fac_a.name, "address": "Павлодар, ул. Ломова, 1"},
    )
    assert response.status_code == 200
    db.session.rollback()
    events = db.session.execute(
        select(AuditEvent).where(
            AuditEvent.entity_type == "facilities", AuditEvent.entity_id == world.fac_a.id
        )
    ).scalars()
    assert [(e.action, e.changes) for e in events] == [
        ("update", {"address": [None, "Павлодар, ул. Ломова, 1"]})
    ]


def previewed_batch(world) -> int:
    """An uploaded, not yet committed list of org A: one new vessel in A-01."""
    book = Workbook()
    book.active.append(["Код ОПО", "Инвентарный номер", "Наименование", "Вид устройства"])
    book.active.append(["A-01", "A-FILE-1", "Сосуд из файла", "сосуд под давлением"])
    data = io.BytesIO()
    book.save(data)
    batch, _plan = preview_batch(
        db.session, world.eng_a, world.org_a, data.getvalue(), "list.xlsx", ImportOptions()
    )
    db.session.commit()
    return batch.id


JSON = "application/json"
BAD_BODIES = [
    ("{bad json", JSON),
    ("", JSON),
    ("[]", JSON),
    ("null", JSON),
    ('"text"', JSON),
    ("42", JSON),
    ('{"facility_id": "abc", "wear_pct": "x", "done_on": "yesterday"}', JSON),
    ('{"manufacture_year": 1e400, "service_life_years": NaN, "wear_pct": Infinity}', JSON),
    ('{"name": {"nested": true}, "kind": [1], "region_id": []}', JSON),
    ("name=x&facility_id=1", "application/x-www-form-urlencoded"),
    (b"\xff\xfe\x00 not utf-8", JSON),
]


@pytest.mark.parametrize(
    "method,url",
    [
        ("POST", "/api/v1/equipment"),
        ("PATCH", "/api/v1/equipment/{item}"),
        ("POST", "/api/v1/equipment/{item}/assessments"),
        ("POST", "/api/v1/equipment/{item}/inspections"),
        ("POST", "/api/v1/facilities"),
        ("PATCH", "/api/v1/facilities/{facility}"),
        ("POST", "/api/v1/imports/{batch}/commit"),
        ("POST", "/api/v1/users"),
        ("POST", "/api/v1/auth/token"),
    ],
)
def test_malformed_bodies_get_a_4xx_json_answer_never_a_500(api, world, method, url):
    batch = previewed_batch(world)
    url = url.format(item=world.item_a.id, facility=world.fac_a.id, batch=batch)
    before = counts()
    answers = {}
    for body, content_type in BAD_BODIES:
        response = api.open(
            url,
            method,
            data=body.encode() if isinstance(body, str) else body,
            content_type=content_type,
        )
        ok = 400 <= response.status_code < 500 and response.mimetype == "application/json"
        ok = ok and (response.get_json() or {}).get("code") == response.status_code
        answers[body] = response.status_code if ok else f"bad: {response.status_code}"
    assert all(isinstance(v, int) for v in answers.values()), answers
    assert counts() == before
    assert db.session.get(ImportBatch, batch).status == "previewed"


NUL = "\u0000"  # PostgreSQL cannot store it in text: it must never reach the database


@pytest.mark.parametrize(
    "method,url,body",
    [
        ("GET", f"/api/v1/equipment?q=a{NUL}b", None),
        ("GET", f"/api/v1/equipment?sort={NUL}", None),
        ("POST", "/api/v1/equipment", {"name": f"Сосуд{NUL}"}),
        ("PATCH", "/api/v1/equipment/{item}", {"notes": NUL}),
        ("POST", "/api/v1/equipment/{item}/assessments", {"document_ref": NUL}),
        ("POST", "/api/v1/equipment/{item}/inspections", {"nested": [{"x": NUL}]}),
        ("POST", "/api/v1/facilities", {"code": f"X{NUL}", "name": "n", "region_id": 1}),
        ("PATCH", "/api/v1/facilities/{facility}", {f"key{NUL}": 1}),
        ("POST", "/api/v1/auth/token", {"email": "a@b.kz", "password": "p", "name": NUL}),
    ],
)
def test_nul_characters_are_400_and_never_reach_the_database(api, world, method, url, body):
    url = url.format(item=world.item_a.id, facility=world.fac_a.id)
    before = counts()
    if body is not None and method == "POST" and url == "/api/v1/equipment":
        body = new_item(world, **body)
    response = api.open(url, method, json=body)
    assert response.status_code == 400
    assert response.get_json()["code"] == 400
    assert "NUL" in response.get_json()["message"]
    assert counts() == before


@pytest.mark.parametrize(
    "changes,field",
    [
        ({"name": "x" * 201}, "name"),
        ({"email": "x" * 250 + "@example.kz"}, "email"),
        ({"password": "x" * 100_000}, "password"),
    ],
)
def test_a_user_with_over_long_text_is_422_naming_the_field(api, world, make, changes, field):
    admin = Api(api.app, make.token(world.admin))
    body = {"email": "new@example.kz", "password": "a-long-password", "role": "regulator"}
    response = admin.post("/api/v1/users", json={**body, **changes})
    assert response.status_code == 422
    assert set(field_errors(response)) == {field}


@pytest.fixture
def another_worker_takes_the_code(world):
    """Another worker stores a facility «A-RACE…» of org A with the same code after this request
    checked that the code is free and before it writes: the database's unique key is the last
    line of defence."""
    from sqlalchemy import event, insert
    from sqlalchemy.orm import Session

    def before_flush(session, _context, _instances):
        for new in [o for o in session.new if isinstance(o, Facility)]:
            if not new.code.startswith("A-RACE"):
                continue
            with db.engine.begin() as conn:
                conn.execute(
                    insert(Facility.__table__).values(
                        organization_id=world.org_a.id,
                        code=new.code,
                        name="Сохранён параллельно",
                        region_id=world.fac_a.region_id,
                    )
                )

    event.listen(Session, "before_flush", before_flush)
    yield
    event.remove(Session, "before_flush", before_flush)


def test_a_conflicting_concurrent_save_is_409_and_stores_nothing(
    api, world, client, login_as, another_worker_takes_the_code
):
    if db.engine.dialect.name == "sqlite":
        # the save holds SQLite's single write lock from before its check (lock_registry): no
        # other worker can commit in between there, the case this last defence is for
        pytest.skip("another writer inside a save's transaction needs PostgreSQL")
    body = {"code": "A-RACE", "name": "Новый ОПО", "region_id": world.fac_a.region_id}
    response = api.post("/api/v1/facilities", json=body)
    assert response.status_code == 409, response.get_data(as_text=True)[:1000]
    assert "Ничего не сохранено" in response.get_json()["message"]

    login_as(world.eng_a)
    form = {
        **body,
        "code": "A-RACE-2",
        "sector": "other",
        "status": "operating",
        "hazard_class": "",
    }
    page = client.post("/facilities/new", data=form)
    assert page.status_code == 409, page.get_data(as_text=True)[:1000]
    assert "Ничего не сохранено" in page.get_data(as_text=True)

    names = db.session.scalars(select(Facility.name).where(Facility.code.like("A-RACE%"))).all()
    assert names == ["Сохранён параллельно"] * 2
    assert (
        db.session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.entity_type == "facility")
        )
        == 0
    )


@pytest.mark.parametrize("depth", [600, 2000])
def test_a_deeply_nested_json_body_is_refused_not_a_500(api, depth):
    response = api.open(
        "/api/v1/equipment", "POST", data="[" * depth + "]" * depth, content_type="application/json"
    )
    assert response.status_code in (400, 422), response.get_data(as_text=True)[:300]
    assert response.get_json()["code"] == response.status_code


@pytest.mark.parametrize(
    ("field", "value"), [("manufacture_year", 1850), ("commissioned_on", "1812-06-24")]
)
def test_api_dates_and_years_before_1900_are_422(api, world, field, value):
    response = api.patch(f"/api/v1/equipment/{world.item_a.id}", json={field: value})
    assert response.status_code == 422
    assert field in field_errors(response)


# ---------------------------------------------------------------------------- messages in Russian


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ('{"service_life_years": NaN}', "service_life_years", "Ожидается число: NaN"),
        ('{"service_life_years": 1e999}', "service_life_years", "Ожидается число: NaN"),
        ('{"pressure_mpa": Infinity}', "pressure_mpa", "Ожидается число: NaN"),
        ('{"service_life_years": 12.5}', "service_life_years", "целое число лет от 1 до 100"),
        ('{"service_life_years": 0}', "service_life_years", "целое число лет от 1 до 100"),
    ],
)
def test_number_errors_are_answered_in_russian(api, world, body, field, message):
    response = api.patch(
        f"/api/v1/equipment/{world.item_a.id}", data=body, content_type="application/json"
    )
    assert response.status_code == 422, response.get_json()
    errors = field_errors(response)
    assert message in errors[field][0], errors
    assert "Special numeric values" not in response.get_data(as_text=True)


def test_malformed_json_is_answered_in_russian(api, world):
    response = api.patch(
        f"/api/v1/equipment/{world.item_a.id}", data="{bad json", content_type="application/json"
    )
    assert 400 <= response.status_code < 500
    text = response.get_data(as_text=True)
    assert "Invalid JSON body" not in text
    assert "Тело запроса не является корректным JSON." in json.dumps(
        response.get_json(), ensure_ascii=False
    )


def test_a_whole_service_life_is_still_answered_as_a_number(api, world):
    response = api.patch(f"/api/v1/equipment/{world.item_a.id}", json={"service_life_years": 25})
    assert response.status_code == 200
    assert response.get_json()["service_life_years"] == 25.0


def test_a_too_large_upload_shows_its_real_size(app, api, world, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_BYTES", 1024 * 1024)
    data = b"PK\x03\x04" + b"\0" * (1024 * 1024 + 40 * 1024)  # within the form's margin
    response = api.post(
        "/api/v1/imports",
        data={"file": (io.BytesIO(data), "big.xlsx")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert response.get_json()["message"] == (
        "Файл слишком большой: 1,1 МБ, допускается не более 1 МБ."
    )
    data = b"PK\x03\x04" + b"\0" * (1536 * 1024)  # 1.5 MB: refused before it is read
    response = api.post(
        "/api/v1/imports",
        data={"file": (io.BytesIO(data), "big.xlsx")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    assert response.get_json()["message"] == (
        "Загружаемый файл слишком велик: 1,5 МБ, допускается не более 1 МБ."
    )
