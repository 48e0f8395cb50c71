"""Writers of one organization's registry at the same moment, in real threads on the real
database (each with its own app context, session and connection): an import commit, another
one, the API and the form. They must run one after the other (``services.lock_registry``):
nothing lost, no look-alike stored twice, and the audit trail chains (each event's «before»
is the previous event's «after»)."""

from __future__ import annotations

import threading
import time

import pytest
from flask import current_app
from sqlalchemy import func, select

from core.audit import AuditEvent
from core.extensions import db
from equipment.imports import batches
from equipment.imports.batches import commit_batch
from equipment.imports.models import ImportBatch
from equipment.imports.planner import ImportOptions
from equipment.imports.refused import ImportRefused
from equipment.models import Equipment
from tests.helpers.auth import login
from tests.helpers.imports import STALE, make_token, preview, row, xlsx

ITEMS = 200
ORIGINAL = "Котел исходный"


def _numbers(prefix="ИН-"):
    return [f"{prefix}{i:04d}" for i in range(ITEMS)]


def _list(numbers, name) -> bytes:
    return xlsx([row("A-01", number, name) for number in numbers])


def _need_postgresql():
    # not need(): the SQLite run of the suite lacks nothing, it is the other database (one
    # writer at a time by design); the CI runs the suite on PostgreSQL as well
    if db.engine.dialect.name != "postgresql":
        pytest.skip("two transactions writing at once need PostgreSQL (TEST_DATABASE_URL)")


def _commit_in_own_context(app, batch_id: int, barrier: threading.Barrier) -> str:
    """Commit a previewed batch as a web worker would: its own context, session, connection."""
    with app.app_context():
        try:
            batch = db.session.get(ImportBatch, batch_id)
            barrier.wait(timeout=30)
            try:
                commit_batch(
                    db.session,
                    None,
                    batch,
                    ImportOptions(),
                    app.config["WEAR_THRESHOLDS"],
                )
                db.session.commit()
            except ImportRefused as refused:
                db.session.rollback()
                return refused.message
            return "committed"
        finally:
            db.session.remove()


def _race(batch_ids: list[int]) -> list[str]:
    app = current_app._get_current_object()
    barrier = threading.Barrier(len(batch_ids))
    outcomes: list[str] = [""] * len(batch_ids)

    def run(i: int, batch_id: int) -> None:
        outcomes[i] = _commit_in_own_context(app, batch_id, barrier)

    threads = [threading.Thread(target=run, args=(i, b)) for i, b in enumerate(batch_ids)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes


def _events_by_item(field: str) -> dict[int, list[list]]:
    """Each item's [before, after] of ``field``, in the order the events were written."""
    db.session.expire_all()
    chains: dict[int, list[list]] = {}
    events = db.session.execute(
        select(AuditEvent.entity_id, AuditEvent.changes)
        .where(AuditEvent.entity_type == "equipment")
        .order_by(AuditEvent.id)
    )
    for entity_id, changes in events:
        if field in changes:
            chains.setdefault(entity_id, []).append(changes[field])
    return chains


def assert_chained(field: str, first: str, last: dict[int, str]) -> None:
    """Per item: the first «before» is ``first``, each next «before» the previous «after»,
    and the last «after» is the item's value now."""
    chains = _events_by_item(field)
    assert set(chains) == set(last)
    for item_id, chain in chains.items():
        befores = [before for before, _after in chain]
        afters = [after for _before, after in chain]
        assert befores == [first, *afters[:-1]], (item_id, chain)
        assert afters[-1] == last[item_id], (item_id, chain)


@pytest.fixture
def loaded(world):
    """Org A's facility A-01 with ITEMS items loaded by an import."""
    batch, _plan = preview(world.org_a, _list(_numbers(), ORIGINAL), actor=world.eng_a)
    commit_batch(db.session, world.eng_a, batch, ImportOptions(), {})
    db.session.commit()
    return world


def test_two_imports_committed_at_once_one_goes_through_the_other_is_refused(loaded):
    _need_postgresql()
    world = loaded
    first, _ = preview(world.org_a, _list(_numbers(), "Котел из файла A"), "a.xlsx")
    second, _ = preview(world.org_a, _list(_numbers(), "Котел из файла B"), "b.xlsx")

    outcomes = _race([first.id, second.id])

    assert outcomes.count("committed") == 1, outcomes
    assert STALE in next(o for o in outcomes if o != "committed")
    winner = "Котел из файла A" if outcomes[0] == "committed" else "Котел из файла B"
    names = dict(db.session.execute(select(Equipment.id, Equipment.name)).all())
    assert set(names.values()) - {world.item_a.name, world.item_a2.name, world.item_b.name} == {
        winner
    }
    renamed = {i: n for i, n in names.items() if n == winner}
    assert len(renamed) == ITEMS
    assert_chained("name", ORIGINAL, renamed)
    statuses = db.session.execute(select(ImportBatch.status).order_by(ImportBatch.id)).scalars()
    assert list(statuses)[-2:].count("committed") == 1


def test_the_same_new_numbers_in_two_cases_at_once_are_stored_once(world):
    _need_postgresql()
    upper, _ = preview(world.org_a, _list(_numbers("ИН-"), "Котел"), "upper.xlsx")
    lower, _ = preview(world.org_a, _list(_numbers("ин-"), "Котел"), "lower.xlsx")
    before = db.session.scalar(select(func.count()).select_from(Equipment))

    outcomes = _race([upper.id, lower.id])

    assert outcomes.count("committed") == 1, outcomes
    assert STALE in next(o for o in outcomes if o != "committed")
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Equipment)) == before + ITEMS


@pytest.fixture
def slow_import(monkeypatch):
    """The import commit pauses inside its transaction, after its plan and before its writes,
    and says when: another writer starts exactly then."""
    planned = threading.Event()
    original = batches.apply_plan

    def apply_plan(*args, **kwargs):
        planned.set()
        time.sleep(0.6)
        return original(*args, **kwargs)

    monkeypatch.setattr(batches, "apply_plan", apply_plan)
    return planned


def _rename_by_api(client, world, item_id: int, name: str):
    token = make_token(world.eng_a)
    return client.patch(
        f"/api/v1/equipment/{item_id}",
        json={"name": name},
        headers={"Authorization": f"Bearer {token}"},
    )


def _rename_by_form(client, world, item_id: int, name: str):
    assert login(client, world.eng_a).status_code == 302
    item = db.session.get(Equipment, item_id)
    form = {
        "facility_id": str(item.facility_id),
        "inventory_no": item.inventory_no,
        "name": name,
        "device_type": item.device_type.value,
        "manufacture_year": str(item.manufacture_year or ""),
        "commissioned_on": item.commissioned_on.isoformat(),
        "service_life_years": "20",
        "service_life_source": "norm",
        "status": "in_service",
    }
    return client.post(f"/equipment/{item_id}/edit", data=form)


@pytest.mark.parametrize("door", [_rename_by_api, _rename_by_form], ids=["api", "form"])
def test_an_edit_during_an_import_commit_waits_for_it_and_the_history_chains(
    loaded, client, slow_import, door
):
    world = loaded
    target = db.session.execute(
        select(Equipment.id).where(Equipment.inventory_no == "ИН-0001")
    ).scalar_one()
    batch, _ = preview(world.org_a, _list(_numbers(), "Котел из файла"), "file.xlsx")
    app, batch_id = current_app._get_current_object(), batch.id
    outcome: list[str] = []
    importer = threading.Thread(
        target=lambda: outcome.append(_commit_in_own_context(app, batch_id, threading.Barrier(1)))
    )
    importer.start()
    assert slow_import.wait(timeout=30)
    response = door(client, world, target, "Котел, переименован вручную")
    importer.join(timeout=60)

    assert outcome == ["committed"]
    assert response.status_code in (200, 302), response.get_data(as_text=True)[:800]
    db.session.expire_all()
    # the edit came after the import (it waited): its name stands, and its «before» is the
    # import's «after», not the value the edit's request had read before the import committed
    assert db.session.get(Equipment, target).name == "Котел, переименован вручную"
    chain = _events_by_item("name")[target]
    assert chain == [
        [ORIGINAL, "Котел из файла"],
        ["Котел из файла", "Котел, переименован вручную"],
    ]
