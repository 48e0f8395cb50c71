"""Shared fixtures: the app on a real database (SQLite by default, PostgreSQL when
TEST_DATABASE_URL is set), schema built by the real migrations, tables emptied between tests,
and a small two-organization world to test scoping against."""

from __future__ import annotations

import os
import sqlite3
import tempfile
from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import create_engine, event, inspect, text
from werkzeug.security import generate_password_hash

os.environ.setdefault("OPO_INSTANCE_PATH", tempfile.mkdtemp(prefix="opo-instance-"))

from accounts import services as account_services  # noqa: E402
from accounts.models import Organization, Region, Role, User  # noqa: E402
from accounts.services import issue_token  # noqa: E402
from core.audit import append_only_lifted  # noqa: E402
from core.extensions import db  # noqa: E402
from core.factory import create_app  # noqa: E402
from core.settings import normalise_database_url  # noqa: E402
from equipment.catalog import DeviceType  # noqa: E402
from equipment.models import Equipment, Facility  # noqa: E402
from equipment.services import refresh_curves  # noqa: E402
from tests.helpers.auth import PASSWORD, login  # noqa: E402
from tests.helpers.clients import IsolatedClient  # noqa: E402

KEEP_TABLES = {"regions", "alembic_version"}
# The passwords of the suite are hashed with scrypt at a low cost (N=2**10 instead of werkzeug's
# 2**15: a check takes ~1 ms instead of ~100 ms, and the suite checks thousands); the real hash,
# the dummy one for unknown e-mails included, is the same function at another cost. A test that
# measures what a check costs asks for the real one: @pytest.mark.real_password_cost.
TEST_PASSWORD_METHOD = "scrypt:1024:8:1"
REAL_HASH_PASSWORD = account_services.hash_password


def cheap_hash_password(password: str) -> str:
    return generate_password_hash(password, method=TEST_PASSWORD_METHOD)


account_services.hash_password = cheap_hash_password


@pytest.fixture(autouse=True)
def _password_cost(request, monkeypatch):
    if request.node.get_closest_marker("real_password_cost") is None:
        yield
        return
    monkeypatch.setattr(account_services, "hash_password", REAL_HASH_PASSWORD)
    account_services._dummy_hash.cache_clear()  # the dummy is made at the cost of this test
    yield
    account_services._dummy_hash.cache_clear()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    url = normalise_database_url(url)
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    except Exception as exc:  # pragma: no cover - depends on the machine
        pytest.exit(f"TEST_DATABASE_URL={url} is not reachable: {exc}", returncode=3)
    finally:
        engine.dispose()
    return url


@pytest.fixture(scope="session")
def app(database_url):
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": "test-secret",
            "WTF_CSRF_ENABLED": False,
            "LOGIN_DELAY_SECONDS": 2,
        }
    )
    app.test_client_class = IsolatedClient
    with app.app_context():
        from flask_migrate import upgrade

        event.listen(db.engine, "connect", _commit_without_flush)
        upgrade()
    yield app
    with app.app_context():  # the pool's connections closed, not left to the garbage collector
        db.session.remove()
        db.engine.dispose()


def _commit_without_flush(dbapi_connection, _record) -> None:
    """A commit returns before the database flushes it to disk (a test database need not
    survive a power cut): what transactions see and lock is unchanged, only the fsync goes."""
    cursor = dbapi_connection.cursor()
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor.execute("PRAGMA synchronous=OFF")
    else:
        cursor.execute("SET synchronous_commit TO off")
    cursor.close()
    if not isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.commit()  # psycopg opened a transaction for the SET


@pytest.fixture(autouse=True)
def _clean_tables(request):
    """Empty every table but the reference data after each test that used the database."""
    yield
    if "app" not in request.fixturenames:
        return
    app = request.getfixturevalue("app")
    with app.app_context():
        db.session.remove()
        engine = db.engine
        names = [t.name for t in db.metadata.sorted_tables if t.name not in KEEP_TABLES]
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                _empty_postgresql(conn, names)
            else:  # DELETE fires the audit trail's append-only triggers: lifted meanwhile
                with append_only_lifted(conn):
                    for name in reversed(names):
                        conn.execute(text(f"DELETE FROM {name}"))


_SEQUENCES: list[str] = []


def _empty_postgresql(conn, names: list[str]) -> None:
    """What TRUNCATE … RESTART IDENTITY did, at a fraction of its cost: a TRUNCATE of every
    table makes new files for each (~80 ms a test), a DELETE of the few rows a test made takes
    a millisecond or two. Children first; audit_events by TRUNCATE (its append-only trigger
    refuses DELETE, TRUNCATE fires no row trigger), and only when it has rows; then every
    sequence starts again at 1."""
    for name in reversed(names):
        if name != "audit_events":
            conn.execute(text(f"DELETE FROM {name}"))
        elif conn.execute(text("SELECT EXISTS (SELECT 1 FROM audit_events)")).scalar():
            conn.execute(text("TRUNCATE audit_events"))
    if not _SEQUENCES:
        _SEQUENCES.extend(
            conn.execute(
                text(
                    "SELECT pg_get_serial_sequence(quote_ident(table_name), column_name) "
                    "FROM information_schema.columns WHERE table_schema = current_schema() "
                    "AND table_name = ANY(:names) "
                    "AND (is_identity = 'YES' OR column_default LIKE 'nextval(%')"
                ),
                {"names": names},
            ).scalars()
        )
    conn.execute(
        text("SELECT setval(CAST(s AS regclass), 1, false) FROM unnest(CAST(:s AS text[])) s"),
        {"s": _SEQUENCES},
    )


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


_HASH: dict[object, str] = {}


def password_hash() -> str:
    """PASSWORD hashed once per cost (see TEST_PASSWORD_METHOD)."""
    hasher = account_services.hash_password
    if hasher not in _HASH:
        _HASH[hasher] = hasher(PASSWORD)
    return _HASH[hasher]


class Maker:
    """Creates rows directly (fast), committing each call."""

    def region(self, code: str) -> Region:
        return db.session.query(Region).filter_by(code=code).one()

    def org(self, name: str, bin_: str, region: str) -> Organization:
        org = Organization(name=name, bin=bin_, region_id=self.region(region).id)
        db.session.add(org)
        db.session.commit()
        return org

    def facility(self, org: Organization, code: str, region: str | None = None, **kw) -> Facility:
        region_id = self.region(region).id if region else org.region_id
        fac = Facility(
            organization_id=org.id,
            code=code,
            name=kw.pop("name", f"ОПО {code}"),
            region_id=region_id,
            **kw,
        )
        db.session.add(fac)
        db.session.commit()
        return fac

    def equipment(self, facility: Facility, inventory_no: str, **kw) -> Equipment:
        values = {
            "name": f"Котел {inventory_no}",
            "device_type": DeviceType.STEAM_BOILER,
            "commissioned_on": date(2000, 1, 1),
            "manufacture_year": 1999,
            "service_life_years": 20.0,
        }
        values.update(kw)
        item = Equipment(
            organization_id=facility.organization_id,
            facility_id=facility.id,
            inventory_no=inventory_no,
            **values,
        )
        db.session.add(item)
        db.session.flush()
        refresh_curves(db.session, [item.id], {})
        db.session.commit()
        db.session.refresh(item)
        return item

    def user(
        self, email: str, role: Role, org: Organization | None = None, region: str | None = None
    ) -> User:
        user = User(
            email=email,
            name=email.split("@")[0],
            role=role,
            password_hash=password_hash(),
            organization_id=org.id if org else None,
            region_id=self.region(region).id if region else None,
        )
        db.session.add(user)
        db.session.commit()
        return user

    def token(self, user: User) -> str:
        _t, plain = issue_token(db.session, user, "test")
        db.session.commit()
        return plain


@pytest.fixture
def make(ctx) -> Maker:
    return Maker()


@dataclass
class World:
    org_a: Organization
    org_b: Organization
    fac_a: Facility
    fac_a2: Facility
    fac_b: Facility
    item_a: Equipment
    item_a2: Equipment
    item_b: Equipment
    eng_a: User
    eng_b: User
    reg_pav: User
    reg_kar: User
    national: User
    admin: User


@pytest.fixture
def world(make) -> World:
    """Org A (Pavlodar) with a facility in Pavlodar and one in Karaganda; org B (Karaganda)."""
    org_a = make.org("ТОО «Альфа»", "040540526019", "PAV")
    org_b = make.org("АО «Бета»", "990240001237", "KAR")
    fac_a = make.facility(org_a, "A-01", name="Котельная Альфа")
    fac_a2 = make.facility(org_a, "A-02", region="KAR", name="Склад Альфа в Караганде")
    fac_b = make.facility(org_b, "B-01", name="Цех Бета")
    return World(
        org_a=org_a,
        org_b=org_b,
        fac_a=fac_a,
        fac_a2=fac_a2,
        fac_b=fac_b,
        item_a=make.equipment(fac_a, "A-INV-1", name="Котел ДЕ-25 Альфа"),
        item_a2=make.equipment(
            fac_a2, "A-INV-2", name="Резервуар Альфа", device_type=DeviceType.TANK
        ),
        item_b=make.equipment(
            fac_b, "B-INV-1", name="Кран мостовой Бета", device_type=DeviceType.CRANE
        ),
        eng_a=make.user("eng.a@example.kz", Role.ENGINEER, org_a),
        eng_b=make.user("eng.b@example.kz", Role.ENGINEER, org_b),
        reg_pav=make.user("reg.pav@example.kz", Role.REGULATOR, region="PAV"),
        reg_kar=make.user("reg.kar@example.kz", Role.REGULATOR, region="KAR"),
        national=make.user("national@example.kz", Role.REGULATOR),
        admin=make.user("admin@example.kz", Role.ADMIN),
    )


@pytest.fixture
def login_as(client):
    def _login(user):
        response = login(client, user)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return client

    return _login


def table_names(app) -> set[str]:
    with app.app_context():
        return set(inspect(db.engine).get_table_names())
