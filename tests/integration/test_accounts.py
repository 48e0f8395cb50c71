"""Login, logout, throttling, security headers, CSRF, tokens and the users CLI."""

from __future__ import annotations

import time

from accounts.models import User
from core.extensions import db
from tests.helpers.auth import PASSWORD, login


def test_login_page_is_russian_by_default(client, app):
    page = client.get("/login").get_data(as_text=True)
    assert "Вход" in page
    assert 'lang="ru"' in page


def test_anonymous_is_sent_to_login(client, app):
    response = client.get("/equipment")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_login_and_logout(client, world):
    response = login(client, world.eng_a)
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert client.post("/logout").status_code == 302
    assert client.get("/").status_code == 302


def test_wrong_password_is_refused_with_a_message(client, world):
    response = login(client, world.eng_a, "not-the-password")
    assert response.status_code == 401
    assert "Неверный e-mail или пароль" in response.get_data(as_text=True)


def test_repeated_failures_slow_down_even_the_right_password(client, world, app):
    for _ in range(app.config["LOGIN_FREE_ATTEMPTS"]):
        assert login(client, world.eng_a, "wrong-password").status_code == 401
    response = login(client, world.eng_a, PASSWORD)
    assert response.status_code == 429
    assert "Слишком много неудачных попыток" in response.get_data(as_text=True)
    time.sleep(app.config["LOGIN_DELAY_SECONDS"] + 0.2)
    assert login(client, world.eng_a, PASSWORD).status_code == 302


def test_open_redirect_after_login_is_refused(client, world):
    response = client.post(
        "/login?next=https://evil.example/", data={"email": world.eng_a.email, "password": PASSWORD}
    )
    assert response.headers["Location"] == "/"


def test_security_headers_and_cookie_flags(client, world):
    response = login(client, world.eng_a)
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    page = client.get("/")
    for header in (
        "Content-Security-Policy",
        "X-Content-Type-Options",
        "X-Frame-Options",
        "Referrer-Policy",
    ):
        assert header in page.headers


def test_csrf_is_required_on_forms(client, world, app):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = client.post("/login", data={"email": world.eng_a.email, "password": PASSWORD})
        assert response.status_code == 400
        assert client.get("/equipment").status_code == 302  # not logged in
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_passwords_are_hashed_with_scrypt(world):
    user = db.session.get(User, world.eng_a.id)
    assert user.password_hash.startswith("scrypt:")
    assert PASSWORD not in user.password_hash


def test_token_endpoint_and_bearer_auth(client, world):
    response = client.post(
        "/api/v1/auth/token", json={"email": world.eng_a.email, "password": PASSWORD}
    )
    assert response.status_code == 201
    token = response.get_json()["token"]
    ok = client.get("/api/v1/facilities", headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200
    assert {f["code"] for f in ok.get_json()} == {"A-01", "A-02"}
    assert client.get("/api/v1/facilities").status_code == 401
    bad = client.get("/api/v1/facilities", headers={"Authorization": "Bearer opo_nope"})
    assert bad.status_code == 401
    assert bad.get_json()["code"] == 401


def test_token_endpoint_rejects_bad_input_with_field_messages(client, app):
    response = client.post("/api/v1/auth/token", json={"email": "not-an-email"})
    assert response.status_code == 422
    errors = response.get_json()["errors"]["json"]
    assert set(errors) == {"email", "password"}


def test_token_created_on_profile_is_shown_once_and_stored_hashed(client, world, login_as):
    login_as(world.eng_a)
    page = client.post("/profile", data={"name": "laptop"}).get_data(as_text=True)
    token = page.split('id="new-token">')[1].split("<")[0]
    assert token.startswith("opo_")
    from accounts.models import ApiToken

    stored = db.session.query(ApiToken).one()
    assert stored.token_hash != token and len(stored.token_hash) == 64
    assert token not in client.get("/profile").get_data(as_text=True)
    api = client.get("/api/v1/facilities", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200
    client.post(f"/profile/tokens/{stored.id}/revoke")
    api = client.get("/api/v1/facilities", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 401


def test_api_ignores_the_session_cookie(client, world, login_as):
    login_as(world.eng_a)
    assert client.get("/api/v1/facilities").status_code == 401


def test_cli_creates_and_lists_users(runner, world):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "New.Eng@Example.kz",
            "--password-stdin",
            "--role",
            "engineer",
            "--org",
            "040540526019",
        ],
        input="a-long-password\n",
    )
    assert result.exit_code == 0, result.output
    listed = runner.invoke(args=["users", "list"]).output
    assert "new.eng@example.kz\tengineer\t040540526019" in listed


def test_cli_rejects_bad_input_naming_the_field(runner, world):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "x@example.kz",
            "--password-stdin",
            "--role",
            "engineer",
            "--org",
            "123456789012",
            "--region",
            "ZZZ",
        ],
        input="short\n",
    )
    assert result.exit_code == 2
    assert "password" in result.output and "org" in result.output and "region" in result.output
    assert db.session.query(User).filter_by(email="x@example.kz").count() == 0


def test_admin_sees_users_page_and_others_do_not(client, world, login_as):
    login_as(world.eng_a)
    assert client.get("/users").status_code == 404
    client.post("/logout")
    login_as(world.admin)
    page = client.get("/users").get_data(as_text=True)
    assert world.eng_b.email in page
