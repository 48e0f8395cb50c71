"""Users on the administrators' pages and API: create (a generated password shown once, or a
typed one), edit under the rules of accounts.services.create_user, reset the password (the
sessions end), and the last active administrator, also under concurrency.

Who may reach which route is tested in test_scoping.py."""

from __future__ import annotations

import re
import threading
import time

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accounts import services
from accounts.models import Role, User, UserSession
from core.audit import AuditEvent
from core.extensions import db
from core.validation import ValidationFailed
from tests.helpers.auth import PASSWORD, login
from tests.helpers.clients import Api
from tests.helpers.errors import field_errors, form_errors


def user_state() -> tuple:
    """Every user, live login session and audit row (committed data)."""
    with db.engine.connect() as conn:
        users = conn.execute(select(User.__table__).order_by("id")).all()
        live = conn.execute(
            select(func.count()).select_from(UserSession).where(UserSession.ended_at.is_(None))
        ).scalar_one()
        events = conn.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    return tuple(users), live, events


def browser(app, user=None, password: str = PASSWORD):
    client = app.test_client()
    if user is not None:
        response = login(client, user, password)
        assert response.status_code == 302, response.get_data(as_text=True)[-500:]
    return client


def logged_in(client) -> bool:
    return client.get("/equipment").status_code == 200


def shown_password(response) -> str:
    return re.search(r'id="new-password">([^<]+)<', response.get_data(as_text=True)).group(1)


def user_by_email(email: str) -> User | None:
    db.session.expire_all()
    return db.session.execute(select(User).where(User.email == email)).scalar_one_or_none()


@pytest.fixture
def admin(app, world):
    return browser(app, world.admin)


@pytest.fixture
def admin_api(app, make, world) -> Api:
    return Api(app, make.token(world.admin))


ENGINEER = {"email": "New.Eng@Example.kz ", "name": "Новый Инженер", "role": "engineer"}


# ---------------------------------------------------------------------------- create


def test_a_generated_password_is_shown_once_and_works(app, admin, world):
    form = {**ENGINEER, "org": world.org_a.bin, "region": "", "password_mode": "generate"}
    response = admin.post("/users/new", data=form)
    assert response.status_code == 200
    password = shown_password(response)
    assert re.fullmatch(r"[A-Za-z2-9]{4}(-[A-Za-z2-9]{4}){3}", password)
    user = user_by_email("new.eng@example.kz")
    assert (user.role, user.organization_id, user.region_id) == (
        Role.ENGINEER,
        world.org_a.id,
        None,
    )
    assert password not in user.password_hash and user.password_hash.startswith("scrypt:")
    for url in ("/users", f"/users/{user.id}/edit"):
        assert password not in admin.get(url).get_data(as_text=True)
    event = db.session.execute(
        select(AuditEvent).where(AuditEvent.entity_type == "users", AuditEvent.entity_id == user.id)
    ).scalar_one()
    assert event.action == "create" and event.actor_id == world.admin.id
    assert event.changes["organization_id"] == [None, world.org_a.id]
    assert "password" not in str(event.changes) and password not in str(event.changes)
    engineer = browser(app, user, password)
    assert "Котельная Альфа" in engineer.get("/facilities").get_data(as_text=True)


def test_a_typed_password_is_checked_then_works(app, admin, world):
    form = {**ENGINEER, "org": world.org_a.bin, "password_mode": "set"}
    before = user_state()
    short = admin.post("/users/new", data={**form, "password": "short", "confirm": "short"})
    assert "не менее 10" in form_errors(short)["password"]
    typo = admin.post("/users/new", data={**form, "password": "a-long-password", "confirm": "x"})
    assert set(form_errors(typo)) == {"confirm"}
    assert user_state() == before
    ok = admin.post(
        "/users/new", data={**form, "password": "a-long-password", "confirm": "a-long-password"}
    )
    assert ok.status_code == 302 and ok.headers["Location"] == "/users"
    assert "a-long-password" not in admin.get("/users").get_data(as_text=True)
    browser(app, user_by_email("new.eng@example.kz"), "a-long-password")


@pytest.mark.parametrize(
    "changes,errors",
    [
        ({"role": "engineer", "org": ""}, {"org": "БИН зарегистрированной"}),
        ({"role": "engineer", "org": "123456789012"}, {"org": "БИН зарегистрированной"}),
        ({"role": "regulator", "org": "040540526019"}, {"org": "только инженеры"}),
        ({"role": "admin", "org": "040540526019"}, {"org": "только инженеры"}),
        ({"role": "engineer", "org": "040540526019", "region": "PAV"}, {"region": "инспекторы"}),
        ({"role": "admin", "region": "PAV"}, {"region": "только инспекторы"}),
        ({"role": "regulator", "region": "XXX"}, {"region": "Неизвестный код региона «XXX»"}),
        ({"role": "boss"}, {"role": "Укажите роль"}),
        ({"role": "regulator", "email": "not-an-email"}, {"email": "name@example.kz"}),
        ({"role": "regulator", "email": "ENG.A@example.kz"}, {"email": "уже существует"}),
        ({"role": "regulator", "name": "x" * 201}, {"name": "200"}),
        (
            {"role": "regulator", "org": "040540526019", "region": "XXX", "email": ""},
            {"org": "инженеры", "region": "XXX", "email": "name@example.kz"},
        ),
    ],
)
def test_bad_input_is_shown_at_the_fields_and_changes_nothing(admin, world, changes, errors):
    form = {**ENGINEER, "org": "", "region": "", "password_mode": "generate", **changes}
    before = user_state()
    response = admin.post("/users/new", data=form)
    assert response.status_code == 400
    shown = form_errors(response)
    assert set(shown) == set(errors), shown
    for field, fragment in errors.items():
        assert fragment in shown[field], shown
    assert user_state() == before
    # the same rules when editing an existing user
    if "email" not in changes:
        edit = admin.post(
            f"/users/{world.eng_b.id}/edit", data={**form, "email": "eng.b@example.kz"}
        )
        assert edit.status_code == 400 and set(form_errors(edit)) == set(errors)
        assert user_state() == before


@pytest.mark.parametrize(
    "role,region,expected",
    [("regulator", "KAR", "KAR"), ("regulator", "", None), ("admin", "", None)],
)
def test_regulators_with_or_without_a_region_and_admins(admin, world, role, region, expected):
    form = {"email": "new@example.kz", "role": role, "org": "", "region": region}
    response = admin.post("/users/new", data={**form, "password_mode": "generate"})
    assert response.status_code == 200, form_errors(response)
    user = user_by_email("new@example.kz")
    assert user.role == Role(role) and (user.region.code if user.region else None) == expected


def test_an_organizations_card_leads_to_a_new_engineer(admin, world):
    page = admin.get(f"/users/new?org={world.org_b.bin}").get_data(as_text=True)
    assert f'<option selected value="{world.org_b.bin}">' in page
    assert '<option selected value="engineer">' in page


# ---------------------------------------------------------------------------- edit


def _edit_form(user: User, **changes) -> dict:
    return {
        "email": user.email,
        "name": user.name,
        "role": user.role.value,
        "org": user.organization.bin if user.organization else "",
        "region": user.region.code if user.region else "",
        **changes,
    }


def test_editing_moves_a_user_and_the_scope_follows_at_once(app, admin, world):
    engineer = browser(app, world.eng_a)
    assert "Котельная Альфа" in engineer.get("/facilities").get_data(as_text=True)
    page = admin.get(f"/users/{world.eng_a.id}/edit").get_data(as_text=True)
    assert f'<option selected value="{world.org_a.bin}">' in page
    form = _edit_form(world.eng_a, org=world.org_b.bin, name="  Инженер Бета ")
    response = admin.post(f"/users/{world.eng_a.id}/edit", data=form)
    assert response.status_code == 302
    facilities = engineer.get("/facilities").get_data(as_text=True)  # the same session
    assert "Цех Бета" in facilities and "Котельная Альфа" not in facilities
    event = db.session.execute(
        select(AuditEvent)
        .where(AuditEvent.entity_id == world.eng_a.id, AuditEvent.action == "update")
        .where(AuditEvent.entity_type == "users")
    ).scalar_one()
    assert event.changes == {
        "name": ["eng.a", "Инженер Бета"],
        "organization_id": [world.org_a.id, world.org_b.id],
    }
    # saving it unchanged writes no event
    user = user_by_email(world.eng_a.email)
    assert admin.post(f"/users/{user.id}/edit", data=_edit_form(user)).status_code == 302
    count = select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "update")
    assert db.session.execute(count).scalar_one() == 1


def test_a_change_of_role_must_leave_a_valid_user(admin, world):
    before = user_state()
    to_regulator = _edit_form(world.eng_a, role="regulator", region="PAV")
    response = admin.post(f"/users/{world.eng_a.id}/edit", data=to_regulator)
    assert set(form_errors(response)) == {"org"}  # the organization is not dropped silently
    assert user_state() == before
    response = admin.post(f"/users/{world.eng_a.id}/edit", data={**to_regulator, "org": ""})
    assert response.status_code == 302
    user = user_by_email(world.eng_a.email)
    assert (user.role, user.organization_id, user.region.code) == (Role.REGULATOR, None, "PAV")


def test_the_users_list_filters(admin, world):
    def listed(query: str) -> set[str]:
        page = admin.get("/users" + query).get_data(as_text=True)
        return set(re.findall(r'<tr data-id="\d+"><td><a [^>]*>([^<]+)</a>', page))

    everyone = {u.email for u in (world.eng_a, world.eng_b, world.reg_pav, world.reg_kar)}
    everyone |= {world.national.email, world.admin.email}
    assert listed("") == everyone
    assert listed("?role=regulator") == {
        "reg.pav@example.kz",
        "reg.kar@example.kz",
        "national@example.kz",
    }
    assert listed(f"?organization_id={world.org_b.id}") == {"eng.b@example.kz"}
    assert listed("?q=REG.") == {"reg.pav@example.kz", "reg.kar@example.kz"}
    user = user_by_email(world.eng_b.email)
    admin.post(f"/users/{user.id}/edit", data=_edit_form(user, name="Ёлкин Пётр"))
    assert listed("?q=елкин") == {"eng.b@example.kz"}
    assert listed("?role=nobody&organization_id=x") == everyone


# ---------------------------------------------------------------------------- passwords


def test_a_password_reset_ends_the_sessions_and_is_shown_once(app, admin, world):
    engineer = browser(app, world.eng_a)
    response = admin.post(f"/users/{world.eng_a.id}/password", data={"password_mode": "generate"})
    assert response.status_code == 200
    password = shown_password(response)
    assert "сеансы пользователя завершены" in response.get_data(as_text=True)
    assert not logged_in(engineer)
    assert login(app.test_client(), world.eng_a).status_code == 401  # the old password
    assert logged_in(browser(app, world.eng_a, password))
    event = db.session.execute(
        select(AuditEvent).where(AuditEvent.action == "password_reset")
    ).scalar_one()
    assert event.changes == {} and event.actor_id == world.admin.id


def test_a_typed_reset_is_checked(app, admin, world):
    url = f"/users/{world.eng_a.id}/password"
    before = user_state()
    short = admin.post(url, data={"password_mode": "set", "password": "short", "confirm": "short"})
    assert short.status_code == 400 and "не менее 10" in form_errors(short)["password"]
    typo = {"password_mode": "set", "password": "a-new-long-one", "confirm": "a-new-long-on"}
    assert set(form_errors(admin.post(url, data=typo))) == {"confirm"}
    odd = admin.post(url, data={"password_mode": "email-it"})
    assert set(form_errors(odd)) == {"password_mode"}
    assert user_state() == before
    ok = {"password_mode": "set", "password": "a-new-long-one", "confirm": "a-new-long-one"}
    response = admin.post(url, data=ok)
    assert response.status_code == 302
    assert logged_in(browser(app, world.eng_a, "a-new-long-one"))


def test_an_admin_resets_their_own_password_on_the_profile_only(admin, world):
    before = user_state()
    response = admin.post(f"/users/{world.admin.id}/password", data={"password_mode": "generate"})
    assert response.status_code == 400
    assert "профиля" in form_errors(response)["password_mode"]
    assert user_state() == before and logged_in(admin)


# ---------------------------------------------------------------------------- the last admin


def test_the_last_active_admin_cannot_stop_being_one(app, admin, world):
    before = user_state()
    for role in ("engineer", "regulator"):
        form = _edit_form(world.admin, role=role, org=world.org_a.bin if role == "engineer" else "")
        response = admin.post(f"/users/{world.admin.id}/edit", data=form)
        assert response.status_code == 400
        assert "хотя бы один активный администратор" in form_errors(response)["role"]
    assert user_state() == before
    with pytest.raises(ValidationFailed) as refused:  # the command line has no actor at all
        services.set_active(db.session, None, user_by_email(world.admin.email), False)
    assert set(refused.value.errors) == {"active"}
    db.session.rollback()


def test_with_another_admin_one_may_step_down(app, admin, make, world):
    other = make.user("second.admin@example.kz", Role.ADMIN)
    form = _edit_form(world.admin, role="regulator")
    response = admin.post(f"/users/{world.admin.id}/edit", data=form)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert admin.get("/users").status_code == 404  # no longer an administrator
    second = browser(app, other)
    back = second.post(f"/users/{world.admin.id}/edit", data=_edit_form(world.admin, role="admin"))
    assert back.status_code == 302
    # a deactivated admin does not count
    assert second.post(f"/users/{world.admin.id}/deactivate").status_code == 302
    response = second.post(f"/users/{other.id}/edit", data=_edit_form(other, role="regulator"))
    assert "хотя бы один" in form_errors(response)["role"]


def test_two_admins_stepping_down_at_once_leave_one(app, make, world):
    """The first one's change holds the active admins' rows until it commits; the second
    waits, then sees it and is refused."""
    second = make.user("second.admin@example.kz", Role.ADMIN)
    results: dict[str, object] = {}

    def step_down(user_id: int, key: str, hold: threading.Event | None = None):
        with app.app_context(), Session(db.engine) as session:
            user = session.get(User, user_id)
            try:
                services.update_user(session, user, user, role="regulator")
                if hold is not None:
                    results[key + "_checked"] = True
                    hold.wait(10)
                session.commit()
                results[key] = "demoted"
            except ValidationFailed as err:
                session.rollback()
                results[key] = set(err.errors)

    hold = threading.Event()
    first = threading.Thread(target=step_down, args=(world.admin.id, "first", hold))
    first.start()
    for _ in range(100):
        if results.get("first_checked"):
            break
        time.sleep(0.05)
    assert results.get("first_checked")
    other = threading.Thread(target=step_down, args=(second.id, "second"))
    other.start()
    time.sleep(0.5)
    assert other.is_alive(), results  # waiting for the first one's locks
    hold.set()
    first.join(10)
    other.join(10)
    assert results["first"] == "demoted" and results["second"] == {"role"}
    db.session.expire_all()
    admins = db.session.execute(select(User.email).where(User.role == Role.ADMIN)).scalars()
    assert list(admins) == ["second.admin@example.kz"]


# ---------------------------------------------------------------------------- API


def test_api_changes_a_user(app, admin_api, world):
    url = f"/api/v1/users/{world.eng_a.id}"
    assert admin_api.get(url).get_json()["organization_id"] == world.org_a.id
    before = user_state()
    response = admin_api.patch(url, json={"role": "regulator"})
    assert response.status_code == 422
    assert set(field_errors(response)) == {"org_bin"}  # named as the API's field
    response = admin_api.patch(
        url, json={"role": "regulator", "region_code": "XXX", "org_bin": None}
    )
    assert set(field_errors(response)) == {"region_code"}
    assert user_state() == before
    response = admin_api.patch(
        url, json={"role": "regulator", "org_bin": None, "region_code": "kar"}
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["role"] == "regulator" and body["organization_id"] is None
    assert body["region_id"] == world.reg_kar.region_id


def test_api_deactivates_a_user_but_not_oneself(app, admin_api, world):
    engineer = browser(app, world.eng_a)
    response = admin_api.patch(f"/api/v1/users/{world.eng_a.id}", json={"active": False})
    assert response.status_code == 200 and response.get_json()["active"] is False
    assert not logged_in(engineer)
    own = admin_api.patch(f"/api/v1/users/{world.admin.id}", json={"active": False})
    assert own.status_code == 422 and set(field_errors(own)) == {"active"}
    demote = admin_api.patch(f"/api/v1/users/{world.admin.id}", json={"role": "regulator"})
    assert demote.status_code == 422 and set(field_errors(demote)) == {"role"}


def test_api_creating_a_user_names_the_apis_fields(admin_api, world):
    body = {"email": "x@example.kz", "password": "a-long-password", "role": "engineer"}
    response = admin_api.post("/api/v1/users", json={**body, "region_code": "PAV"})
    assert response.status_code == 422
    assert set(field_errors(response)) == {"org_bin", "region_code"}
    assert admin_api.get("/api/v1/users/987654").status_code == 404
