"""PROXY_FIX_X_FOR: behind trusted reverse proxies the client's address comes from
X-Forwarded-For (login throttle, sessions); without it the header is ignored."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.middleware.proxy_fix import ProxyFix

from accounts.models import LoginAttempt, UserSession
from core.extensions import db
from core.factory import create_app
from core.settings import load_settings
from tests.helpers.auth import PASSWORD
from tests.helpers.clients import IsolatedClient

CLIENT = "203.0.113.7"


@pytest.fixture(scope="module")
def proxied_app(app):
    """The app as configured behind one reverse proxy (same database as ``app``)."""
    proxied = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "SECRET_KEY": "test-secret",
            "WTF_CSRF_ENABLED": False,
            "PROXY_FIX_X_FOR": 1,
        }
    )
    proxied.test_client_class = IsolatedClient
    return proxied


def _login(client, email: str, password: str, forwarded_for: str):
    return client.post(
        "/login",
        data={"email": email, "password": password},
        headers={"X-Forwarded-For": forwarded_for, "X-Forwarded-Proto": "https"},
    )


def _attempt_ips() -> set[str]:
    return set(db.session.execute(select(LoginAttempt.ip)).scalars())


def test_behind_a_trusted_proxy_the_client_address_is_the_forwarded_one(proxied_app, world):
    assert isinstance(proxied_app.wsgi_app, ProxyFix)
    assert (proxied_app.wsgi_app.x_for, proxied_app.wsgi_app.x_proto) == (1, 1)
    client = proxied_app.test_client()
    # the proxy appends the address it saw; anything the client put before it is not trusted
    forwarded = f"198.51.100.66, {CLIENT}"
    assert _login(client, world.eng_a.email, "wrong-password", forwarded).status_code == 401
    assert _attempt_ips() == {CLIENT}
    assert _login(client, world.eng_a.email, PASSWORD, CLIENT).status_code == 302
    row = db.session.execute(select(UserSession)).scalar_one()
    assert row.ip == CLIENT


def test_one_persons_failures_do_not_lock_out_the_others_behind_the_proxy(proxied_app, world, app):
    client = proxied_app.test_client()
    for _ in range(app.config["LOGIN_FREE_ATTEMPTS"] + 2):
        _login(client, "guesser@example.kz", "wrong-password", "198.51.100.1")
    assert _login(client, world.eng_a.email, PASSWORD, CLIENT).status_code == 302


def test_without_trusted_proxies_the_header_is_ignored(client, world, app):
    assert not isinstance(app.wsgi_app, ProxyFix) and app.config["PROXY_FIX_X_FOR"] == 0
    assert _login(client, world.eng_a.email, "wrong-password", CLIENT).status_code == 401
    assert _attempt_ips() == {"127.0.0.1"}


def test_the_setting_comes_from_the_environment_as_a_number(monkeypatch, tmp_path):
    monkeypatch.setenv("PROXY_FIX_X_FOR", "2")
    bare = Flask("settings_probe", instance_path=str(tmp_path))
    load_settings(bare, {"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert bare.config["PROXY_FIX_X_FOR"] == 2
