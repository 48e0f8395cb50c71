"""The login throttle under concurrent requests, and logins that take as long whether the
e-mail exists or not."""

from __future__ import annotations

import contextlib
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select, update
from werkzeug.serving import make_server

import accounts.services
from accounts.models import LoginAttempt, User
from core.extensions import db
from tests.conftest import PASSWORD, login

PARALLEL = 40


@contextlib.contextmanager
def live_server(app):
    """The app served by werkzeug's threaded server on a free port: one thread per request,
    each with its own app context and database connection, as under gunicorn's workers."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)


class CountingChecks:
    """Wraps accounts.services.check_password_hash to count the passwords really checked."""

    def __init__(self, monkeypatch):
        self.calls = 0
        self.hashes: list[str] = []
        self._lock = threading.Lock()
        self._real = accounts.services.check_password_hash
        monkeypatch.setattr(accounts.services, "check_password_hash", self)

    def __call__(self, pwhash: str, password: str) -> bool:
        with self._lock:
            self.calls += 1
            self.hashes.append(pwhash)
        return self._real(pwhash, password)


def _post(url: str, body: bytes, content_type: str) -> int:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


def _burst(url: str, body: bytes, content_type: str) -> list[int]:
    """PARALLEL requests released at the same moment."""
    start = threading.Barrier(PARALLEL)

    def one(_i):
        start.wait()
        return _post(url, body, content_type)

    with ThreadPoolExecutor(PARALLEL) as pool:
        return list(pool.map(one, range(PARALLEL)))


def _token_body(email: str, password: str) -> tuple[str, bytes, str]:
    body = json.dumps({"email": email, "password": password}).encode()
    return "/api/v1/auth/token", body, "application/json"


def _form_body(email: str, password: str) -> tuple[str, bytes, str]:
    body = urllib.parse.urlencode({"email": email, "password": password}).encode()
    return "/login", body, "application/x-www-form-urlencoded"


@pytest.mark.parametrize("endpoint", [_token_body, _form_body], ids=["api-token", "login-page"])
def test_concurrent_guesses_check_no_more_passwords_than_allowed(endpoint, app, world, monkeypatch):
    checks = CountingChecks(monkeypatch)
    path, body, content_type = endpoint(world.eng_a.email, "wrong-password")
    with live_server(app) as base:
        statuses = _burst(base + path, body, content_type)
    free = app.config["LOGIN_FREE_ATTEMPTS"]
    assert set(statuses) <= {401, 429}, statuses
    assert checks.calls == statuses.count(401)
    assert checks.calls <= free, f"{checks.calls} passwords checked of {PARALLEL} at once"
    # only the checked failures stay recorded; the refused attempts were not guesses
    assert db.session.execute(select(func.count()).select_from(LoginAttempt)).scalar() == (
        checks.calls
    )


def test_concurrent_guesses_of_one_address_are_throttled_across_e_mails(app, world, monkeypatch):
    checks = CountingChecks(monkeypatch)
    emails = [f"nobody{i}@example.kz" for i in range(PARALLEL)]
    start = threading.Barrier(PARALLEL)

    def one(email):
        start.wait()
        _path, body, content_type = _token_body(email, "wrong-password")
        return _post(base + "/api/v1/auth/token", body, content_type)

    with live_server(app) as base, ThreadPoolExecutor(PARALLEL) as pool:
        statuses = list(pool.map(one, emails))
    assert checks.calls == statuses.count(401) <= app.config["LOGIN_FREE_ATTEMPTS"]


def test_refused_attempts_do_not_extend_the_lock(client, world, app, monkeypatch):
    checks = CountingChecks(monkeypatch)
    for _ in range(app.config["LOGIN_FREE_ATTEMPTS"]):
        assert login(client, world.eng_a, "wrong-password").status_code == 401
    for _ in range(3):  # hammering while locked: refused without checking the password
        assert login(client, world.eng_a, PASSWORD).status_code == 429
    assert checks.calls == app.config["LOGIN_FREE_ATTEMPTS"]
    time.sleep(app.config["LOGIN_LOCK_SECONDS"] + 0.2)
    assert login(client, world.eng_a, PASSWORD).status_code == 302
    assert db.session.execute(select(func.count()).select_from(LoginAttempt)).scalar() == 0


def test_a_success_clears_the_failures_of_the_e_mail(client, world, app):
    for _ in range(app.config["LOGIN_FREE_ATTEMPTS"] - 1):
        assert login(client, world.eng_a, "wrong-password").status_code == 401
    assert login(client, world.eng_a, PASSWORD).status_code == 302
    client.post("/logout")
    for _ in range(app.config["LOGIN_FREE_ATTEMPTS"]):
        assert login(client, world.eng_a, "wrong-password").status_code == 401


# ---------------------------------------------------------------------------- timing


def _disable(user) -> None:
    db.session.execute(update(User).where(User.id == user.id).values(active=False))
    db.session.commit()


def test_unknown_and_disabled_e_mails_cost_one_hash_check_too(client, world, monkeypatch):
    checks = CountingChecks(monkeypatch)
    _disable(world.eng_b)
    assert login(client, "nobody@example.kz", "wrong-password").status_code == 401
    assert login(client, world.eng_b, PASSWORD).status_code == 401  # disabled: refused
    response = client.post(
        "/api/v1/auth/token", json={"email": "nobody@example.kz", "password": "x" * 12}
    )
    assert response.status_code == 401
    assert checks.calls == 3
    real = {world.eng_a.password_hash, world.eng_b.password_hash}
    assert not real & set(checks.hashes)  # a dummy, never the disabled user's own hash
    method = world.eng_a.password_hash.split("$")[0]  # "scrypt:32768:8:1": the same cost
    assert {h.split("$")[0] for h in checks.hashes} == {method}


def test_a_wrong_password_takes_as_long_for_any_e_mail(client, world, app, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_FREE_ATTEMPTS", 100)
    _disable(world.eng_b)
    login(client, "warm-up@example.kz", "wrong-password")  # the dummy hash is made once

    def fastest(email: str) -> float:
        times = []
        for _ in range(3):
            start = time.perf_counter()
            assert login(client, email, "wrong-password").status_code == 401
            times.append(time.perf_counter() - start)
        return min(times)

    existing = fastest(world.eng_a.email)
    unknown = fastest("nobody@example.kz")
    disabled = fastest(world.eng_b.email)
    # before: about 300 ms for an existing e-mail and 25 ms for the others
    assert unknown > existing * 0.5 and disabled > existing * 0.5, (existing, unknown, disabled)
