"""Bad input to the API is answered with a field message and changes nothing: typos in yes/no
options, foreign or malformed default facilities, NUL characters in names, text that is only
spaces, fractional whole numbers, facility codes that differ only in case or spacing."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from core.extensions import db
from equipment.imports.models import ImportBatch
from equipment.models import Equipment, Facility
from tests.helpers.imports import ENGLISH, SAMPLE_FACILITIES, api_upload, sample, upload


@pytest.fixture
def site(world, make):
    """World's org A with the facilities OPO-01..OPO-05 of the samples."""
    for code, name in SAMPLE_FACILITIES.items():
        make.facility(world.org_a, code, name=name)
    world.eng = world.eng_a
    return world


def count(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def json_errors(response) -> dict:
    assert response.mimetype == "application/json", response.get_data(as_text=True)[:300]
    return response.get_json()["errors"]["json"]


@pytest.mark.parametrize("value", ["ture", "", "maybe", "да-нет"])
def test_a_typo_in_dry_run_loads_nothing(site, client, make, value):
    token = make.token(site.eng)
    response = api_upload(client, token, sample(ENGLISH), dry_run=value)
    assert response.status_code == 422
    assert "dry_run" in json_errors(response)
    assert count(ImportBatch) == 0 and count(Equipment) == 3  # the world's own items


@pytest.mark.parametrize("value", ["false", "0", "no", "FALSE "])
def test_dry_run_false_in_any_spelling_loads_the_file(site, client, make, value):
    token = make.token(site.eng)
    response = api_upload(client, token, sample(ENGLISH), dry_run=value)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["status"] == "committed"
    assert count(Equipment) == 3 + 120


@pytest.mark.parametrize("option", ["create_facilities", "decommission_missing"])
def test_a_typo_in_another_option_is_a_field_error(site, client, make, option):
    token = make.token(site.eng)
    response = api_upload(client, token, sample(ENGLISH), **{option: "yes please"})
    assert response.status_code == 422 and option in json_errors(response)
    assert count(ImportBatch) == 0


def test_a_default_facility_of_another_organization_is_refused(site, client, make):
    foreign = site.fac_b.id
    token = make.token(site.eng)
    for value in ("abc", str(foreign), "9" * 40, "-1"):
        response = api_upload(client, token, sample(ENGLISH), default_facility_id=value)
        assert response.status_code == 422, value
        assert "ОПО по умолчанию" in json_errors(response)["default_facility_id"][0]
    page = upload(client, sample(ENGLISH), default_facility_id=str(foreign))
    assert page.status_code == 302  # not logged in on the page: the form is not reached
    assert count(ImportBatch) == 0


def test_the_upload_page_refuses_a_foreign_default_facility(site, client, login_as):
    login_as(site.eng)
    response = upload(client, sample(ENGLISH), default_facility_id=str(site.fac_b.id))
    assert response.status_code == 400
    assert "ОПО по умолчанию" in response.get_data(as_text=True)
    assert count(ImportBatch) == 0


def test_a_file_name_with_a_nul_character_is_refused_not_a_500(site, client, make, login_as):
    token = make.token(site.eng)
    response = api_upload(client, token, sample(ENGLISH), filename="a\x00b.xlsx")
    assert response.status_code == 400
    login_as(site.eng)
    page = client.post(
        "/imports",
        data={"file": (io.BytesIO(sample(ENGLISH)), "a\x00b.xlsx")},
        content_type="multipart/form-data",
    )
    assert page.status_code == 400 and "NUL" in page.get_data(as_text=True)
    assert count(ImportBatch) == 0


def test_a_mapping_with_an_escaped_nul_is_a_field_error(site, client, make):
    token = make.token(site.eng)
    mapping = '{"Код\\u0000ОПО": "facility_code"}'
    response = api_upload(client, token, sample(ENGLISH), mapping=mapping)
    assert response.status_code == 422 and "mapping" in json_errors(response)
    assert count(ImportBatch) == 0


@pytest.fixture
def api(client, make, world):
    headers = {"Authorization": f"Bearer {make.token(world.eng_a)}"}

    def call(method: str, url: str, body):
        return client.open(url, method=method, json=body, headers=headers)

    return call


def _item(world, **changes) -> dict:
    body = {
        "facility_id": world.fac_a.id,
        "inventory_no": "API-1",
        "name": "Сосуд",
        "device_type": "pressure_vessel",
    }
    return {**body, **changes}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"inventory_no": "   "}, "inventory_no"),
        ({"name": " \t "}, "name"),
        ({"inventory_no": " A-INV-1 "}, "inventory_no"),  # world.item_a's number, spaced
        ({"facility_id": 1.9}, "facility_id"),
        ({"facility_id": "1"}, "facility_id"),
        ({"manufacture_year": 2000.7}, "manufacture_year"),
        ({"cycle_limit": 10, "cycle_count": 5.9}, "cycle_count"),
    ],
)
def test_equipment_text_is_trimmed_and_whole_numbers_are_whole(world, api, changes, field):
    before = count(Equipment)
    response = api("POST", "/api/v1/equipment", _item(world, **changes))
    assert response.status_code == 422, response.get_json()
    assert field in json_errors(response)
    assert count(Equipment) == before


def test_text_is_stored_trimmed(world, api):
    response = api(
        "POST",
        "/api/v1/equipment",
        _item(world, inventory_no="  API-7 ", name=" Сосуд   воздушный ", model="  "),
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["inventory_no"], body["name"], body["model"]) == (
        "API-7",
        "Сосуд воздушный",
        None,
    )


@pytest.mark.parametrize("code", ["a-01", " A-01", "A-01 ", "a‑01".replace("‑", "-")])
def test_a_facility_code_that_differs_only_in_case_or_spacing_is_taken(world, api, code):
    # world.fac_a has the code A-01
    before = count(Facility)
    body = {"code": code, "name": "Двойник", "region_id": world.fac_a.region_id}
    response = api("POST", "/api/v1/facilities", body)
    assert response.status_code == 422, response.get_json()
    assert "code" in json_errors(response)
    assert count(Facility) == before


def test_a_blank_facility_code_is_refused(world, api):
    body = {"code": "   ", "name": "Без кода", "region_id": world.fac_a.region_id}
    response = api("POST", "/api/v1/facilities", body)
    assert response.status_code == 422 and "code" in json_errors(response)
