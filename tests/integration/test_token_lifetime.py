"""API tokens end with the password that made them trustworthy: a password change (the user
may keep the tokens they tick), an administrator's reset, a deactivation and "end all other
sessions" revoke them, in the same transaction and in the audit trail; and every token expires
API_TOKEN_DAYS after its creation, which the profile shows."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from accounts.models import ApiToken
from core.audit import AuditEvent
from core.db import as_utc, utcnow
from core.extensions import db
from tests.helpers.auth import PASSWORD, login


def api_status(client, token: str) -> int:
    return client.get(
        "/api/v1/facilities", headers={"Authorization": f"Bearer {token}"}
    ).status_code


def token_id(plain: str) -> int:
    return db.session.execute(select(ApiToken.id).where(ApiToken.prefix == plain[:10])).scalar_one()


def revocations() -> list[AuditEvent]:
    stmt = select(AuditEvent).where(AuditEvent.action == "tokens_revoked").order_by(AuditEvent.id)
    return list(db.session.execute(stmt).scalars())


def browser(app, user, password: str = PASSWORD):
    client = app.test_client()
    response = login(client, user, password)
    assert response.status_code == 302, response.get_data(as_text=True)[-300:]
    return client


def change_password(client, keep: list[int] = (), current: str = PASSWORD):
    return client.post(
        "/profile/password",
        data={
            "current_password": current,
            "new_password": "a-brand-new-password",
            "confirm": "a-brand-new-password",
            "keep_tokens": [str(i) for i in keep],
        },
    )


# ---------------------------------------------------------------------------- revocation


def test_a_password_change_revokes_every_token_by_default(app, world, make):
    first, second = make.token(world.eng_a), make.token(world.eng_a)
    other = make.token(world.eng_b)
    client = browser(app, world.eng_a)
    assert change_password(client).status_code == 302
    assert api_status(client, first) == 401 and api_status(client, second) == 401
    assert api_status(client, other) == 200  # another user's tokens are not touched
    (event,) = revocations()
    assert event.actor_id == world.eng_a.id and event.entity_id == world.eng_a.id
    assert sorted(event.changes["tokens"][0]) == sorted([first[:10], second[:10]])
    assert event.changes["reason"] == [None, "password_changed"]


def test_a_password_change_keeps_the_tokens_the_user_ticks(app, world, make):
    kept, dropped = make.token(world.eng_a), make.token(world.eng_a)
    foreign = make.token(world.eng_b)
    client = browser(app, world.eng_a)
    # another user's token id among the ticked ones keeps nothing of theirs and is no error
    assert change_password(client, keep=[token_id(kept), token_id(foreign)]).status_code == 302
    assert api_status(client, kept) == 200
    assert api_status(client, dropped) == 401
    assert revocations()[0].changes["tokens"] == [[dropped[:10]], None]


def test_the_profile_offers_to_keep_each_live_token_unticked(app, world, make):
    token = make.token(world.eng_a)
    revoked = make.token(world.eng_a)
    db.session.execute(
        update(ApiToken).where(ApiToken.id == token_id(revoked)).values(revoked_at=utcnow())
    )
    db.session.commit()
    browser(app, world.eng_a)  # a second session: "end all other sessions" is offered
    page = browser(app, world.eng_a).get("/profile").get_data(as_text=True)
    boxes = re.findall(r'<input[^>]*name="keep_tokens"[^>]*>', page)
    # one in the password form, one in "end all other sessions"; the revoked token has none
    assert len(boxes) == 2, boxes
    assert all(f'value="{token_id(token)}"' in box and "checked" not in box for box in boxes)
    assert "Сохранить API-токены" in page


def test_a_refused_password_change_revokes_nothing(app, world, make):
    token = make.token(world.eng_a)
    client = browser(app, world.eng_a)
    assert change_password(client, current="not-the-password").status_code == 400
    assert api_status(client, token) == 200
    assert revocations() == []


def test_an_admin_reset_revokes_every_token(app, world, make):
    token = make.token(world.eng_a)
    admin = browser(app, world.admin)
    response = admin.post(f"/users/{world.eng_a.id}/password", data={"password_mode": "generate"})
    assert response.status_code == 200
    assert "API-токены отозваны" in response.get_data(as_text=True)
    assert api_status(admin, token) == 401
    (event,) = revocations()
    assert event.actor_id == world.admin.id and event.changes["reason"][1] == "password_reset"


def test_a_reset_on_the_command_line_revokes_every_token(app, world, make, runner):
    token = make.token(world.eng_a)
    result = runner.invoke(
        args=["users", "set-password", "--email", world.eng_a.email, "--password-stdin"],
        input="reset-by-the-admin\n",
    )
    assert result.exit_code == 0, result.output
    assert api_status(app.test_client(), token) == 401


def test_deactivation_revokes_the_tokens_and_activation_does_not_bring_them_back(app, world, make):
    token = make.token(world.eng_a)
    admin_token = make.token(world.admin)
    api = app.test_client()
    headers = {"Authorization": f"Bearer {admin_token}"}
    off = api.patch(f"/api/v1/users/{world.eng_a.id}", json={"active": False}, headers=headers)
    assert off.status_code == 200
    on = api.patch(f"/api/v1/users/{world.eng_a.id}", json={"active": True}, headers=headers)
    assert on.status_code == 200
    assert api_status(api, token) == 401
    assert revocations()[0].changes["reason"][1] == "deactivated"


def test_ending_all_other_sessions_revokes_the_tokens_not_kept(app, world, make):
    kept, dropped = make.token(world.eng_a), make.token(world.eng_a)
    elsewhere = browser(app, world.eng_a)
    client = browser(app, world.eng_a)
    response = client.post(
        "/profile/sessions/end-others", data={"keep_tokens": [str(token_id(kept))]}
    )
    assert response.status_code == 302
    assert elsewhere.get("/equipment").status_code == 302  # the other session ended
    assert api_status(client, kept) == 200 and api_status(client, dropped) == 401
    assert revocations()[0].changes["reason"][1] == "ended_by_user"


def test_revoking_nothing_writes_no_event(app, world, make):
    client = browser(app, world.eng_a)
    assert change_password(client).status_code == 302  # no token at all
    assert revocations() == []


# ---------------------------------------------------------------------------- expiry


def test_a_new_token_lives_the_configured_days(app, world, monkeypatch):
    monkeypatch.setitem(app.config, "API_TOKEN_DAYS", 30)
    response = app.test_client().post(
        "/api/v1/auth/token", json={"email": world.eng_a.email, "password": PASSWORD}
    )
    assert response.status_code == 201
    stored = db.session.execute(select(ApiToken)).scalar_one()
    lifetime = as_utc(stored.expires_at) - as_utc(stored.created_at)
    assert abs(lifetime - timedelta(days=30)) < timedelta(seconds=5)
    assert response.get_json()["expires_at"][:10] == as_utc(stored.expires_at).date().isoformat()


def test_a_token_may_be_asked_for_fewer_days_not_more(app, world):
    client = app.test_client()
    body = {"email": world.eng_a.email, "password": PASSWORD}
    short = client.post("/api/v1/auth/token", json={**body, "days": 7})
    assert short.status_code == 201
    stored = db.session.execute(select(ApiToken)).scalar_one()
    assert (as_utc(stored.expires_at) - as_utc(stored.created_at)).days == 7
    long = client.post("/api/v1/auth/token", json={**body, "days": 10_000})
    assert long.status_code == 422
    assert set(long.get_json()["errors"]["json"]) == {"days"}


def test_the_profile_creates_a_token_for_fewer_days_and_explains_a_bad_number(app, world):
    client = browser(app, world.eng_a)
    assert 'name="days"' in client.get("/profile").get_data(as_text=True)
    too_long = client.post("/profile", data={"name": "script", "days": "1000"})
    assert too_long.status_code == 400
    assert "От 1 до 365 дней" in too_long.get_data(as_text=True)
    assert db.session.execute(select(ApiToken)).first() is None
    assert client.post("/profile", data={"name": "script", "days": "7"}).status_code == 200
    stored = db.session.execute(select(ApiToken)).scalar_one()
    assert (as_utc(stored.expires_at) - as_utc(stored.created_at)).days == 7


def _expire(plain: str) -> None:
    db.session.execute(
        update(ApiToken)
        .where(ApiToken.prefix == plain[:10])
        .values(expires_at=utcnow() - timedelta(minutes=1))
    )
    db.session.commit()


@pytest.mark.parametrize(
    ("language", "words"), [("ru", "истёк"), ("en", "expired")], ids=["ru", "en"]
)
def test_an_expired_token_is_refused_saying_so(app, world, make, language, words):
    token = make.token(world.eng_a)
    _expire(token)
    response = app.test_client().get(
        "/api/v1/facilities",
        headers={"Authorization": f"Bearer {token}", "Accept-Language": language},
    )
    assert response.status_code == 401
    assert words in response.get_json()["message"]


def test_an_unknown_token_does_not_say_expired(app, world):
    response = app.test_client().get(
        "/api/v1/facilities", headers={"Authorization": "Bearer opo_nothing-like-this"}
    )
    assert response.status_code == 401 and "истёк" not in response.get_json()["message"]


def test_the_profile_shows_each_tokens_expiry_and_days_left(app, world, make, monkeypatch):
    monkeypatch.setitem(app.config, "API_TOKEN_DAYS", 30)
    _live, old = make.token(world.eng_a), make.token(world.eng_a)
    _expire(old)
    page = browser(app, world.eng_a).get("/profile").get_data(as_text=True)
    assert "Действует до" in page
    assert "осталось 30 дн." in page or "осталось 29 дн." in page
    assert "истёк" in page


def test_the_migration_gives_existing_tokens_the_configured_lifetime(tmp_path, monkeypatch):
    """Tokens made before expiry existed get created_at + API_TOKEN_DAYS (SQLite file of its
    own; the same SQL on PostgreSQL is checked by `flask db upgrade` in CI)."""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text

    from core.factory import create_app

    url = f"sqlite:///{tmp_path / 'migrate.sqlite3'}"
    other = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x", "API_TOKEN_DAYS": 10})
    with other.app_context():
        upgrade(revision="a1f0c8d2e302")
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO users (email, name, password_hash, role, active, created_at) "
                    "VALUES ('a@b.kz', '', 'x', 'admin', 1, '2026-01-01 00:00:00.000000')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO api_tokens (user_id, name, token_hash, prefix, created_at) "
                    "VALUES (1, 't', 'h', 'opo_x', '2026-01-01 10:00:00.000000')"
                )
            )
        upgrade()
        stored = db.session.execute(select(ApiToken)).scalar_one()
        assert as_utc(stored.expires_at) == as_utc(stored.created_at) + timedelta(days=10)
        downgrade(revision="a1f0c8d2e302")
        db.session.remove()
        db.engine.dispose()
