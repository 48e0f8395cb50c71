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
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from werkzeug.serving import make_server

import accounts.services
from accounts.models import LoginAttempt, User
from core.db import utcnow
from core.extensions import db
from tests.helpers.auth import PASSWORD, login

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
    monkeypatch.setitem(app.config, "LOGIN_ADDRESS_FREE_ACCOUNTS", 10)
    checks = CountingChecks(monkeypatch)
    emails = [f"nobody{i}@example.kz" for i in range(PARALLEL)]
    start = threading.Barrier(PARALLEL)

    def one(email):
        start.wait()
        _path, body, content_type = _token_body(email, "wrong-password")
        return _post(base + "/api/v1/auth/token", body, content_type)

    with live_server(app) as base, ThreadPoolExecutor(PARALLEL) as pool:
        statuses = list(pool.map(one, emails))
    assert checks.calls == statuses.count(401) <= 10, statuses


def _two_at_once(app, body: bytes, content_type: str) -> list[tuple[int, dict]]:
    start = threading.Barrier(2)

    def one(_i):
        start.wait()
        return _post_with_headers(base + "/api/v1/auth/token", body, content_type)

    with live_server(app) as base, ThreadPoolExecutor(2) as pool:
        return list(pool.map(one, range(2)))


def test_two_simultaneous_failures_count_as_two(app, world, monkeypatch):
    """A race on PostgreSQL: two connections fail a login of one pair at the same moment. Both
    failures are counted; and when the pair has one free attempt left, at most one of two
    simultaneous guesses is checked (both may be told to wait: they saw each other), so
    parallel requests do not get past the throttle."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("a race of two connections needs PostgreSQL (SQLite serialises writers)")
    checks = CountingChecks(monkeypatch)
    email, free = world.eng_a.email, app.config["LOGIN_FREE_ATTEMPTS"]
    _path, body, content_type = _token_body(email, "wrong-password")
    assert [status for status, _h in _two_at_once(app, body, content_type)] == [401, 401]
    assert _pair_failures(email, "127.0.0.1") == 2 and checks.calls == 2

    _failures(email, "127.0.0.1", free - 3, seconds_ago=5)  # free - 1 in all
    answers = _two_at_once(app, body, content_type)
    statuses = sorted(status for status, _headers in answers)
    assert statuses in ([401, 429], [429, 429]), answers
    assert checks.calls - 2 == statuses.count(401)
    for status, headers in answers:
        if status == 429:
            assert 1 <= int(headers["Retry-After"]) <= app.config["LOGIN_DELAY_SECONDS"]
    assert _pair_failures(email, "127.0.0.1") == free - 1 + statuses.count(401)


def test_refused_attempts_do_not_extend_the_delay(client, world, app, monkeypatch):
    checks = CountingChecks(monkeypatch)
    for _ in range(app.config["LOGIN_FREE_ATTEMPTS"]):
        assert login(client, world.eng_a, "wrong-password").status_code == 401
    for _ in range(3):  # hammering while delayed: refused without checking the password
        assert login(client, world.eng_a, PASSWORD).status_code == 429
    assert checks.calls == app.config["LOGIN_FREE_ATTEMPTS"]
    time.sleep(app.config["LOGIN_DELAY_SECONDS"] + 0.2)
    assert login(client, world.eng_a, PASSWORD).status_code == 302
    assert db.session.execute(select(func.count()).select_from(LoginAttempt)).scalar() == 0


def test_a_success_clears_the_failures_of_the_pair(client, world, app):
    for _ in range(app.config["LOGIN_FREE_ATTEMPTS"] - 1):
        assert login(client, world.eng_a, "wrong-password").status_code == 401
    assert login(client, world.eng_a, PASSWORD).status_code == 302
    client.post("/logout")
    for _ in range(app.config["LOGIN_FREE_ATTEMPTS"]):
        assert login(client, world.eng_a, "wrong-password").status_code == 401


# ---------------------------------------------------------------------------- who is delayed

GUESSER = "203.0.113.66"
VICTIM = "198.51.100.7"
OFFICE = "192.0.2.10"


def _from(client, address: str, email: str, password: str):
    return client.post(
        "/login", data={"email": email, "password": password}, environ_base={"REMOTE_ADDR": address}
    )


def _failures(email: str, ip: str, n: int, seconds_ago: float, every: float = 0) -> None:
    """n failed attempts already recorded, the latest ``seconds_ago``, ``every`` seconds apart
    (as a guesser that had been trying for a while would have left them)."""
    now = utcnow()
    db.session.add_all(
        LoginAttempt(email=email, ip=ip, at=now - timedelta(seconds=seconds_ago + i * every))
        for i in range(n)
    )
    db.session.commit()


def _pair_failures(email: str, ip: str) -> int:
    stmt = select(func.count()).where(LoginAttempt.email == email, LoginAttempt.ip == ip)
    return db.session.execute(stmt).scalar_one()


def _post_with_headers(url: str, body: bytes, content_type: str):
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers)


def test_the_victim_logs_in_from_elsewhere_while_the_guessers_address_waits(client, world, app):
    victim = world.eng_a.email
    statuses = [_from(client, GUESSER, victim, "wrong-password").status_code for _ in range(8)]
    assert statuses[:5] == [401] * 5 and 429 in statuses
    assert _from(client, GUESSER, victim, PASSWORD).status_code == 429  # even the right one
    assert _from(client, VICTIM, victim, PASSWORD).status_code == 302
    client.post("/logout")
    # the victim's success clears the victim's own failures, not the guesser's
    assert _from(client, GUESSER, victim, PASSWORD).status_code == 429


def test_one_wrong_attempt_a_minute_does_not_lock_the_account(client, world, app):
    # a guesser that tried once a minute for the last quarter of an hour
    _failures(world.eng_a.email, GUESSER, 15, seconds_ago=20, every=60)
    assert _from(client, GUESSER, world.eng_a.email, PASSWORD).status_code == 429
    assert _from(client, VICTIM, world.eng_a.email, PASSWORD).status_code == 302


def test_five_users_with_one_typo_each_at_one_address_are_not_locked(app, world):
    users = [world.eng_a, world.eng_b, world.reg_pav, world.reg_kar, world.national, world.admin]
    clients = [app.test_client() for _ in users]
    for client, user in zip(clients, users, strict=True):
        assert _from(client, OFFICE, user.email, "wrong-password").status_code == 401
    for client, user in zip(clients, users, strict=True):
        assert _from(client, OFFICE, user.email, PASSWORD).status_code == 302, user.email


def test_one_persons_many_typos_count_once_for_the_address(app, world, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_ADDRESS_FREE_ACCOUNTS", 3)
    _failures("clumsy@example.kz", OFFICE, 40, seconds_ago=1, every=1)
    assert _from(app.test_client(), OFFICE, world.eng_a.email, PASSWORD).status_code == 302


def test_many_accounts_failing_from_one_address_delay_that_address_only(app, world, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_ADDRESS_FREE_ACCOUNTS", 10)
    for i in range(10):
        _failures(f"sprayed{i}@example.kz", GUESSER, 1, seconds_ago=1)
    refused = _from(app.test_client(), GUESSER, world.eng_a.email, PASSWORD)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= app.config["LOGIN_DELAY_SECONDS"]
    assert _from(app.test_client(), VICTIM, world.eng_a.email, PASSWORD).status_code == 302


def test_the_delay_doubles_with_each_failure_up_to_the_cap(client, world, app):
    free, base = app.config["LOGIN_FREE_ATTEMPTS"], app.config["LOGIN_DELAY_SECONDS"]
    _failures(world.eng_a.email, GUESSER, free, seconds_ago=base + 1)
    assert _from(client, GUESSER, world.eng_a.email, "wrong-password").status_code == 401
    refused = _from(client, GUESSER, world.eng_a.email, PASSWORD)
    assert refused.status_code == 429
    # free + 1 failures: twice the first delay, counted from the failure just made
    assert 2 * base - 1 <= int(refused.headers["Retry-After"]) <= 2 * base
    _failures(world.eng_a.email, GUESSER, 30, seconds_ago=10)
    capped = _from(client, GUESSER, world.eng_a.email, PASSWORD)
    cap = app.config["LOGIN_MAX_DELAY_SECONDS"]
    assert cap - 11 <= int(capped.headers["Retry-After"]) <= cap


def test_every_429_says_when_to_retry(client, world, app):
    free = app.config["LOGIN_FREE_ATTEMPTS"]
    _failures(world.eng_a.email, "127.0.0.1", free, seconds_ago=0)
    page = login(client, world.eng_a, PASSWORD)
    api = client.post("/api/v1/auth/token", json={"email": world.eng_a.email, "password": PASSWORD})
    for response in (page, api):
        assert response.status_code == 429
        assert 1 <= int(response.headers["Retry-After"]) <= app.config["LOGIN_DELAY_SECONDS"]
    assert "Слишком много неудачных попыток" in page.get_data(as_text=True)
    assert api.get_json()["code"] == 429
    assert "Повторите через" in api.get_json()["message"]


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


@pytest.mark.real_password_cost
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
