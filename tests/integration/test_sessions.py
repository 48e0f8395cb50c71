"""Server-side login sessions: logout, deactivation and password changes end them on the server;
idle and absolute limits; the profile's list of sessions; Flask-Login's strong protection."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import select, update

from accounts.models import User, UserSession
from core.audit import AuditEvent
from core.db import as_utc, utcnow
from core.extensions import db
from tests.helpers.auth import PASSWORD, login

FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)


def browser(app, user_agent: str | None = None):
    """A test client of its own: its own cookie jar, and its own User-Agent if given."""
    client = app.test_client()
    if user_agent:
        client.environ_base["HTTP_USER_AGENT"] = user_agent
    return client


def logged_in(app, user, user_agent: str | None = None):
    client = browser(app, user_agent)
    response = login(client, user)
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return client


def is_logged_in(client) -> bool:
    response = client.get("/equipment")
    assert response.status_code in (200, 302)
    return response.status_code == 200


def session_cookie(client) -> str:
    return client.get_cookie("session").value


def replay(app, cookie: str, user_agent: str | None = None):
    """Another client that sends a saved session cookie."""
    client = browser(app, user_agent)
    client.set_cookie("session", cookie)
    return client


def rows(user) -> list[UserSession]:
    stmt = select(UserSession).where(UserSession.user_id == user.id).order_by(UserSession.id)
    return list(db.session.execute(stmt).scalars())


def test_the_old_cookie_stops_working_after_logout(app, world):
    client = logged_in(app, world.eng_a)
    saved = session_cookie(client)
    assert is_logged_in(client)
    assert client.post("/logout").status_code == 302
    assert not is_logged_in(client)
    stolen = replay(app, saved)
    response = stolen.get("/equipment")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    (row,) = rows(world.eng_a)
    assert row.ended_at is not None and row.end_reason == "logout"


def test_the_cookie_carries_a_random_key_stored_only_hashed(app, world):
    client = logged_in(app, world.eng_a, FIREFOX)
    data = app.session_interface.get_signing_serializer(app).loads(session_cookie(client))
    key = data["_user_id"]
    assert key != str(world.eng_a.id) and len(key) >= 40
    (row,) = rows(world.eng_a)
    assert row.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert row.ip == "127.0.0.1" and row.user_agent == FIREFOX and row.ended_at is None
    assert key not in str(db.session.execute(select(UserSession.__table__)).all())


def test_a_cookie_naming_a_user_id_is_not_a_login(app, world):
    """A cookie signed with the app's key (as before sessions were rows) but holding a user id
    instead of a session key logs nobody in."""
    client = logged_in(app, world.eng_a)
    serializer = app.session_interface.get_signing_serializer(app)
    data = serializer.loads(session_cookie(client))
    data["_user_id"] = str(world.eng_a.id)  # the identifier "_id" stays valid for this client
    forged = replay(app, serializer.dumps(data))
    assert not is_logged_in(forged)


def test_each_login_is_its_own_session(app, world):
    first = logged_in(app, world.eng_a)
    second = logged_in(app, world.eng_a)
    assert len(rows(world.eng_a)) == 2
    second.post("/logout")
    assert is_logged_in(first) and not is_logged_in(second)


def test_a_deactivated_user_is_logged_out_at_once(app, world):
    engineer = logged_in(app, world.eng_a)
    saved = session_cookie(engineer)
    admin = logged_in(app, world.admin)
    response = admin.post(f"/users/{world.eng_a.id}/deactivate")
    assert response.status_code == 302
    assert "деактивирован" in admin.get("/users").get_data(as_text=True)
    assert not is_logged_in(engineer)
    assert {r.end_reason for r in rows(world.eng_a)} == {"deactivated"}
    assert db.session.get(User, world.eng_a.id).active is False
    event = db.session.execute(
        select(AuditEvent).where(AuditEvent.entity_id == world.eng_a.id)
    ).scalar_one()
    assert event.changes == {"active": [True, False]} and event.actor_id == world.admin.id
    assert login(browser(app), world.eng_a).status_code == 401
    # activated again: a new login works, the old session stays ended
    assert admin.post(f"/users/{world.eng_a.id}/activate").status_code == 302
    assert not is_logged_in(replay(app, saved))
    assert login(browser(app), world.eng_a).status_code == 302


def test_a_user_made_inactive_in_the_database_has_no_session(app, world):
    client = logged_in(app, world.eng_a)
    db.session.execute(update(User).where(User.id == world.eng_a.id).values(active=False))
    db.session.commit()
    assert not is_logged_in(client)
    assert rows(world.eng_a)[0].end_reason == "deactivated"


def test_only_admins_deactivate_and_never_themselves(app, world):
    engineer = logged_in(app, world.eng_a)
    assert engineer.post(f"/users/{world.eng_b.id}/deactivate").status_code == 404
    admin = logged_in(app, world.admin)
    response = admin.post(f"/users/{world.admin.id}/deactivate", follow_redirects=True)
    assert "Нельзя деактивировать собственную учётную запись" in response.get_data(as_text=True)
    assert is_logged_in(admin)
    assert admin.post("/users/999999/deactivate").status_code == 404
    assert admin.post(f"/users/{2**40}/deactivate").status_code == 404


def _change(client, current=PASSWORD, new="a-new-long-password", confirm=None):
    return client.post(
        "/profile/password",
        data={"current_password": current, "new_password": new, "confirm": confirm or new},
    )


def test_changing_the_password_ends_the_other_sessions(app, world):
    here = logged_in(app, world.eng_a, FIREFOX)
    there = logged_in(app, world.eng_a, CHROME)
    response = _change(here)
    assert response.status_code == 302
    page = here.get("/profile").get_data(as_text=True)
    assert "Пароль изменён" in page
    assert is_logged_in(here) and not is_logged_in(there)
    reasons = {r.user_agent: r.end_reason for r in rows(world.eng_a)}
    assert reasons == {FIREFOX: None, CHROME: "password_changed"}
    assert login(browser(app), world.eng_a).status_code == 401  # the old password
    assert login(browser(app), world.eng_a, "a-new-long-password").status_code == 302
    actions = db.session.execute(
        select(AuditEvent.action).where(AuditEvent.entity_id == world.eng_a.id)
    ).scalars()
    assert list(actions) == ["password_changed"]


def test_password_change_is_checked(app, world):
    client = logged_in(app, world.eng_a)
    wrong = _change(client, current="not-the-password")
    assert wrong.status_code == 400
    assert "Текущий пароль указан неверно" in wrong.get_data(as_text=True)
    short = _change(client, new="short")
    assert short.status_code == 400
    assert "не менее 10 символов" in short.get_data(as_text=True)
    mismatch = _change(client, confirm="something-else-here")
    assert mismatch.status_code == 400
    assert "Пароли не совпадают" in mismatch.get_data(as_text=True)
    same = _change(client, new=PASSWORD)
    assert "Новый пароль должен отличаться" in same.get_data(as_text=True)
    assert db.session.get(User, world.eng_a.id).password_hash == world.eng_a.password_hash


def test_guessing_the_current_password_is_throttled(app, world):
    client = logged_in(app, world.eng_a)
    for _ in range(app.config["LOGIN_FREE_ATTEMPTS"]):
        assert _change(client, current="wrong-password").status_code == 400
    refused = _change(client)  # even the right one, for now
    assert refused.status_code == 400
    assert "Слишком много неудачных попыток" in refused.get_data(as_text=True)
    assert db.session.get(User, world.eng_a.id).password_hash == world.eng_a.password_hash


def test_a_password_reset_ends_every_session(app, world, runner):
    client = logged_in(app, world.eng_a)
    result = runner.invoke(
        args=["users", "set-password", "--email", world.eng_a.email, "--password-stdin"],
        input="reset-by-the-admin\n",
    )
    assert result.exit_code == 0, result.output
    assert not is_logged_in(client)
    assert rows(world.eng_a)[0].end_reason == "password_reset"
    assert login(browser(app), world.eng_a, "reset-by-the-admin").status_code == 302
    short = runner.invoke(
        args=["users", "set-password", "--email", world.eng_a.email, "--password-stdin"],
        input="short\n",
    )
    assert short.exit_code == 2 and "password" in short.output


def test_profile_lists_the_sessions_and_ends_the_others(app, world):
    here = logged_in(app, world.eng_a, FIREFOX)
    there = logged_in(app, world.eng_a, CHROME)
    other_user = logged_in(app, world.eng_b)
    page = here.get("/profile").get_data(as_text=True)
    sessions_table = page.split('id="sessions"')[1].split("</table>")[0]
    assert "Firefox 128, Windows" in sessions_table and "Chrome 126, Linux" in sessions_table
    assert "127.0.0.1" in sessions_table
    assert sessions_table.count("этот сеанс") == 1
    this_row = sessions_table.split('class="this-session"')[1].split("</tr>")[0]
    assert "Firefox 128" in this_row
    assert "Завершить все другие сеансы" in page
    assert here.post("/profile/sessions/end-others").status_code == 302
    assert is_logged_in(here) and not is_logged_in(there) and is_logged_in(other_user)
    page = here.get("/profile").get_data(as_text=True)
    assert "Chrome 126" not in page and "Завершить все другие сеансы" not in page


def test_ending_one_session_from_the_profile(app, world):
    here = logged_in(app, world.eng_a, FIREFOX)
    there = logged_in(app, world.eng_a, CHROME)
    theirs = logged_in(app, world.eng_b)
    there_id = next(r.id for r in rows(world.eng_a) if r.user_agent == CHROME)
    their_id = rows(world.eng_b)[0].id
    assert here.post(f"/profile/sessions/{their_id}/end").status_code == 404
    assert is_logged_in(theirs)
    assert here.post(f"/profile/sessions/{there_id}/end").status_code == 302
    assert not is_logged_in(there) and is_logged_in(here)
    assert here.post(f"/profile/sessions/{there_id}/end").status_code == 404  # ended already


def _age(user, **columns) -> None:
    db.session.execute(update(UserSession).where(UserSession.user_id == user.id).values(columns))
    db.session.commit()


def test_an_idle_session_stops_working(app, world):
    client = logged_in(app, world.eng_a)
    idle = timedelta(hours=app.config["SESSION_IDLE_HOURS"])
    _age(world.eng_a, last_seen_at=utcnow() - idle + timedelta(minutes=10))
    assert is_logged_in(client)
    _age(world.eng_a, last_seen_at=utcnow() - idle - timedelta(minutes=1))
    assert not is_logged_in(client)
    assert rows(world.eng_a)[0].end_reason == "idle"


def test_the_idle_limit_is_configurable(app, world, monkeypatch):
    monkeypatch.setitem(app.config, "SESSION_IDLE_HOURS", 1)
    client = logged_in(app, world.eng_a)
    _age(world.eng_a, last_seen_at=utcnow() - timedelta(minutes=61))
    assert not is_logged_in(client)


def test_a_session_ends_at_its_absolute_limit_however_busy(app, world):
    client = logged_in(app, world.eng_a)
    longest = timedelta(days=app.config["SESSION_MAX_DAYS"])
    _age(world.eng_a, created_at=utcnow() - longest + timedelta(minutes=5))
    assert is_logged_in(client)
    _age(world.eng_a, created_at=utcnow() - longest - timedelta(minutes=1), last_seen_at=utcnow())
    assert not is_logged_in(client)
    assert rows(world.eng_a)[0].end_reason == "expired"
    page = logged_in(app, world.eng_a).get("/profile").get_data(as_text=True)
    listed = page.split('id="sessions"')[1].split("</table>")[0]
    assert listed.count("<tr") == 2  # the header and the new session: the expired one is gone


def test_last_seen_is_written_only_every_few_minutes(app, world):
    client = logged_in(app, world.eng_a)
    first = as_utc(rows(world.eng_a)[0].last_seen_at)
    for _ in range(3):
        assert is_logged_in(client)
    assert as_utc(rows(world.eng_a)[0].last_seen_at) == first
    stale = utcnow() - timedelta(seconds=app.config["SESSION_TOUCH_SECONDS"] + 1)
    _age(world.eng_a, last_seen_at=stale)
    assert is_logged_in(client)
    assert as_utc(rows(world.eng_a)[0].last_seen_at) > utcnow() - timedelta(seconds=30)


def test_strong_protection_drops_a_cookie_from_another_browser_and_ends_it(app, world):
    owner = logged_in(app, world.eng_a, FIREFOX)
    thief = replay(app, session_cookie(owner), CHROME)
    assert not is_logged_in(thief)
    assert rows(world.eng_a)[0].end_reason == "protection"
    assert not is_logged_in(owner)  # the key is known to be out: it works for no one now


def test_bearer_tokens_are_not_sessions(app, world, make):
    token = make.token(world.eng_a)
    client = logged_in(app, world.eng_a)
    client.post("/logout")
    response = client.get("/api/v1/facilities", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
