"""The HTTP edge in the order a request meets it: who sends it (anonymous bodies refused
unread), how big it is (413 decided before reading), whether the caller may address what it
names (401/403/404 before anything about the body), then what the body says (NUL characters,
numbers no field can take: 400/422 naming the field). Plus what every API answer and every
download carries (Cache-Control: no-store), empty PATCHes and unsupported methods."""

from __future__ import annotations

import io
import json
import time

import pytest

from core.extensions import db
from tests.helpers.actors import Actor
from tests.helpers.db_state import changed_tables, db_state

MB = 1024 * 1024
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
NUL = "\u0000"


class Unread(io.RawIOBase):
    """A request body of ``size`` spaces that counts what is read from it."""

    def __init__(self, size: int):
        self.size = size
        self.position = 0
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:  # the test client measures the body by seeking to its end
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        self.position = self.size + offset if whence == io.SEEK_END else offset
        return self.position

    def tell(self) -> int:
        return self.position

    def readinto(self, buffer) -> int:
        size = min(len(buffer), 64 * 1024)
        buffer[:size] = b" " * size
        self.consumed += size
        return size


@pytest.fixture
def actor(app, make, world):
    cache: dict[str, Actor] = {}

    def _actor(name: str | None) -> Actor:
        key = name or "anonymous"
        if key not in cache:
            cache[key] = Actor(app, make, getattr(world, name) if name else None)
        return cache[key]

    return _actor


def send_unread(who: Actor, url: str, method: str, size: int, content_type: str, **kw):
    """Send a body of ``size`` bytes announced by Content-Length (chunked, of 60 MB, when
    size is None) that records whether anything read it; returns the response, the body and
    the seconds it took."""
    body = Unread(size or 60 * MB)
    if size is None:
        kw["headers"] = {**kw.get("headers", {}), "Transfer-Encoding": "chunked"}
        kw["environ_overrides"] = {"wsgi.input_terminated": True}
    started = time.perf_counter()
    response = who.open(url, method, input_stream=body, content_type=content_type, **kw)
    return response, body, time.perf_counter() - started


# ---------------------------------------------------------------------------- who sends it


@pytest.mark.parametrize("size", [60 * MB, None], ids=["60 MB", "chunked"])
@pytest.mark.parametrize("token", [None, "opo_forged-token"], ids=["no token", "bad token"])
def test_an_anonymous_api_body_is_refused_before_it_is_read(world, actor, size, token):
    anonymous = actor(None)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    for method, url in (
        ("POST", "/api/v1/equipment"),
        ("PATCH", f"/api/v1/equipment/{world.item_a.id}"),
        ("POST", "/api/v1/users"),
        ("POST", "/api/v1/imports"),
        ("POST", "/api/v1/no-such-route"),
    ):
        response, body, seconds = send_unread(anonymous, url, method, size, JSON, headers=headers)
        assert response.status_code == 401, (url, response.status_code)
        assert response.get_json()["code"] == 401
        assert body.consumed == 0, url
        assert seconds < 0.5, (url, seconds)


@pytest.mark.parametrize("csrf", [False, True], ids=["csrf off", "csrf on"])
def test_an_anonymous_page_body_goes_to_the_login_unread(app, world, actor, monkeypatch, csrf):
    # CSRF protection reads the form before any view: the login check must come first
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", csrf)
    anonymous = actor(None)
    for url, content_type in (
        ("/facilities/new", FORM),
        (f"/equipment/{world.item_a.id}/edit", FORM),
        ("/imports", "multipart/form-data; boundary=x"),
        ("/profile", FORM),
    ):
        response, body, seconds = send_unread(anonymous, url, "POST", 60 * MB, content_type)
        assert response.status_code == 302, url
        assert "/login" in response.headers["Location"]
        assert body.consumed == 0 and seconds < 0.5, url


def test_the_login_form_and_the_token_endpoint_take_small_bodies_only(world, actor):
    anonymous = actor(None)
    for url, content_type in (("/login", FORM), ("/api/v1/auth/token", JSON)):
        response, body, _seconds = send_unread(anonymous, url, "POST", 2 * MB, content_type)
        assert response.status_code == 413, url
        assert body.consumed == 0, url
    token = anonymous.post(
        "/api/v1/auth/token", json={"email": world.eng_a.email, "password": "password-123"}
    )
    assert token.status_code == 201


# ---------------------------------------------------------------------------- how big


def test_a_json_body_above_the_limit_is_413_naming_it_unread(world, actor):
    engineer = actor("eng_a")
    for url in (f"/api/v1/equipment/{world.item_a.id}", f"/api/v1/equipment/{world.item_b.id}"):
        response, body, _seconds = send_unread(engineer, url, "PATCH", 2 * MB, JSON)
        assert response.status_code == 413, url  # the size first, even for a foreign item
        assert response.get_json()["message"] == "Запрос слишком велик: не более 1 МБ."
        assert body.consumed == 0


def test_a_chunked_json_body_is_cut_at_the_limit_while_it_is_read(world, actor):
    engineer = actor("eng_a")
    before = db_state()  # after the actor logged in
    payload = io.BytesIO(json.dumps({"notes": "x" * (2 * MB)}).encode())
    response = engineer.open(
        f"/api/v1/equipment/{world.item_a.id}",
        "PATCH",
        input_stream=payload,
        content_type=JSON,
        headers={**engineer.headers, "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 413, response.get_json()
    assert payload.tell() <= MB + 64 * 1024  # read up to the limit, not further
    assert changed_tables(before, db_state()) == []


def test_a_json_body_under_the_limit_is_read(world, actor):
    response = actor("eng_a").patch(
        f"/api/v1/equipment/{world.item_a.id}", json={"notes": "x" * 4000, "pad": " " * 900_000}
    )
    assert response.status_code == 422  # read and validated: «pad» is not a field
    assert set(response.get_json()["errors"]["json"]) == {"pad"}


# ---------------------------------------------------------------------------- whose it is


@pytest.mark.parametrize(
    "who,method,url,expected",
    [
        (None, "PATCH", "/api/v1/equipment/{item_a}", 401),
        ("eng_b", "PATCH", "/api/v1/equipment/{item_a}", 404),
        ("eng_b", "POST", "/api/v1/equipment/{item_a}/assessments", 404),
        ("eng_b", "PATCH", "/api/v1/facilities/{fac_a}", 404),
        ("reg_pav", "PATCH", "/api/v1/equipment/{item_a}", 403),
        ("eng_a", "POST", "/api/v1/users", 404),
        ("eng_a", "PATCH", "/api/v1/organizations/{org_a}", 404),
        ("admin", "PATCH", "/api/v1/users/987654", 404),
        ("admin", "PATCH", "/api/v1/organizations/987654", 404),
    ],
)
def test_a_nul_character_is_answered_after_the_scope(world, actor, who, method, url, expected):
    url = url.format(item_a=world.item_a.id, fac_a=world.fac_a.id, org_a=world.org_a.id)
    response = actor(who).open(url, method, json={"notes": f"a{NUL}b", "name": NUL})
    assert response.status_code == expected
    assert "NUL" not in response.get_json()["message"]


def test_a_nul_character_in_ones_own_change_is_400_naming_the_field(world, actor):
    engineer = actor("eng_a")
    before = db_state()
    response = engineer.patch(
        f"/api/v1/equipment/{world.item_a.id}", json={"name": "Котел", "notes": f"a{NUL}b"}
    )
    assert response.status_code == 400
    body = response.get_json()
    assert body["errors"] == {"json": {"notes": [body["message"]]}}
    assert body["message"] == "Текст не может содержать символ NUL (код 0): поле «notes»."
    response = engineer.get(f"/api/v1/equipment?q=a{NUL}b")
    assert response.status_code == 400
    assert list(response.get_json()["errors"]["query"]) == ["q"]
    assert changed_tables(before, db_state()) == []


def test_the_login_form_names_a_nul_character(world, actor):
    response = actor(None).post("/login", data={"email": f"{world.eng_a.email}{NUL}"})
    assert response.status_code == 400
    assert "поле «email»" in response.get_data(as_text=True)


def test_query_nul_characters_do_not_hide_a_404(world, actor):
    engineer = actor("eng_b")
    for url in (
        f"/api/v1/equipment/{world.item_a.id}?q=%00",
        f"/equipment/{world.item_a.id}?q=%00",
        f"/equipment/{world.item_a.id}/edit?x%00=1",
    ):
        assert engineer.get(url).status_code == 404, url


def test_pages_answer_a_foreign_form_with_nul_404_and_ones_own_400(world, actor):
    form = {"name": f"Котел{NUL}", "inventory_no": "X-1"}
    actor("eng_a"), actor("eng_b")
    before = db_state()
    foreign = actor("eng_b").post(f"/equipment/{world.item_a.id}/edit", data=form)
    assert foreign.status_code == 404
    own = actor("eng_a").post(f"/equipment/{world.item_a.id}/edit", data=form)
    assert own.status_code == 400
    assert "поле «name»" in own.get_data(as_text=True)
    assert changed_tables(before, db_state()) == []


# ---------------------------------------------------------------------------- numbers

HUGE = "9" * 5000  # beyond Python's 4,300-digit int conversion limit


def _raw(who: Actor, method: str, url: str, body: str):
    return who.open(url, method, data=body.encode(), content_type=JSON)


def test_a_5000_digit_number_on_the_token_endpoint_is_422_naming_the_field(actor):
    for body, field in (
        (f'{{"email": {HUGE}, "password": "x"}}', "email"),
        (f'{{"email": "a@b.kz", "password": "x", "name": -{HUGE}}}', "name"),
    ):
        response = _raw(actor(None), "POST", "/api/v1/auth/token", body)
        assert response.status_code == 422, body[:40]
        assert list(response.get_json()["errors"]["json"]) == [field]


@pytest.mark.parametrize(
    "field,value,words",
    [
        ("manufacture_year", HUGE, "от 1900"),
        ("cycle_count", f"-{HUGE}", "от 0"),
        ("facility_id", HUGE, "от 1 до 2147483647"),
        ("pressure_mpa", HUGE, "от 0 до 1000"),
        ("pressure_mpa", "1e400", "бесконечность"),
        ("service_life_years", f"-{HUGE}", "от 1 до 100"),
        ("name", HUGE, "текст"),
    ],
)
def test_numbers_no_field_can_take_are_422_naming_the_field(world, actor, field, value, words):
    engineer = actor("eng_a")
    before = db_state()
    url = f"/api/v1/equipment/{world.item_a.id}"
    response = _raw(engineer, "PATCH", url, f'{{"{field}": {value}}}')
    assert response.status_code == 422
    errors = response.get_json()["errors"]["json"]
    assert list(errors) == [field]
    assert words in errors[field][0].lower()
    assert changed_tables(before, db_state()) == []


def test_ids_no_row_can_have_in_the_path_or_query_are_404_or_422(world, actor):
    engineer = actor("eng_a")
    assert engineer.get(f"/api/v1/equipment/{HUGE}").status_code == 404
    assert engineer.get(f"/api/v1/equipment/{10**20}").status_code == 404
    response = engineer.get(f"/api/v1/equipment?facility_id={HUGE}")
    assert response.status_code == 422
    assert list(response.get_json()["errors"]["json"]) == ["facility_id"]
    for name in ("page", "per_page"):
        response = engineer.get(f"/api/v1/equipment?{name}={HUGE}")
        assert response.status_code in (200, 422), name


# ---------------------------------------------------------------------------- answers


def test_api_answers_and_downloads_are_never_cached(world, actor):
    engineer = actor("eng_a")
    answers = {
        "list": engineer.get("/api/v1/equipment"),
        "item": engineer.get(f"/api/v1/equipment/{world.item_a.id}"),
        "foreign": engineer.get(f"/api/v1/equipment/{world.item_b.id}"),
        "anonymous": actor(None).get("/api/v1/equipment"),
        "token": actor(None).post(
            "/api/v1/auth/token", json={"email": world.eng_a.email, "password": "password-123"}
        ),
        "openapi": engineer.get("/api/openapi.json"),
        "export": engineer.get("/equipment/export.xlsx"),
        "template": engineer.get("/imports/template.xlsx"),
    }
    assert {k: r.status_code for k, r in answers.items()} == {
        "list": 200,
        "item": 200,
        "foreign": 404,
        "anonymous": 401,
        "token": 201,
        "openapi": 200,
        "export": 200,
        "template": 200,
    }
    assert {k: r.headers.get("Cache-Control") for k, r in answers.items()} == dict.fromkeys(
        answers, "no-store"
    )


@pytest.mark.parametrize(
    "who,url",
    [
        ("eng_a", "/api/v1/equipment/{item_a}"),
        ("eng_a", "/api/v1/facilities/{fac_a}"),
        ("admin", "/api/v1/organizations/{org_a}"),
        ("admin", "/api/v1/users/{eng_a}"),
    ],
)
def test_a_patch_without_a_body_is_422_and_an_empty_object_changes_nothing(world, actor, who, url):
    url = url.format(
        item_a=world.item_a.id, fac_a=world.fac_a.id, org_a=world.org_a.id, eng_a=world.eng_a.id
    )
    actor(who)
    before = db_state()
    for data, content_type in ((None, None), ("", JSON), ("  ", JSON), ("name=x", FORM)):
        response = actor(who).open(url, "PATCH", data=data, content_type=content_type)
        assert response.status_code == 422, (data, response.status_code)
        assert response.get_json()["errors"]["json"]["_schema"]
    assert actor(who).patch(url, json={}).status_code == 200
    db.session.rollback()
    assert changed_tables(before, db_state()) == []


def test_unsupported_methods_are_405_with_allow(world, actor):
    engineer = actor("eng_a")
    for method, url in (
        ("TRACE", "/api/v1/equipment"),
        ("PUT", f"/api/v1/equipment/{world.item_a.id}"),
        ("DELETE", "/api/v1/facilities"),
        ("TRACE", "/equipment"),
    ):
        response = engineer.open(url, method)
        assert response.status_code == 405, url
        allowed = {m.strip() for m in response.headers["Allow"].split(",")}
        assert "GET" in allowed and method not in allowed, url


def test_the_openapi_document_describes_the_error_answers(app):
    with app.app_context():
        paths = app.test_client().get("/api/openapi.json").get_json()["paths"]
    for path, operations in paths.items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            documented = set(operation["responses"])
            assert "401" in documented, (method, path)
            if method in ("post", "patch"):
                assert {"400", "413", "422"} <= documented, (method, path)
            if path != "/api/v1/auth/token":
                assert "404" in documented, (method, path)
            if method in ("post", "patch") and path != "/api/v1/auth/token":
                assert {"403", "409"} <= documented, (method, path)
    assert "429" in paths["/api/v1/auth/token"]["post"]["responses"]
