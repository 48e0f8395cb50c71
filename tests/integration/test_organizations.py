"""Organizations: the CLI, the administrators' forms and API, the BIN rule, search, the audit.

Who may reach which route is tested in test_scoping.py; here the administrator's view."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from accounts.models import Organization, User
from core.audit import AuditEvent
from core.extensions import db
from tests.helpers.auth import login
from tests.helpers.clients import Api
from tests.helpers.errors import field_errors, form_errors

NEW_BIN = "120340001230"  # valid check digits, not used by the world
OTHER_BIN = "081140012340"
BAD_CHECKSUM = "120340001231"


def org_state() -> tuple:
    """Every organization and audit row (committed data)."""
    with db.engine.connect() as conn:
        orgs = conn.execute(select(Organization.__table__).order_by("id")).all()
        events = conn.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    return tuple(orgs), events


def org_events(org_id: int) -> list[AuditEvent]:
    stmt = (
        select(AuditEvent)
        .where(AuditEvent.entity_type == "organizations", AuditEvent.entity_id == org_id)
        .order_by(AuditEvent.id)
    )
    return list(db.session.execute(stmt).scalars())


@pytest.fixture
def admin(app, world):
    client = app.test_client()
    assert login(client, world.admin).status_code == 302
    return client


@pytest.fixture
def admin_api(app, make, world) -> Api:
    return Api(app, make.token(world.admin))


NEW = {
    "name": "  ТОО   «Новый оператор» ",
    "bin": "1203 4000 1230",
    "region": "ast",
    "address": "г. Астана, ул. Кенесары, 1",
    "phone": "+7 717 200 00 00",
    "email": "OPS@Operator.kz",
}


# ---------------------------------------------------------------------------- command line


def test_cli_creates_and_lists_organizations(runner, world):
    args = ["orgs", "create", "--bin", NEW_BIN, "--name", "ТОО «Новый оператор»"]
    result = runner.invoke(args=[*args, "--region", "AST", "--email", "ops@operator.kz"])
    assert result.exit_code == 0, result.output
    assert f"BIN {NEW_BIN} (AST)" in result.output
    listed = runner.invoke(args=["orgs", "list"]).output.splitlines()
    assert [line.split("\t")[1:] for line in listed] == [
        ["990240001237", "KAR", "АО «Бета»"],
        ["040540526019", "PAV", "ТОО «Альфа»"],
        [NEW_BIN, "AST", "ТОО «Новый оператор»"],
    ]
    org = db.session.execute(select(Organization).filter_by(bin=NEW_BIN)).scalar_one()
    (event,) = org_events(org.id)
    assert event.action == "create" and event.actor_id is None
    assert (
        event.changes["bin"] == [None, NEW_BIN] and event.changes["email"][1] == "ops@operator.kz"
    )
    # then its engineer, as the README tells
    engineer = runner.invoke(
        args=["users", "create", "--email", "e@operator.kz", "--password-stdin"]
        + ["--role", "engineer", "--org", NEW_BIN],
        input="a-long-password\n",
    )
    assert engineer.exit_code == 0, engineer.output


@pytest.mark.parametrize(
    "bin_,region,field",
    [
        (BAD_CHECKSUM, "AST", "bin"),
        ("040540526019", "AST", "bin"),  # org A's
        (NEW_BIN, "XXX", "region"),
    ],
)
def test_cli_refuses_bad_input_naming_the_field(runner, world, bin_, region, field):
    before = org_state()
    result = runner.invoke(
        args=["orgs", "create", "--bin", bin_, "--name", "ТОО «Х»", "--region", region]
    )
    assert result.exit_code == 2
    assert f"error: {field}:" in result.output
    assert org_state() == before


# ---------------------------------------------------------------------------- pages


def test_admin_registers_an_organization_on_the_page(admin, world):
    assert "Новая организация" in admin.get("/organizations/new").get_data(as_text=True)
    response = admin.post("/organizations/new", data=NEW)
    assert response.status_code == 302, form_errors(response)
    org = db.session.execute(select(Organization).filter_by(bin=NEW_BIN)).scalar_one()
    assert response.headers["Location"] == f"/organizations/{org.id}"
    assert (org.name, org.region.code, org.email) == (
        "ТОО «Новый оператор»",
        "AST",
        NEW["email"].lower(),
    )
    (event,) = org_events(org.id)
    assert event.actor_id == world.admin.id and event.organization_id == org.id
    assert event.changes["name"] == [None, "ТОО «Новый оператор»"]
    card = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "зарегистрирована" in card and NEW_BIN in card
    assert f"/users/new?org={NEW_BIN}" in card  # "Add an engineer"
    new_user = admin.get(f"/users/new?org={NEW_BIN}").get_data(as_text=True)
    assert f'<option selected value="{NEW_BIN}">' in new_user


@pytest.mark.parametrize(
    "changes,errors",
    [
        ({"bin": BAD_CHECKSUM}, {"bin": "контрольным разрядом"}),
        ({"bin": "12345"}, {"bin": "12 цифр"}),
        ({"bin": "０４０５４０５２６０１９"}, {"bin": "12 цифр"}),  # full-width digits
        ({"bin": "990240001237"}, {"bin": "уже существует"}),  # org B's
        ({"bin": "9902-4000-1237"}, {"bin": "уже существует"}),
        ({"region": "XXX"}, {"region": "Неизвестный код региона «XXX»"}),
        ({"region": ""}, {"region": "Выберите регион из списка"}),
        ({"name": "   "}, {"name": "Укажите наименование"}),
        ({"name": "x" * 301, "phone": "1" * 61}, {"name": "300", "phone": "60"}),
        ({"email": "not-an-email"}, {"email": "name@example.kz"}),
        (
            {"bin": BAD_CHECKSUM, "region": "XXX", "name": ""},
            {"bin": "контрольным", "region": "XXX", "name": "наименование"},
        ),
    ],
)
def test_bad_input_on_the_page_is_shown_at_the_fields_and_changes_nothing(
    admin, world, changes, errors
):
    before = org_state()
    response = admin.post("/organizations/new", data={**NEW, **changes})
    assert response.status_code == 400
    shown = form_errors(response)
    assert set(shown) == set(errors)
    for field, fragment in errors.items():
        assert fragment in shown[field], shown
    assert org_state() == before
    own = {**NEW, "bin": world.org_a.bin, **changes}
    edit = admin.post(f"/organizations/{world.org_a.id}/edit", data=own)
    assert edit.status_code == 400 and set(form_errors(edit)) == set(errors)
    assert org_state() == before


def test_editing_audits_each_change_and_nothing_when_nothing_changed(admin, world):
    form = admin.get(f"/organizations/{world.org_a.id}/edit").get_data(as_text=True)
    assert 'value="040540526019"' in form and "disabled" in form  # it has facilities
    data = {"name": "ТОО «Альфа-Энерго»", "region": "PAV", "phone": "+7 718 000", "email": ""}
    assert admin.post(f"/organizations/{world.org_a.id}/edit", data=data).status_code == 302
    (event,) = org_events(world.org_a.id)
    assert event.action == "update" and event.actor_email == world.admin.email
    assert event.changes == {
        "name": ["ТОО «Альфа»", "ТОО «Альфа-Энерго»"],
        "phone": [None, "+7 718 000"],
    }
    assert admin.post(f"/organizations/{world.org_a.id}/edit", data=data).status_code == 302
    assert len(org_events(world.org_a.id)) == 1
    card = admin.get(f"/organizations/{world.org_a.id}").get_data(as_text=True)
    assert "ТОО «Альфа» → ТОО «Альфа-Энерго»" in card
    db.session.expire_all()
    assert db.session.get(Organization, world.org_a.id).bin == "040540526019"


def test_the_bin_changes_only_while_the_organization_has_no_facilities(admin, make, world):
    fresh = make.org("ТОО «Опечатка»", OTHER_BIN, "ALA")
    page = admin.get(f"/organizations/{fresh.id}/edit").get_data(as_text=True)
    assert "disabled" not in page
    data = {"name": fresh.name, "bin": NEW_BIN, "region": "ALA"}
    assert admin.post(f"/organizations/{fresh.id}/edit", data=data).status_code == 302
    (event,) = org_events(fresh.id)
    assert event.changes == {"bin": [OTHER_BIN, NEW_BIN]}
    # with a facility the BIN is fixed: a forged field is refused, the rest still saves
    make.facility(db.session.get(Organization, fresh.id), "F-01")
    before = org_state()
    response = admin.post(f"/organizations/{fresh.id}/edit", data={**data, "bin": OTHER_BIN})
    assert response.status_code == 400
    assert "нельзя изменить" in form_errors(response)["bin"]
    assert org_state() == before
    renamed = {"name": "ТОО «Без опечатки»", "region": "ALA"}  # the disabled field is not sent
    assert admin.post(f"/organizations/{fresh.id}/edit", data=renamed).status_code == 302
    db.session.expire_all()
    org = db.session.get(Organization, fresh.id)
    assert (org.name, org.bin) == ("ТОО «Без опечатки»", NEW_BIN)


def _listed(client, query: str = "") -> list[str]:
    page = client.get("/organizations" + query).get_data(as_text=True)
    return re.findall(r'<tr data-id="\d+">\s*<td><a [^>]*>([^<]*)</a>', page)


@pytest.mark.parametrize(
    "query,names",
    [
        ("", ["АО «Бета»", "ТОО «Альфа»", "ТОО «Ёлочка»"]),
        ("?q=альфа", ["ТОО «Альфа»"]),
        ("?q=АЛЬФА", ["ТОО «Альфа»"]),
        ("?q=елочка", ["ТОО «Ёлочка»"]),  # ё and е alike
        ("?q=тоо", ["ТОО «Альфа»", "ТОО «Ёлочка»"]),
        ("?q=0405", ["ТОО «Альфа»"]),  # BIN digits
        ("?q=9902 4000", ["АО «Бета»"]),
        ("?q=%25", []),  # a LIKE wildcard is a character like any other
        ("?q=_", []),
        ("?region=KAR", ["АО «Бета»"]),
        ("?region=PAV&q=тоо", ["ТОО «Альфа»"]),
        ("?region=XXX", ["АО «Бета»", "ТОО «Альфа»", "ТОО «Ёлочка»"]),
        ("?page=x", ["АО «Бета»", "ТОО «Альфа»", "ТОО «Ёлочка»"]),
        ("?page=99", []),
    ],
)
def test_search_by_name_or_bin(admin, make, world, query, names):
    make.org("ТОО «Ёлочка»", NEW_BIN, "AST")
    assert _listed(admin, query) == names


def test_the_list_pages(admin, make, world, app, monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_SIZE", 2)
    make.org("ТОО «Ёлочка»", NEW_BIN, "AST")
    assert _listed(admin) == ["АО «Бета»", "ТОО «Альфа»"]
    assert _listed(admin, "?page=2") == ["ТОО «Ёлочка»"]
    assert "Найдено: 3" in admin.get("/organizations").get_data(as_text=True)


def test_the_forms_need_their_csrf_token(admin, world, app):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        before = org_state()
        assert admin.post("/organizations/new", data=NEW).status_code == 400
        edit = admin.post(f"/organizations/{world.org_a.id}/edit", data={**NEW, "bin": ""})
        assert edit.status_code == 400
        new_user = {"email": "x@example.kz", "role": "admin", "password_mode": "generate"}
        assert admin.post("/users/new", data=new_user).status_code == 400
        reset = admin.post(f"/users/{world.eng_a.id}/password", data={"password_mode": "generate"})
        assert reset.status_code == 400
        assert org_state() == before
        assert db.session.execute(select(func.count()).select_from(User)).scalar_one() == 6
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_the_english_page_speaks_english(admin, world):
    response = admin.post("/organizations/new?lang=en", data={**NEW, "bin": BAD_CHECKSUM})
    assert form_errors(response)["bin"] == "A BIN is 12 digits with a valid check digit."


# ---------------------------------------------------------------------------- API


def test_api_creates_and_changes_an_organization(admin_api, world):
    body = {"name": "ТОО «Новый оператор»", "bin": NEW_BIN, "region": "AST", "phone": "+7 1"}
    response = admin_api.post("/api/v1/organizations", json=body)
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert created["region"] == "AST" and created["bin"] == NEW_BIN and created["email"] is None
    url = f"/api/v1/organizations/{created['id']}"
    patched = admin_api.patch(url, json={"email": "ops@operator.kz", "region": "ALA"})
    assert patched.status_code == 200
    assert (
        patched.get_json()["email"] == "ops@operator.kz" and patched.get_json()["region"] == "ALA"
    )
    assert patched.get_json()["name"] == body["name"]  # what was not sent stays
    assert [e.action for e in org_events(created["id"])] == ["create", "update"]
    assert org_events(created["id"])[1].changes["region_id"][1] == patched.get_json()["region_id"]
    listed = admin_api.get("/api/v1/organizations").get_json()
    assert [o["name"] for o in listed] == ["АО «Бета»", "ТОО «Альфа»", "ТОО «Новый оператор»"]


@pytest.mark.parametrize(
    "body,fields",
    [
        ({}, {"name", "bin", "region"}),
        ({"name": "Х", "bin": BAD_CHECKSUM, "region": "AST"}, {"bin"}),
        ({"name": "Х", "bin": "040540526019", "region": "AST"}, {"bin"}),
        ({"name": "Х", "bin": NEW_BIN, "region": "XXX"}, {"region"}),
        ({"name": "", "bin": NEW_BIN, "region": "AST"}, {"name"}),
        ({"name": 5, "bin": [NEW_BIN], "region": {"code": "AST"}}, {"name", "bin", "region"}),
        ({"name": "Х", "bin": NEW_BIN, "region": "AST", "email": "x"}, {"email"}),
        ({"name": "Х", "bin": NEW_BIN, "region": "AST", "unknown": 1}, {"unknown"}),
    ],
)
def test_api_bad_input_is_422_naming_the_fields_and_changes_nothing(admin_api, world, body, fields):
    before = org_state()
    response = admin_api.post("/api/v1/organizations", json=body)
    assert response.status_code == 422
    assert set(field_errors(response)) == fields
    assert org_state() == before


def test_api_keeps_the_bin_of_an_organization_with_facilities(admin_api, world):
    before = org_state()
    url = f"/api/v1/organizations/{world.org_a.id}"
    response = admin_api.patch(url, json={"bin": NEW_BIN, "name": "Переименована"})
    assert response.status_code == 422
    assert "нельзя изменить" in field_errors(response)["bin"][0]
    assert org_state() == before
    same = admin_api.patch(url, json={"bin": "0405-4052-6019"})  # its own BIN, written otherwise
    assert same.status_code == 200 and org_events(world.org_a.id) == []
    assert admin_api.patch("/api/v1/organizations/987654", json={}).status_code == 404


@pytest.mark.parametrize(
    "data",
    ["{bad json", "[]", "null", '"text"', '{"name": {"nested": true}}', b"\xff\xfe not utf-8"],
)
def test_api_malformed_bodies_are_4xx_json(admin_api, world, data):
    before = org_state()
    for method, url in (
        ("POST", "/api/v1/organizations"),
        ("PATCH", f"/api/v1/organizations/{world.org_a.id}"),
    ):
        response = admin_api.open(url, method, data=data, content_type="application/json")
        assert 400 <= response.status_code < 500
        assert response.get_json()["code"] == response.status_code
    assert org_state() == before


def test_api_refuses_nul_characters(admin_api, world):
    body = {"name": "ТОО\u0000", "bin": NEW_BIN, "region": "AST"}
    response = admin_api.post("/api/v1/organizations", json=body)
    assert response.status_code == 400


def test_the_organizations_api_is_described_in_the_openapi_document(app):
    with app.app_context():
        paths = app.test_client().get("/api/openapi.json").get_json()["paths"]
    assert "requestBody" in paths["/api/v1/organizations"]["post"]
    assert "requestBody" in paths["/api/v1/organizations/{org_id}"]["patch"]
    assert {"get", "patch"} <= set(paths["/api/v1/users/{user_id}"])
