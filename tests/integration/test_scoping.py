"""Nobody sees what is not theirs: every page and every API route, for every role.

The routes are enumerated from ``app.url_map``: a route that takes an id must be listed in
``OBJECT_ROUTES`` (and is then attacked from another organization, read by every role and
changed by the regulators), and every other route must be classified below, so a new route
without a scope check cannot slip in unnoticed.

World (tests/conftest.py): org A (Pavlodar) has A-01 in Pavlodar and A-02 in Karaganda, org B
(Karaganda) has B-01. Regulators see facilities and equipment by the FACILITY's region.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from accounts import sessions
from accounts.models import ApiToken, Organization, Role, User
from core import clock
from core.db import utcnow
from core.extensions import db
from core.jobs import queue
from core.jobs.models import Job, JobStatus
from equipment.catalog import EquipmentStatus
from equipment.imports.batches import commit_batch, preview_batch
from equipment.imports.models import ImportBatch
from equipment.imports.planner import ImportOptions
from equipment.models import Equipment, Facility
from tests.helpers.actors import Actor
from tests.helpers.db_state import changed_tables, db_state

YESTERDAY = (clock.today() - timedelta(days=1)).isoformat()
NEXT_YEAR = (clock.today() + timedelta(days=365)).isoformat()
FORGED = "Подменённое имя"
MISSING_ID = 987_654  # an id no row has (and that fits every integer column)


# ---------------------------------------------------------------------------- targets


@dataclass(frozen=True)
class Target:
    """One object of each kind a route can address, plus what a valid change of it needs."""

    key: str
    ids: dict[str, int]  # route argument name -> id
    objects: dict[str, str]  # route argument name -> object name (for the visibility table)
    inventory_no: str = ""
    device_type: str = ""
    fac_id: int = 0
    fac_code: str = ""
    region_id: int = 0
    org_id: int = 0
    names: tuple[str, ...] = ()  # names that must not leak to someone who cannot see them


def _xlsx(rows: list[list]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _batch(org: Organization, actor: User, fac_code: str, inventory_no: str, filename: str):
    data = _xlsx(
        [
            ["Код ОПО", "Инвентарный номер", "Наименование", "Вид устройства"],
            [fac_code, inventory_no, "Сосуд из файла", "сосуд под давлением"],
        ]
    )
    batch, _plan = preview_batch(db.session, actor, org, data, filename, ImportOptions())
    db.session.commit()
    return batch


def _committed_batch(org: Organization, actor: User, item, filename: str) -> int:
    """A loaded batch that left the registry as it was (its one row is the item as it is),
    for the routes that undo a loaded batch."""
    data = _xlsx(
        [
            ["Код ОПО", "Инвентарный номер", "Наименование"],
            [item.facility.code, item.inventory_no, item.name],
        ]
    )
    batch, _plan = preview_batch(db.session, actor, org, data, filename, ImportOptions())
    commit_batch(db.session, actor, batch, ImportOptions(), {})
    db.session.commit()
    return batch.id


def _token_id(make, user: User) -> int:
    make.token(user)
    return db.session.execute(
        select(func.max(ApiToken.id)).where(ApiToken.user_id == user.id)
    ).scalar_one()


def _session_id(user: User) -> int:
    """A login session of the user (besides the one their Actor logs in with)."""
    row, _key = sessions.start_session(db.session, user, "127.0.0.1", "another browser")
    db.session.commit()
    return row.id


def _job_id(user: User) -> int:
    """A finished background job of the user, with its file (an export of theirs)."""
    job = Job(kind="equipment.export", requested_by_id=user.id, status=JobStatus.DONE)
    db.session.add(job)
    db.session.flush()
    path = queue.results_root() / str(job.id) / "1" / "export.xlsx"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_xlsx([["Инвентарный номер"], [user.email]]))
    job.result_path = str(path.relative_to(queue.results_root()))
    job.result_name, job.result_size = "реестр.xlsx", path.stat().st_size
    job.result_content_type, job.finished_at = "application/octet-stream", utcnow()
    db.session.commit()
    return job.id


ARGS = (
    *("item_id", "facility_id", "org_id", "batch_id", "token_id", "session_id", "user_id"),
    "job_id",
    "committed_batch_id",
)


def object_name(arg: str, key: str) -> str:
    """The name (in VISIBLE) of the object a route argument addresses in target ``key``."""
    kind = {"item_id": "item", "facility_id": "fac"}.get(arg)
    if kind:
        return f"{kind}_{key}"
    return f"{arg.removesuffix('_id')}_{key[0]}"  # org, batch, token, session, user: one per org


@pytest.fixture
def targets(world, make) -> dict[str, Target]:
    batch_a = _batch(world.org_a, world.eng_a, "A-01", "A-FILE-1", "список-Альфа.xlsx")
    batch_b = _batch(world.org_b, world.eng_b, "B-01", "B-FILE-1", "список-Бета.xlsx")
    token_a, token_b = _token_id(make, world.eng_a), _token_id(make, world.eng_b)
    session_a, session_b = _session_id(world.eng_a), _session_id(world.eng_b)
    job_a, job_b = _job_id(world.eng_a), _job_id(world.eng_b)
    loaded = {
        world.org_a.id: _committed_batch(
            world.org_a, world.eng_a, world.item_a, "загружен-Альфа.xlsx"
        ),
        world.org_b.id: _committed_batch(
            world.org_b, world.eng_b, world.item_b, "загружен-Бета.xlsx"
        ),
    }

    def target(key, item, fac, org, batch, token_id, session_id, user, job_id):
        return Target(
            key=key,
            ids={
                "item_id": item.id,
                "facility_id": fac.id,
                "org_id": org.id,
                "batch_id": batch.id,
                "token_id": token_id,
                "session_id": session_id,
                "user_id": user.id,
                "job_id": job_id,
                "committed_batch_id": loaded[org.id],
            },
            objects={arg: object_name(arg, key) for arg in ARGS},
            inventory_no=item.inventory_no,
            device_type=item.device_type.value,
            fac_id=fac.id,
            fac_code=fac.code,
            region_id=fac.region_id,
            org_id=org.id,
            names=(item.name, fac.name),
        )

    return {
        "A": target(
            "A",
            *(world.item_a, world.fac_a, world.org_a, batch_a, token_a, session_a, world.eng_a),
            job_a,
        ),
        "A2": target(
            "A2",
            *(world.item_a2, world.fac_a2, world.org_a, batch_a, token_a, session_a, world.eng_a),
            job_a,
        ),
        "B": target(
            "B",
            *(world.item_b, world.fac_b, world.org_b, batch_b, token_b, session_b, world.eng_b),
            job_b,
        ),
        "missing": Target(
            key="missing",
            ids=dict.fromkeys(ARGS, MISSING_ID),
            objects={},
            inventory_no="NO-SUCH",
            device_type="tank",
            fac_id=MISSING_ID,
            fac_code="NO-SUCH",
            region_id=1,
            org_id=MISSING_ID,
        ),
    }


# Who sees which object. Regulators: facilities and equipment by the facility's region;
# organizations registered in the region or operating a facility there; import batches (a
# whole organization's list, across regions): none but the national regulator.
EVERYTHING = {
    *("item_A", "fac_A", "item_A2", "fac_A2", "item_B", "fac_B"),
    *("org_A", "org_B", "batch_A", "batch_B"),
}
VISIBLE = {
    "eng_a": {"item_A", "fac_A", "item_A2", "fac_A2", "org_A", "batch_A", "token_A", "session_A"},
    "eng_b": {"item_B", "fac_B", "org_B", "batch_B", "token_B", "session_B"},
    "reg_pav": {"item_A", "fac_A", "org_A"},
    "reg_kar": {"item_A2", "fac_A2", "item_B", "fac_B", "org_A", "org_B"},
    "national": EVERYTHING,
    "admin": EVERYTHING,
}


# ---------------------------------------------------------------------------- routes


def _equipment_form(t: Target) -> dict:
    return {
        "facility_id": str(t.fac_id),
        "inventory_no": t.inventory_no,
        "name": FORGED,
        "device_type": t.device_type,
        "manufacture_year": "1999",
        "commissioned_on": "2000-01-01",
        "service_life_years": "25",
        "service_life_source": "norm",
        "status": "in_service",
    }


def _facility_form(t: Target) -> dict:
    return {
        "organization_id": str(t.org_id),
        "code": t.fac_code,
        "name": FORGED,
        "region_id": str(t.region_id),
        "sector": "other",
        "hazard_class": "",
        "status": "operating",
    }


def _assessment_form(t: Target) -> dict:
    return {"assessed_on": YESTERDAY, "wear_pct": "55", "method": "expert", "condition": ""}


def _inspection_form(t: Target) -> dict:
    return {
        "kind": "examination",
        "done_on": YESTERDAY,
        "result": "passed",
        "next_due_on": NEXT_YEAR,
    }


def _rename(t: Target) -> dict:
    return {"name": FORGED}


def _assessment_json(t: Target) -> dict:
    return {"assessed_on": YESTERDAY, "wear_pct": 55, "method": "expert"}


def _inspection_json(t: Target) -> dict:
    return {"kind": "examination", "done_on": YESTERDAY, "result": "passed"}


def _mapping_form(t: Target) -> dict:
    return {"col:Наименование": "name", "col:Инвентарный номер": "inventory_no"}


def _user_form(t: Target) -> dict:
    """The admin's user form for the target's engineer, renamed."""
    user = db.session.get(User, t.ids["user_id"]) if t.ids["user_id"] < 2**31 else None
    org = user.organization if user else None
    return {
        "email": user.email if user else "nobody@example.kz",
        "name": FORGED,
        "role": "engineer",
        "org": org.bin if org else "",
        "region": "",
    }


def _organization_form(t: Target) -> dict:
    """The admin's organization form for the target's organization, renamed."""
    org = db.session.get(Organization, t.ids["org_id"]) if t.ids["org_id"] < 2**31 else None
    return {
        "name": FORGED,
        "bin": org.bin if org else "",
        "region": org.region.code if org else "",
        "address": "",
        "phone": "",
        "email": "",
    }


def _confirmed(t: Target) -> dict:
    return {"confirm": "1"}


def _generated_password(t: Target) -> dict:
    return {"password_mode": "generate"}


@dataclass(frozen=True)
class Route:
    method: str
    rule: str
    body: Callable[[Target], dict] | None = None
    change: bool = False  # changes something (a form to change something counts too)
    registry: bool = True  # registry data (regulators may read it; False: owner only)
    ok: int | None = None  # the owner's success status, when not the usual one
    # the target's id the rule's argument takes, when not the argument's own (a batch that
    # was loaded, for the routes that revert one)
    id_key: str | None = None

    @property
    def api(self) -> bool:
        return self.rule.startswith("/api/")

    @property
    def arg(self) -> str:
        return re.search(r"<(?:\w+:)?(\w+)>", self.rule).group(1)

    def url(self, target: Target) -> str:
        return re.sub(
            r"<(?:\w+:)?(\w+)>",
            lambda m: str(target.ids[self.id_key or m.group(1)]),
            self.rule,
        )

    @property
    def success(self) -> int:
        if self.ok:
            return self.ok
        if self.method == "GET":
            return 200
        if not self.api:
            return 302
        return 201 if self.method == "POST" else 200

    def __str__(self) -> str:
        return f"{self.method} {self.rule}"


OBJECT_ROUTES = [
    # pages
    Route("GET", "/equipment/<int:item_id>"),
    Route("GET", "/equipment/<int:item_id>/edit", change=True),
    Route("POST", "/equipment/<int:item_id>/edit", _equipment_form, change=True),
    Route("GET", "/equipment/<int:item_id>/assessments/new", change=True),
    Route("POST", "/equipment/<int:item_id>/assessments/new", _assessment_form, change=True),
    Route("GET", "/equipment/<int:item_id>/inspections/new", change=True),
    Route("POST", "/equipment/<int:item_id>/inspections/new", _inspection_form, change=True),
    Route("GET", "/facilities/<int:facility_id>/edit", change=True),
    Route("POST", "/facilities/<int:facility_id>/edit", _facility_form, change=True),
    Route("GET", "/imports/<int:batch_id>"),
    Route("GET", "/imports/<int:batch_id>/file"),
    Route("GET", "/imports/<int:batch_id>/errors.xlsx"),
    Route("POST", "/imports/<int:batch_id>/commit", change=True),
    Route("POST", "/imports/<int:batch_id>/mapping", _mapping_form, change=True),
    Route("POST", "/imports/<int:batch_id>/discard", _confirmed, change=True),
    Route(
        "POST",
        "/imports/<int:batch_id>/revert",
        _confirmed,
        change=True,
        id_key="committed_batch_id",
    ),
    Route("POST", "/profile/tokens/<int:token_id>/revoke", change=True, registry=False),
    Route("POST", "/profile/sessions/<int:session_id>/end", change=True, registry=False),
    # background jobs and their files: the asker's (and administrators'), nobody else's
    Route("GET", "/jobs/<int:job_id>", registry=False),
    Route("GET", "/jobs/<int:job_id>/file", registry=False),
    Route("GET", "/api/v1/jobs/<int:job_id>", registry=False),
    Route("GET", "/api/v1/jobs/<int:job_id>/file", registry=False),
    # API
    Route("GET", "/api/v1/facilities/<int:facility_id>"),
    Route("PATCH", "/api/v1/facilities/<int:facility_id>", _rename, change=True),
    Route("GET", "/api/v1/equipment/<int:item_id>"),
    Route("PATCH", "/api/v1/equipment/<int:item_id>", _rename, change=True),
    Route("GET", "/api/v1/equipment/<int:item_id>/assessments"),
    Route("POST", "/api/v1/equipment/<int:item_id>/assessments", _assessment_json, change=True),
    Route("GET", "/api/v1/equipment/<int:item_id>/inspections"),
    Route("POST", "/api/v1/equipment/<int:item_id>/inspections", _inspection_json, change=True),
    Route("GET", "/api/v1/organizations/<int:org_id>"),
    Route("GET", "/organizations/<int:org_id>"),
    Route("GET", "/api/v1/imports/<int:batch_id>"),
    Route("POST", "/api/v1/imports/<int:batch_id>/commit", change=True, ok=200),
    Route("POST", "/api/v1/imports/<int:batch_id>/discard", change=True, ok=200),
    Route(
        "POST",
        "/api/v1/imports/<int:batch_id>/revert",
        change=True,
        ok=200,
        id_key="committed_batch_id",
    ),
]
# Routes with an id for administrators only: anyone else gets 404 and changes nothing.
ADMIN_OBJECT_ROUTES = [
    Route("POST", "/users/<int:user_id>/deactivate", change=True, registry=False),
    Route("POST", "/users/<int:user_id>/activate", change=True, registry=False),
    Route("GET", "/users/<int:user_id>/edit", change=True, registry=False),
    Route("POST", "/users/<int:user_id>/edit", _user_form, change=True, registry=False),
    Route(
        "POST",
        "/users/<int:user_id>/password",
        _generated_password,
        change=True,
        registry=False,
        ok=200,  # the generated password, shown once
    ),
    Route("GET", "/organizations/<int:org_id>/edit", change=True, registry=False),
    Route(
        "POST", "/organizations/<int:org_id>/edit", _organization_form, change=True, registry=False
    ),
    Route("GET", "/api/v1/users/<int:user_id>", registry=False),
    Route("PATCH", "/api/v1/users/<int:user_id>", _rename, change=True, registry=False),
    Route("PATCH", "/api/v1/organizations/<int:org_id>", _rename, change=True, registry=False),
]
READS = [r for r in OBJECT_ROUTES if not r.change and r.registry]
CHANGES = [r for r in OBJECT_ROUTES if r.change and r.registry]

# Routes without an id, each tested below for what it shows or lets create.
LIST_ROUTES = {
    ("GET", "/"),
    ("GET", "/equipment"),
    ("GET", "/equipment/export.xlsx"),
    ("GET", "/equipment/deadlines"),  # test_deadlines_page_shows_exactly_what_is_in_scope
    ("GET", "/facilities"),
    ("GET", "/imports"),
    ("GET", "/users"),  # admins only (ADMIN_ROUTES)
    ("GET", "/organizations"),
    ("GET", "/api/v1/equipment"),
    ("GET", "/api/v1/facilities"),
    ("GET", "/api/v1/organizations"),
    ("GET", "/api/v1/imports"),
    ("GET", "/api/v1/users"),
    ("GET", "/jobs"),  # the user's own background jobs (tests/integration/test_jobs.py)
    ("GET", "/api/v1/jobs"),
}
CREATE_ROUTES = {
    ("GET", "/equipment/new"),
    ("POST", "/equipment/new"),
    ("GET", "/facilities/new"),
    ("POST", "/facilities/new"),
    ("POST", "/imports"),
    ("POST", "/api/v1/equipment"),
    ("POST", "/api/v1/facilities"),
    ("POST", "/api/v1/imports"),
    ("POST", "/api/v1/equipment/exports"),  # a job exporting the caller's scope
    ("POST", "/api/v1/users"),
    # admins only (ADMIN_ROUTES)
    ("GET", "/users/new"),
    ("POST", "/users/new"),
    ("GET", "/organizations/new"),
    ("POST", "/organizations/new"),
    ("POST", "/api/v1/organizations"),
}
# Routes that show nothing of any organization, with the reason.
UNSCOPED = {
    ("GET", "/login"): "the login form",
    ("POST", "/login"): "logging in",
    ("POST", "/logout"): "logging out",
    ("GET", "/profile"): "the user's own tokens only",
    ("POST", "/profile"): "issues a token to oneself",
    ("POST", "/profile/password"): "changes one's own password",
    ("POST", "/profile/sessions/end-others"): "ends one's own other sessions",
    ("GET", "/healthz"): "health check",
    ("GET", "/imports/template.xlsx"): "an empty template",
    ("GET", "/api/openapi.json"): "the API description",
    ("POST", "/api/v1/auth/token"): "exchanges one's own password for a token",
    ("GET", "/api/v1/regions"): "public reference data",
}


def _app_routes(app) -> set[tuple[str, str]]:
    return {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def test_every_route_with_an_id_is_attacked(app):
    with_id = {(m, r) for m, r in _app_routes(app) if "<" in r}
    assert with_id == {(r.method, r.rule) for r in OBJECT_ROUTES + ADMIN_OBJECT_ROUTES}


@pytest.mark.parametrize("route", ADMIN_OBJECT_ROUTES, ids=str)
def test_admin_routes_answer_everyone_else_404(route, targets, actor):
    for user in ("eng_a", "eng_b", "reg_pav", "national"):
        who = actor(user)
        before = db_state()
        for key in ("A", "B", "missing"):
            response = who.call(route, targets[key])
            assert response.status_code == 404, (user, key)
        assert changed_tables(before, db_state()) == [], user
    admin = actor("admin")
    before = db_state()
    response = admin.call(route, targets["B"])
    assert response.status_code == route.success, _html(response)[-1500:]
    if route.method != "GET" and not route.rule.endswith("/activate"):  # (already active)
        assert changed_tables(before, db_state()), f"{route} changed nothing"
    assert admin.call(route, targets["missing"]).status_code == 404
    before = db_state()
    for value in NO_ROW_IDS:
        response = admin.open(
            route.url(Target("none", dict.fromkeys(ARGS, value), {})), route.method
        )
        assert response.status_code == 404, value
    assert changed_tables(before, db_state()) == []


def test_every_other_route_is_classified(app):
    without_id = {(m, r) for m, r in _app_routes(app) if "<" not in r}
    classified = LIST_ROUTES | CREATE_ROUTES | set(UNSCOPED)
    assert without_id - classified == set(), "classify the new routes in this module"
    assert classified - without_id == set(), "these routes are gone; update this module"


# ---------------------------------------------------------------------------- helpers


@pytest.fixture
def actor(app, make, world):
    cache: dict[str, Actor] = {}

    def _actor(name: str | None) -> Actor:
        key = name or "anonymous"
        if key not in cache:
            cache[key] = Actor(app, make, getattr(world, name) if name else None)
        return cache[key]

    return _actor


def _html(response) -> str:
    return response.get_data(as_text=True)


def assert_not_found(response, route: Route, target: Target) -> None:
    assert response.status_code == 404, f"{route}: {response.status_code}"
    if route.api:
        assert response.get_json()["code"] == 404
    else:
        page = _html(response)
        for name in target.names:
            assert name not in page


# ---------------------------------------------------------------------------- object routes


@pytest.mark.parametrize("route", OBJECT_ROUTES, ids=str)
def test_the_owner_can_use_every_route(route, targets, actor):
    """Control: the very requests the attacks below send do work for the owner."""
    owner = actor("eng_a")
    before = db_state()
    response = owner.call(route, targets["A"])
    assert response.status_code == route.success, _html(response)[-1500:]
    if route.method != "GET":
        assert changed_tables(before, db_state()), f"{route} changed nothing"


@pytest.mark.parametrize("attacker,victim", [("eng_b", "A"), ("eng_a", "B")])
@pytest.mark.parametrize("route", OBJECT_ROUTES, ids=str)
def test_another_organization_gets_404_and_changes_nothing(route, attacker, victim, targets, actor):
    who = actor(attacker)
    before = db_state()
    response = who.call(route, targets[victim])
    assert_not_found(response, route, targets[victim])
    assert changed_tables(before, db_state()) == []


def _normalised(page: str, url: str) -> str:
    """The page without what differs by design: the CSRF token and links to itself."""
    return re.sub(r'name="csrf_token" value="[^"]*"', "", page).replace(url, "URL")


@pytest.mark.parametrize("route", OBJECT_ROUTES, ids=str)
def test_an_existing_id_of_another_organization_looks_like_a_missing_one(route, targets, actor):
    who = actor("eng_b")
    theirs = who.call(route, targets["A"])
    missing = who.call(route, targets["missing"])
    assert theirs.status_code == missing.status_code == 404
    if route.api:
        assert theirs.get_json() == missing.get_json()
    else:
        assert _normalised(_html(theirs), route.url(targets["A"])) == _normalised(
            _html(missing), route.url(targets["missing"])
        )


USERS = ("eng_a", "eng_b", "reg_pav", "reg_kar", "national", "admin")


@pytest.mark.parametrize("user", USERS)
@pytest.mark.parametrize("route", READS, ids=str)
def test_each_role_reads_exactly_what_is_in_its_scope(route, user, targets, actor):
    who = actor(user)
    got, want = {}, {}
    for key in ("A", "A2", "B"):
        obj = targets[key].objects[route.arg]
        got[obj] = who.call(route, targets[key]).status_code
        want[obj] = 200 if obj in VISIBLE[user] else 404
    assert got == want


REGULATOR_TARGETS = [(r, k) for r in ("reg_pav", "reg_kar") for k in ("A", "A2", "B")]
REGULATOR_TARGETS.append(("national", "B"))


def _regulator_targets(route: Route, visible: bool) -> list[tuple[str, str]]:
    return [
        (regulator, key)
        for regulator, key in REGULATOR_TARGETS
        if (object_name(route.arg, key) in VISIBLE[regulator]) == visible
    ]


def _answer(response, route: Route, target: Target, leak: bool = True) -> int | str:
    """The status, or what went wrong besides it (a non-JSON API error, a leaked name)."""
    if route.api and (response.get_json() or {}).get("code") != response.status_code:
        return f"{response.status_code} without a JSON error"
    if leak and not route.api and any(name in _html(response) for name in target.names):
        return f"{response.status_code} showing the object"
    return response.status_code


@pytest.mark.parametrize("route", CHANGES, ids=str)
def test_regulators_cannot_change_what_they_see(route, targets, actor):
    answers = {}
    for regulator, key in _regulator_targets(route, visible=True):
        who = actor(regulator)
        before = db_state()
        answer = _answer(who.call(route, targets[key]), route, targets[key], leak=False)
        answers[regulator, key] = (answer, tuple(changed_tables(before, db_state())))
    assert answers and set(answers.values()) == {(403, ())}, answers


@pytest.mark.parametrize("route", CHANGES, ids=str)
def test_regulators_change_nothing_they_cannot_see(route, targets, actor):
    # The lookup comes first everywhere: what one cannot see is 404, as a missing id.
    expected = 404
    answers = {}
    for regulator, key in _regulator_targets(route, visible=False):
        who = actor(regulator)
        before = db_state()
        answer = _answer(who.call(route, targets[key]), route, targets[key])
        answers[regulator, key] = (answer, tuple(changed_tables(before, db_state())))
    assert answers and set(answers.values()) == {(expected, ())}, answers


def test_registry_forms_answer_regulators_404_for_what_they_cannot_see(targets, actor):
    statuses = {}
    for route in CHANGES:
        if not route.api:
            for regulator, key in _regulator_targets(route, visible=False):
                response = actor(regulator).call(route, targets[key])
                statuses[f"{regulator} {route} {key}"] = response.status_code
    assert statuses and set(statuses.values()) == {404}, statuses


# Ids no row can have: 0, the first beyond PostgreSQL's INTEGER, the first beyond SQLite's
# 64-bit integers (Python's sqlite3 overflows on it) and far beyond.
NO_ROW_IDS = (0, 2**31, 2**63, 10**20)


@pytest.mark.parametrize("user", ["eng_a", "reg_pav", "admin"])
@pytest.mark.parametrize("route", OBJECT_ROUTES, ids=str)
def test_ids_no_row_can_have_answer_404_on_every_route(route, user, targets, actor):
    who = actor(user)
    before = db_state()
    answers = {}
    for value in NO_ROW_IDS:
        target = Target(
            key="none",
            ids=dict.fromkeys(ARGS, value),
            objects={},
            inventory_no="NO-SUCH",
            device_type="tank",
            fac_id=targets["A"].fac_id,
            fac_code="NO-SUCH",
            region_id=targets["A"].region_id,
            org_id=targets["A"].org_id,
        )
        answers[value] = _answer(who.call(route, target), route, target)
    assert set(answers.values()) == {404}, answers
    assert changed_tables(before, db_state()) == []


BAD_CHANGE_BODIES = [{}, {"name": ""}, {"facility_id": "x", "wear_pct": 1e9, "kind": None}]


@pytest.mark.parametrize("body", BAD_CHANGE_BODIES)
@pytest.mark.parametrize("route", [r for r in CHANGES if r.api and r.body], ids=str)
def test_api_changes_answer_404_or_403_whatever_the_body(route, body, targets, actor):
    """Visibility and the right to change are checked before the body: the answer to a
    regulator or to another organization never depends on what they send."""
    callers = [*REGULATOR_TARGETS, ("eng_b", "A"), ("eng_a", "B")]
    for who, _key in callers:
        actor(who)  # log in (and issue the token) before taking the snapshot
    before = db_state()
    answers, expected = {}, {}
    for who, key in callers:
        response = actor(who).open(route.url(targets[key]), route.method, json=body)
        answers[who, key] = _answer(response, route, targets[key])
        expected[who, key] = 403 if object_name(route.arg, key) in VISIBLE[who] else 404
    assert answers == expected
    assert changed_tables(before, db_state()) == []


@pytest.mark.parametrize("body", [{}, {"code": ""}, {"facility_id": "x", "region_id": 10**20}])
@pytest.mark.parametrize("url", ["/api/v1/equipment", "/api/v1/facilities"])
@pytest.mark.parametrize("regulator", ["reg_pav", "national"])
def test_regulators_cannot_create_whatever_the_body(regulator, url, body, world, actor):
    who = actor(regulator)
    before = db_state()
    response = who.post(url, json=body)
    assert response.status_code == 403 and response.get_json()["code"] == 403
    assert changed_tables(before, db_state()) == []


@pytest.mark.parametrize("value", ["²", "x", "-1", str(2**63), "0"])
def test_the_new_equipment_form_ignores_a_bad_facility_preselection(value, world, actor):
    response = actor("eng_a").get(f"/equipment/new?facility_id={value}")
    assert response.status_code == 200
    assert "Котельная Альфа" in _html(response)


def test_the_facility_form_refuses_an_unknown_region(world, actor):
    form = {
        "code": "A-03",
        "name": "Новый ОПО Альфа",
        "region_id": "987654",
        "sector": "other",
        "hazard_class": "",
        "status": "operating",
    }
    who = actor("eng_a")
    before = db_state()
    for region in ("987654", str(2**63), "x"):
        response = who.post("/facilities/new", data={**form, "region_id": region})
        assert response.status_code == 400, region
        assert 'id="region_id-error"' in _html(response)
    edit = who.post(f"/facilities/{world.fac_a.id}/edit", data={**form, "code": "A-01"})
    assert edit.status_code == 400
    assert changed_tables(before, db_state()) == []


@pytest.mark.parametrize("route", OBJECT_ROUTES, ids=str)
def test_anonymous_gets_nothing(route, targets, actor):
    before = db_state()
    response = actor(None).call(route, targets["A"])
    if route.api:
        assert response.status_code == 401
        assert response.get_json()["code"] == 401
    else:
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]
    assert changed_tables(before, db_state()) == []


@pytest.mark.parametrize("method,rule", sorted(LIST_ROUTES | CREATE_ROUTES))
def test_anonymous_sees_no_list_and_creates_nothing(method, rule, world, actor):
    before = db_state()
    response = actor(None).open(rule, method)
    if rule.startswith("/api/"):
        assert response.status_code == 401
    else:
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]
    assert changed_tables(before, db_state()) == []


# ---------------------------------------------------------------------------- lists


@pytest.fixture
def more(world, make, targets):
    """A decommissioned item in each organization (hidden from the default lists)."""
    make.equipment(world.fac_a, "A-OLD", status=EquipmentStatus.DECOMMISSIONED)
    make.equipment(world.fac_b, "B-OLD", status=EquipmentStatus.DECOMMISSIONED)
    return targets


INVENTORY = {"item_A": "A-INV-1", "item_A2": "A-INV-2", "item_B": "B-INV-1"}
FACILITY_NAMES = {
    "fac_A": "Котельная Альфа",
    "fac_A2": "Склад Альфа в Караганде",
    "fac_B": "Цех Бета",
}
BATCH_FILES = {"batch_A": "список-Альфа.xlsx", "batch_B": "список-Бета.xlsx"}
# the loaded batch of each organization (targets: for the routes that revert one)
LOADED_FILES = {"batch_A": "загружен-Альфа.xlsx", "batch_B": "загружен-Бета.xlsx"}


def _visible(user: str, names: dict[str, str]) -> set[str]:
    return {value for key, value in names.items() if key in VISIBLE[user]}


def _page_inventory(actor_: Actor, query: str = "") -> set[str]:
    response = actor_.get(f"/equipment{query}")
    assert response.status_code == 200
    ids = {int(i) for i in re.findall(r'<tr data-id="(\d+)"', _html(response))}
    rows = db.session.execute(select(Equipment.id, Equipment.inventory_no)).all()
    return {inv for id_, inv in rows if id_ in ids}


def _api_inventory(actor_: Actor, query: str = "") -> set[str]:
    response = actor_.get(f"/api/v1/equipment{query}")
    assert response.status_code == 200
    return {item["inventory_no"] for item in response.get_json()["items"]}


def _export_cells(actor_: Actor, query: str = "") -> set[str]:
    response = actor_.get(f"/equipment/export.xlsx{query}")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.get_data()), read_only=True)
    return {str(v) for sheet in book for row in sheet.iter_rows(values_only=True) for v in row}


def _names_in(text: str, names) -> set[str]:
    return {name for name in names if name in text}


@pytest.mark.parametrize("user", USERS)
def test_deadlines_page_shows_exactly_what_is_in_scope(user, more, actor):
    """The world's items' lives ended in 2020: each visible one is listed as overdue, and
    counted, and nothing else (the decommissioned ones neither)."""
    response = actor(user).get("/equipment/deadlines")
    assert response.status_code == 200
    page = _html(response)
    items = _visible(user, INVENTORY)
    assert _names_in(page, [*INVENTORY.values(), "A-OLD", "B-OLD"]) == items
    life = re.search(r'<tr data-kind="life">.*?data-horizon="overdue">(.*?)</td>', page, re.S)
    assert re.search(r'data-count="(\d+)"', life.group(1)).group(1) == str(len(items))


@pytest.mark.parametrize("user", USERS)
def test_lists_show_exactly_what_is_in_scope(user, more, actor):
    who = actor(user)
    items = _visible(user, INVENTORY)
    assert _page_inventory(who) == items
    assert _api_inventory(who) == items

    facilities = _visible(user, FACILITY_NAMES)
    for url in ("/facilities", "/equipment", "/imports"):
        assert _names_in(_html(who.get(url)), FACILITY_NAMES.values()) <= facilities, url
    assert _names_in(_html(who.get("/facilities")), FACILITY_NAMES.values()) == facilities
    api = who.get("/api/v1/facilities").get_json()
    assert {f["name"] for f in api} == facilities

    batches = _visible(user, BATCH_FILES) | _visible(user, LOADED_FILES)
    files = [*BATCH_FILES.values(), *LOADED_FILES.values()]
    assert _names_in(_html(who.get("/imports")), files) == batches
    assert {b["filename"] for b in who.get("/api/v1/imports").get_json()} == batches


FOREIGN_FILTERS = [
    "?facility_id={fac_A}",
    "?facility_id={fac_A2}",
    "?organization_id={org_A}",
    "?organization_id={org_A}&facility_id={fac_A}",
    "?organization_id={org_A}&status=decommissioned",
    "?q=A-INV",
    "?q=Альфа&flag=life_expired&band=unfit",
]


@pytest.mark.parametrize("query", FOREIGN_FILTERS)
def test_filtering_by_another_organization_shows_nothing(query, more, world, actor):
    query = query.format(fac_A=world.fac_a.id, fac_A2=world.fac_a2.id, org_A=world.org_a.id)
    who = actor("eng_b")
    assert _page_inventory(who, query) == set()
    assert _api_inventory(who, query) == set()
    alpha = {"Котел ДЕ-25 Альфа", "Резервуар Альфа", *FACILITY_NAMES.values()} - {"Цех Бета"}
    for url in (f"/equipment{query}", f"/facilities{query}", f"/{query}", f"/imports{query}"):
        assert _names_in(_html(who.get(url)), alpha) == set(), url
    for url in ("/api/v1/facilities", "/api/v1/organizations", "/api/v1/imports"):
        body = who.get(url + query).get_data(as_text=True)
        assert str(world.org_a.id) not in re.findall(r'"organization_id":\s*(\d+)', body), url
    orgs = who.get("/api/v1/organizations" + query).get_json()
    assert [o["id"] for o in orgs] == [world.org_b.id]


def test_export_contains_exactly_what_is_in_scope(more, world, actor):
    every = set(INVENTORY.values()) | {"A-OLD", "B-OLD"}
    for user in USERS:
        cells = " ".join(_export_cells(actor(user)))
        assert _names_in(cells, every) == _visible(user, INVENTORY), user
    ids = {"fac_A": world.fac_a.id, "fac_A2": world.fac_a2.id, "org_A": world.org_a.id}
    for query in FOREIGN_FILTERS:
        cells = " ".join(_export_cells(actor("eng_b"), query.format(**ids)))
        assert _names_in(cells, ["A-INV-1", "A-INV-2", "A-OLD"]) == set(), query


def test_a_regulator_filtering_by_a_facility_outside_the_region_sees_nothing(more, world, actor):
    who = actor("reg_pav")
    for query in (f"?facility_id={world.fac_a2.id}", f"?organization_id={world.org_b.id}"):
        assert _page_inventory(who, query) == set()
        assert _api_inventory(who, query) == set()
    assert _api_inventory(who, f"?organization_id={world.org_a.id}") == {"A-INV-1"}


@pytest.mark.parametrize(
    "user,orgs",
    [
        ("eng_a", {"ТОО «Альфа»"}),
        ("eng_b", {"АО «Бета»"}),
        ("reg_pav", {"ТОО «Альфа»"}),
        ("national", {"ТОО «Альфа»", "АО «Бета»"}),
        ("admin", {"ТОО «Альфа»", "АО «Бета»"}),
    ],
)
def test_organizations_api_lists_only_the_callers(user, orgs, world, actor):
    listed = actor(user).get("/api/v1/organizations").get_json()
    assert {o["name"] for o in listed} == orgs


def test_a_regulator_sees_the_organizations_of_their_region(world, actor):
    listed = actor("reg_kar").get("/api/v1/organizations").get_json()
    assert "АО «Бета»" in {o["name"] for o in listed}


def test_a_regulator_can_look_up_the_organization_of_every_facility_they_see(world, actor):
    who = actor("reg_kar")
    facilities = who.get("/api/v1/facilities").get_json()
    orgs = {o["id"] for o in who.get("/api/v1/organizations").get_json()}
    assert {f["organization_id"] for f in facilities} <= orgs
    assert who.get(f"/api/v1/organizations/{world.org_a.id}").status_code == 200


def test_a_regulator_sees_organizations_by_home_region_or_a_facility_there(world, make, actor):
    # registered in Karaganda, no facility yet; registered in Almaty with a facility in Almaty;
    # registered in Almaty with a facility in Karaganda
    home = make.org("ТОО «Дом»", "000000000001", "KAR")
    away = make.org("ТОО «Далеко»", "000000000002", "ALA")
    make.facility(away, "D-01")
    guest = make.org("ТОО «Гость»", "000000000003", "ALA")
    make.facility(guest, "G-01", region="KAR")
    expected = {
        "reg_kar": {"АО «Бета»", "ТОО «Альфа»", "ТОО «Дом»", "ТОО «Гость»"},
        "reg_pav": {"ТОО «Альфа»"},
    }
    for user, names in expected.items():
        who = actor(user)
        assert {o["name"] for o in who.get("/api/v1/organizations").get_json()} == names
        for org in (home, away, guest):
            status = who.get(f"/api/v1/organizations/{org.id}").status_code
            assert status == (200 if org.name in names else 404), (user, org.name)
    # a regulator may read an organization operating in the region, never change its registry
    who = actor("reg_kar")
    assert (
        who.post(
            "/api/v1/facilities", json={"code": "R-1", "name": "ОПО", "region_id": 1}
        ).status_code
        == 403
    )


def test_no_regional_regulator_sees_an_import_batch(world, actor):
    """An import batch is a whole organization's list, facilities of every region included:
    its report and original file would show a regional regulator rows of other regions."""
    batch = _batch(world.org_a, world.eng_a, "A-02", "A-FILE-KAR", "список-Караганда.xlsx")
    for name in ("reg_kar", "reg_pav"):  # the facility's region, the organization's region
        who = actor(name)
        assert who.get("/api/v1/imports").get_json() == [], name
        assert "список-Караганда.xlsx" not in _html(who.get("/imports")), name
        for url in (f"/imports/{batch.id}", f"/imports/{batch.id}/file"):
            assert who.get(url).status_code == 404, (name, url)
        assert who.get(f"/api/v1/imports/{batch.id}").status_code == 404, name
    listed = actor("national").get("/api/v1/imports").get_json()
    assert [b["filename"] for b in listed] == ["список-Караганда.xlsx"]


def _dashboard(page: str) -> dict[str, int]:
    """The dashboard's numbers: totals, then the count of each band and flag card."""
    total = re.search(r"(\d+) ед\. оборудования на (\d+) ОПО", page)
    out = {"total": int(total.group(1)), "facilities": int(total.group(2))}
    for attr in ("data-band", "data-flag"):
        for name, n in re.findall(rf'{attr}="(\w+)".*?<div class="n">(\d+)</div>', page, re.S):
            out[name] = int(n)
    return out


def test_dashboard_counts_only_the_organizations_items(world, make, actor):
    make.equipment(world.fac_b, "B-NEW", commissioned_on=clock.today() - timedelta(days=30))
    make.equipment(world.fac_b, "B-NEW-2", commissioned_on=clock.today() - timedelta(days=60))
    eng_a = _dashboard(_html(actor("eng_a").get("/")))
    eng_b = _dashboard(_html(actor("eng_b").get("/")))
    admin = _dashboard(_html(actor("admin").get("/")))
    assert (eng_a["total"], eng_a["facilities"]) == (2, 2)
    assert (eng_b["total"], eng_b["facilities"]) == (3, 1)
    assert (admin["total"], admin["facilities"]) == (5, 3)
    assert eng_a["unfit"] == 2 and eng_a["good"] == 0
    assert eng_a["life_expired"] == 2 and eng_a["critical"] == 2
    assert eng_b["unfit"] == 1 and eng_b["good"] == 2 and eng_b["life_expired"] == 1
    assert admin["unfit"] == 3 and admin["good"] == 2 and admin["life_expired"] == 3
    assert _dashboard(_html(actor("reg_pav").get("/")))["unfit"] == 1
    assert _dashboard(_html(actor("reg_kar").get("/")))["unfit"] == 2
    # filters in the URL do not widen the dashboard
    page = _html(actor("eng_a").get(f"/?organization_id={world.org_b.id}"))
    assert _dashboard(page) == eng_a


# ---------------------------------------------------------------------------- creating


def _new_equipment_form(facility_id: int) -> dict:
    return {
        "facility_id": str(facility_id),
        "inventory_no": "NEW-1",
        "name": "Сосуд новый",
        "device_type": "pressure_vessel",
        "service_life_source": "unknown",
        "status": "in_service",
    }


def _new_equipment_json(facility_id: int) -> dict:
    return {
        "facility_id": facility_id,
        "inventory_no": "NEW-1",
        "name": "Сосуд новый",
        "device_type": "pressure_vessel",
    }


def test_engineer_cannot_create_equipment_in_another_organizations_facility(world, actor):
    who = actor("eng_a")
    page = _html(who.get(f"/equipment/new?facility_id={world.fac_b.id}"))
    assert "Цех Бета" not in page and "Котельная Альфа" in page
    before = db_state()
    response = who.post("/equipment/new", data=_new_equipment_form(world.fac_b.id))
    assert response.status_code == 400
    assert 'id="facility_id-error"' in _html(response)
    response = who.post("/api/v1/equipment", json=_new_equipment_json(world.fac_b.id))
    assert response.status_code == 422
    assert set(response.get_json()["errors"]["json"]) == {"facility_id"}
    assert changed_tables(before, db_state()) == []
    # control: the same requests work in one's own facility
    ok = who.post("/equipment/new", data=_new_equipment_form(world.fac_a.id))
    assert ok.status_code == 302


def test_engineer_cannot_move_equipment_into_another_organization(world, actor):
    actors = {name: actor(name) for name in ("eng_a", "admin")}
    before = db_state()
    for name, who in actors.items():
        response = who.patch(
            f"/api/v1/equipment/{world.item_a.id}", json={"facility_id": world.fac_b.id}
        )
        assert response.status_code == 422, name
        assert "facility_id" in response.get_json()["errors"]["json"]
    form = {
        "facility_id": str(world.fac_b.id),
        "inventory_no": "A-INV-1",
        "name": "Котел ДЕ-25 Альфа",
        "device_type": "steam_boiler",
        "service_life_source": "unknown",
        "status": "in_service",
    }
    response = actor("eng_a").post(f"/equipment/{world.item_a.id}/edit", data=form)
    assert response.status_code == 400
    assert 'id="facility_id-error"' in _html(response)
    assert changed_tables(before, db_state()) == []


def test_engineer_cannot_hand_a_facility_to_another_organization(world, actor):
    who = actor("eng_a")
    response = who.patch(
        f"/api/v1/facilities/{world.fac_a.id}",
        json={"organization_id": world.org_b.id, "name": "Котельная Альфа-2"},
    )
    assert response.status_code == 200
    assert response.get_json()["organization_id"] == world.org_a.id
    db.session.rollback()  # see what the requests committed
    assert db.session.get(Facility, world.fac_a.id).organization_id == world.org_a.id


def test_facilities_created_by_an_engineer_land_in_their_organization(world, actor):
    who = actor("eng_b")
    page = _html(actor("admin").get("/facilities/new"))
    assert "АО «Бета»" in page and "ТОО «Альфа»" in page  # admins choose the organization
    assert "ТОО «Альфа»" not in _html(who.get("/facilities/new"))
    body = {
        "organization_id": world.org_a.id,
        "code": "X-API",
        "name": "Чужой ОПО через API",
        "region_id": world.fac_a.region_id,
    }
    response = who.post("/api/v1/facilities", json=body)
    assert response.status_code == 422
    assert "organization_id" in response.get_json()["errors"]["json"]
    response = who.post("/api/v1/facilities", json={**body, "organization_id": None})
    assert response.status_code == 201
    assert response.get_json()["organization_id"] == world.org_b.id
    form = {
        "organization_id": str(world.org_a.id),
        "code": "X-PAGE",
        "name": "Чужой ОПО через форму",
        "region_id": str(world.fac_a.region_id),
        "sector": "other",
        "hazard_class": "",
        "status": "operating",
    }
    assert who.post("/facilities/new", data=form).status_code == 302
    db.session.rollback()  # see what the requests committed
    orgs = dict(db.session.execute(select(Facility.code, Facility.organization_id)).all())
    assert orgs["X-API"] == orgs["X-PAGE"] == world.org_b.id


def test_an_import_cannot_reach_another_organizations_facility(world, actor):
    who = actor("eng_a")
    data = _xlsx(
        [
            ["Инвентарный номер", "Наименование", "Вид устройства"],
            ["IMP-1", "Кран из файла", "кран мостовой"],
        ]
    )
    before = db_state()
    response = who.post(
        "/api/v1/imports",
        data={
            "file": (io.BytesIO(data), "list.xlsx"),
            "dry_run": "false",
            "default_facility_id": str(world.fac_b.id),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 422, response.get_data(as_text=True)
    assert changed_tables(before, db_state()) == []


def test_an_engineers_upload_goes_to_their_own_organization(world, actor):
    who = actor("eng_b")
    header = ["Код ОПО", "Инвентарный номер", "Наименование", "Вид устройства"]
    data = _xlsx([header, ["B-01", "UP-1", "Сосуд из файла", "сосуд под давлением"]])
    page = who.post(
        "/imports",
        data={"file": (io.BytesIO(data), "page.xlsx"), "organization_id": str(world.org_a.id)},
        content_type="multipart/form-data",
    )
    assert page.status_code == 302
    api = who.post(
        "/api/v1/imports",
        data={"file": (io.BytesIO(data), "api.xlsx"), "organization": world.org_a.bin},
        content_type="multipart/form-data",
    )
    assert api.status_code == 201
    db.session.rollback()
    rows = db.session.execute(select(ImportBatch.filename, ImportBatch.organization_id)).all()
    assert dict(rows) == {"page.xlsx": world.org_b.id, "api.xlsx": world.org_b.id}


REGULATOR_CREATES = [
    ("GET", "/equipment/new", None),
    ("POST", "/equipment/new", "form"),
    ("GET", "/facilities/new", None),
    ("POST", "/facilities/new", "facility"),
    ("POST", "/imports", "file"),
    ("POST", "/api/v1/equipment", "json"),
    ("POST", "/api/v1/facilities", "facility_json"),
    ("POST", "/api/v1/imports", "file"),
]


@pytest.mark.parametrize("regulator", ["reg_pav", "national"])
@pytest.mark.parametrize("method,url,body", REGULATOR_CREATES)
def test_regulators_cannot_create(method, url, body, regulator, world, actor):
    who = actor(regulator)
    facility = world.fac_a
    kwargs = {}
    if body == "form":
        kwargs["data"] = _new_equipment_form(facility.id)
    elif body == "facility":
        kwargs["data"] = {
            "organization_id": str(world.org_a.id),
            "code": "R-1",
            "name": "ОПО регулятора",
            "region_id": str(facility.region_id),
            "sector": "other",
            "status": "operating",
        }
    elif body == "json":
        kwargs["json"] = _new_equipment_json(facility.id)
    elif body == "facility_json":
        kwargs["json"] = {"code": "R-1", "name": "ОПО", "region_id": facility.region_id}
    elif body == "file":
        data = _xlsx([["Инвентарный номер", "Наименование"], ["R-1", "С"]])
        kwargs["data"] = {"file": (io.BytesIO(data), "r.xlsx"), "dry_run": "false"}
        kwargs["content_type"] = "multipart/form-data"
    before = db_state()
    response = who.open(url, method, **kwargs)
    assert response.status_code == 403
    assert changed_tables(before, db_state()) == []


# ---------------------------------------------------------------------------- users API


NEW_USER = {
    "email": "intruder@example.kz",
    "password": "a-long-password",
    "role": "admin",
}


@pytest.mark.parametrize("user", ["eng_a", "reg_pav", "national"])
def test_users_api_is_404_for_non_admins(user, actor):
    who = actor(user)
    assert who.get("/users").status_code == 404
    response = who.get("/api/v1/users")
    assert response.status_code == 404 and response.get_json()["code"] == 404
    before = db_state()
    response = who.post("/api/v1/users", json=NEW_USER)
    assert response.status_code == 404
    assert changed_tables(before, db_state()) == []
    assert db.session.query(User).filter_by(email=NEW_USER["email"]).count() == 0


def test_users_api_is_404_for_non_admins_whatever_the_body(actor):
    who = actor("eng_a")
    response = who.post("/api/v1/users", json={})
    assert response.status_code == 404


def test_admin_lists_and_creates_users(world, actor):
    who = actor("admin")
    listed = who.get("/api/v1/users").get_json()
    users = (world.eng_a, world.eng_b, world.reg_pav, world.reg_kar, world.national, world.admin)
    assert {u["email"] for u in listed} == {u.email for u in users}
    body = {**NEW_USER, "role": Role.ENGINEER.value, "org_bin": world.org_a.bin}
    response = who.post("/api/v1/users", json=body)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["organization_id"] == world.org_a.id


@pytest.mark.parametrize("user", ["eng_a", "reg_pav", "national"])
@pytest.mark.parametrize(
    "data,content_type",
    [
        ("{}", "application/json"),
        ("{bad json", "application/json"),
        ('{"email": "x", "role": 5, "password": null}', "application/json"),
        ('{"name": "", "bin": 5, "region": null}', "application/json"),
        ("[]", "application/json"),
        ("email=x", "application/x-www-form-urlencoded"),
    ],
)
@pytest.mark.parametrize(
    "method,url",
    [
        ("POST", "/api/v1/users"),
        ("PATCH", "/api/v1/users/{user}"),
        ("POST", "/api/v1/organizations"),
        ("PATCH", "/api/v1/organizations/{org}"),
    ],
)
def test_admin_apis_answer_non_admins_404_before_reading_the_body(
    method, url, user, data, content_type, world, actor
):
    url = url.format(user=world.eng_a.id, org=world.org_a.id)
    who = actor(user)
    before = db_state()
    response = who.open(url, method, data=data, content_type=content_type)
    assert response.status_code == 404 and response.get_json()["code"] == 404
    assert changed_tables(before, db_state()) == []
    anonymous = actor(None).open(url, method, data=data, content_type=content_type)
    assert anonymous.status_code == 401


# ---------------------------------------------------------------------------- admin pages

NEW_ORGANIZATION = {"name": "ТОО «Новый оператор»", "bin": "120340001230", "region": "AST"}
NEW_ENGINEER = {"email": "new.eng@example.kz", "name": "Новый инженер", "role": "engineer"}

# Routes without an id for administrators only: (method, url, body, the admin's status).
ADMIN_ROUTES = [
    ("GET", "/users", None, 200),
    ("GET", "/users/new", None, 200),
    ("POST", "/users/new", "user_form", 200),  # the generated password, shown once
    ("GET", "/organizations/new", None, 200),
    ("POST", "/organizations/new", "organization_form", 302),
    ("POST", "/api/v1/organizations", "organization_json", 201),
    ("GET", "/api/v1/users", None, 200),
    ("POST", "/api/v1/users", "user_json", 201),
]


def _admin_body(kind: str | None, world) -> dict:
    if kind == "user_form":
        return {"data": {**NEW_ENGINEER, "org": world.org_a.bin, "password_mode": "generate"}}
    if kind == "organization_form":
        return {"data": NEW_ORGANIZATION}
    if kind == "organization_json":
        return {"json": NEW_ORGANIZATION}
    if kind == "user_json":
        return {"json": {**NEW_ENGINEER, "org_bin": world.org_a.bin, "password": "a-long-password"}}
    return {}


@pytest.mark.parametrize("method,url,body,ok", ADMIN_ROUTES)
def test_admin_routes_without_an_id_answer_everyone_else_404(method, url, body, ok, world, actor):
    for user in ("eng_a", "eng_b", "reg_pav", "reg_kar", "national", "admin"):
        actor(user)  # log in (and issue the token) before taking the snapshots
    for user in ("eng_a", "eng_b", "reg_pav", "reg_kar", "national"):
        before = db_state()
        response = actor(user).open(url, method, **_admin_body(body, world))
        assert response.status_code == 404, user
        if url.startswith("/api/"):
            assert response.get_json()["code"] == 404
        assert changed_tables(before, db_state()) == [], user
    before = db_state()
    response = actor("admin").open(url, method, **_admin_body(body, world))
    assert response.status_code == ok, _html(response)[-1500:]
    if method == "POST":
        assert changed_tables(before, db_state())


def test_a_regional_regulator_sees_on_an_organizations_card_only_the_region(world, actor):
    page = _html(actor("reg_kar").get(f"/organizations/{world.org_a.id}"))
    assert "Склад Альфа в Караганде" in page and "Котельная Альфа" not in page
    assert world.eng_a.email not in page  # users are for administrators
    page = _html(actor("reg_pav").get(f"/organizations/{world.org_a.id}"))
    assert "Котельная Альфа" in page and "Склад Альфа в Караганде" not in page
    admin = _html(actor("admin").get(f"/organizations/{world.org_a.id}"))
    assert "Котельная Альфа" in admin and "Склад Альфа в Караганде" in admin
    assert world.eng_a.email in admin


def _organization_rows(who: Actor, query: str = "") -> dict[str, dict[str, str]]:
    """The organizations page: {name: {column: value}}."""
    page = _html(who.get("/organizations" + query))
    rows = {}
    for row in re.findall(r'<tr data-id="\d+">(.*?)</tr>', page, re.S):
        name = re.search(r"<a [^>]*>([^<]*)</a>", row).group(1)
        rows[name] = dict(re.findall(r'data-col="(\w+)">([^<]*)<', row))
    return rows


def test_the_organizations_page_counts_what_each_role_sees(more, world, actor):
    counts = {
        # facilities, items in service (the decommissioned ones are not counted)
        "eng_a": {"ТОО «Альфа»": ("2", "2")},
        "eng_b": {"АО «Бета»": ("1", "1")},
        "reg_pav": {"ТОО «Альфа»": ("1", "1")},
        "reg_kar": {"ТОО «Альфа»": ("1", "1"), "АО «Бета»": ("1", "1")},
        "national": {"ТОО «Альфа»": ("2", "2"), "АО «Бета»": ("1", "1")},
        "admin": {"ТОО «Альфа»": ("2", "2"), "АО «Бета»": ("1", "1")},
    }
    for user, expected in counts.items():
        rows = _organization_rows(actor(user))
        got = {name: (cols["facilities"], cols["items"]) for name, cols in rows.items()}
        assert got == expected, user
        assert all(("engineers" in cols) == (user == "admin") for cols in rows.values()), user
    admin = _organization_rows(actor("admin"))
    assert admin["ТОО «Альфа»"]["engineers"] == admin["АО «Бета»"]["engineers"] == "1"
    assert _organization_rows(actor("eng_b"), f"?q={world.org_a.bin}") == {}


def test_the_users_api_is_still_described_in_the_openapi_document(app):
    with app.app_context():
        paths = app.test_client().get("/api/openapi.json").get_json()["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/users"])
    assert "requestBody" in paths["/api/v1/users"]["post"]
    for path in ("/api/v1/facilities/{facility_id}", "/api/v1/equipment/{item_id}"):
        assert "requestBody" in paths[path]["patch"], path


@pytest.mark.parametrize(
    "url,data",
    [
        ("/equipment?q=%00", None),
        ("/facilities/new", {"code": "A\x00", "name": "n", "region_id": "1", "sector": "other"}),
        ("/profile", {"name": "token\x00"}),
    ],
)
def test_pages_refuse_nul_characters_with_400(url, data, world, actor):
    who = actor("eng_a")
    before = db_state()
    response = who.open(url, "GET" if data is None else "POST", data=data)
    assert response.status_code == 400
    assert "NUL" in _html(response)
    assert changed_tables(before, db_state()) == []
