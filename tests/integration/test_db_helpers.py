"""core.db.bulk_insert sends what table.insert() would, and core.errors tells a write conflict
(409) from an integrity bug (500), on the real database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError, StatementError

from core.audit import AuditEvent
from core.db import BulkWriter, bulk_insert, reserve_ids
from core.errors import _is_conflict
from core.extensions import db
from equipment.catalog import AssessmentMethod, DeviceType, EquipmentStatus, LifeSource
from equipment.models import ConditionAssessment, Equipment

SKIP = {"id", "inventory_no", "inventory_key", "search_text"}


def equipment_row(world, inventory_no: str) -> dict:
    return {
        "organization_id": world.org_a.id,
        "facility_id": world.fac_a.id,
        "inventory_no": inventory_no,
        "name": "Сосуд\tс табуляцией\\ и переводом\nстроки",
        "device_type": DeviceType.PRESSURE_VESSEL,
        "status": EquipmentStatus.SUSPENDED,
        "service_life_source": LifeSource.NORM,
        "commissioned_on": date(1987, 3, 15),
        "manufacture_year": 1986,
        "service_life_years": 20.5,
        "cycles_exhausted": True,
        "model": None,
        "created_at": datetime(2024, 5, 1, 10, 30, 15, 123456, tzinfo=timezone(timedelta(hours=5))),
        "updated_at": datetime(2024, 5, 1, 5, 30, 15, 123456, tzinfo=UTC),
    }


def test_bulk_insert_stores_what_an_insert_stores(world):
    db.session.execute(insert(Equipment.__table__), [equipment_row(world, "VIA-INSERT")])
    bulk_insert(db.session, Equipment, [equipment_row(world, "VIA-BULK")])
    db.session.commit()
    rows = {
        row.inventory_no: row._asdict()
        for row in db.session.execute(
            select(*Equipment.__table__.columns).where(
                Equipment.inventory_no.in_(["VIA-INSERT", "VIA-BULK"])
            )
        )
    }
    via_insert, via_bulk = rows["VIA-INSERT"], rows["VIA-BULK"]
    assert {k: v for k, v in via_bulk.items() if k not in SKIP} == {
        k: v for k, v in via_insert.items() if k not in SKIP
    }
    assert via_bulk["search_text"] == via_insert["search_text"].replace("via-insert", "via-bulk")
    # the folded key comes from the column default on both paths (the import relies on it)
    assert (via_insert["inventory_key"], via_bulk["inventory_key"]) == ("VIA-INSERT", "VIA-BULK")


def test_bulk_insert_stores_json_null_and_refuses_bad_rows(world):
    event = {
        "actor_id": None,
        "actor_email": None,
        "organization_id": world.org_a.id,
        "entity_type": "equipment",
        "entity_id": world.item_a.id,
        "action": "update",
        "at": datetime.now(UTC),
        "changes": None,  # JSON null, as table.insert() sends it: the column is NOT NULL
    }
    bulk_insert(db.session, AuditEvent, [event])
    db.session.commit()
    stored = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "update")).all()
    assert [e.changes for e in stored] == [None]

    with pytest.raises(StatementError):
        bulk_insert(db.session, Equipment, [{**equipment_row(world, "X"), "status": "broken"}])
    db.session.rollback()
    with pytest.raises(StatementError):
        bulk_insert(
            db.session,
            Equipment,
            [equipment_row(world, "A"), {**equipment_row(world, "B"), "notes": "extra key"}],
        )
    db.session.rollback()
    assert db.session.scalar(select(Equipment.id).where(Equipment.inventory_no == "A")) is None


def test_bulk_insert_streams_chunks_and_a_late_bad_row_leaves_nothing(world):
    def rows(count: int, bad: dict | None = None):
        for i in range(count):
            row = equipment_row(world, f"CH-{i}")
            row["commissioned_on"] = date(1980 + i % 3, 1, 1)  # values repeat across chunks
            yield {**row, **bad} if bad and i == count - 1 else row

    bulk_insert(db.session, Equipment, rows(7), chunk=2)
    db.session.commit()
    stored = db.session.execute(
        select(Equipment.inventory_no, Equipment.commissioned_on).where(
            Equipment.inventory_no.like("CH-%")
        )
    ).all()
    assert sorted(stored) == sorted((f"CH-{i}", date(1980 + i % 3, 1, 1)) for i in range(7))

    db.session.execute(Equipment.__table__.delete().where(Equipment.inventory_no.like("CH-%")))
    db.session.commit()
    with pytest.raises(StatementError):  # found while the fourth chunk is prepared
        bulk_insert(db.session, Equipment, rows(7, {"status": "broken"}), chunk=2)
    db.session.rollback()
    with pytest.raises(IntegrityError):  # found by the database in the last chunk
        bulk_insert(db.session, Equipment, rows(7, {"inventory_no": "CH-0"}), chunk=2)
    db.session.rollback()
    assert (
        db.session.scalar(select(Equipment.id).where(Equipment.inventory_no.like("CH-%"))) is None
    )


def _assessment(item_id: int, wear: float) -> dict:
    return {
        "equipment_id": item_id,
        "wear_pct": wear,
        "assessed_on": date(2024, 1, 1),
        "method": AssessmentMethod.IMPORT,
        "created_by_id": None,
        "created_at": datetime.now(UTC),
        "document_ref": None,
        "notes": None,
    }


def test_a_bulk_writer_inserts_several_tables_with_reserved_ids(world):
    ids = reserve_ids(db.session, Equipment, 5)
    assert len(set(ids)) == 5 and min(ids) > world.item_a.id
    with BulkWriter(db.session) as writer:
        writer.insert(
            Equipment,
            ({**equipment_row(world, f"RW-{i}"), "id": item_id} for i, item_id in enumerate(ids)),
            chunk=2,
        )
        writer.insert(ConditionAssessment, (_assessment(i, 10.0 + i % 2) for i in ids), chunk=2)
        writer.insert(ConditionAssessment, [])  # nothing to insert is nothing sent
    db.session.commit()
    stored = db.session.execute(
        select(Equipment.id, Equipment.inventory_no).where(Equipment.inventory_no.like("RW-%"))
    ).all()
    assert sorted(stored) == [(item_id, f"RW-{i}") for i, item_id in enumerate(ids)]
    wear = db.session.execute(
        select(ConditionAssessment.equipment_id, ConditionAssessment.wear_pct).where(
            ConditionAssessment.equipment_id.in_(ids)
        )
    ).all()
    assert sorted(wear) == [(i, 10.0 + i % 2) for i in ids]
    # the sequence (PostgreSQL) or the largest id (SQLite) has moved past the reserved ids
    db.session.execute(insert(Equipment.__table__), [equipment_row(world, "AFTER")])
    after = db.session.scalar(select(Equipment.id).where(Equipment.inventory_no == "AFTER"))
    assert after > max(ids)


@pytest.mark.parametrize("where", ["database", "values", "caller"])
def test_a_bulk_writer_that_fails_in_its_second_table_leaves_nothing(world, where):
    """The failure is raised in the caller's thread wherever it happens (the database, a value
    its column cannot take, the caller's own code), and no writer thread is left waiting."""
    ids = reserve_ids(db.session, Equipment, 3)

    def assessments():
        for n, item_id in enumerate(ids):
            if n == 2 and where == "caller":
                raise RuntimeError("the caller failed")
            row = _assessment(item_id, 20.0)
            if n == 2 and where == "database":
                row["equipment_id"] = 999_999  # no such item: a foreign key error
            if n == 2 and where == "values":
                row["method"] = "no such method"
            yield row

    expected = {"database": IntegrityError, "values": StatementError, "caller": RuntimeError}
    with pytest.raises(expected[where]), BulkWriter(db.session) as writer:
        writer.insert(
            Equipment,
            [{**equipment_row(world, f"FAIL-{i}"), "id": item_id} for i, item_id in enumerate(ids)],
        )
        writer.insert(ConditionAssessment, assessments(), chunk=1)
    db.session.rollback()
    assert db.session.scalar(select(Equipment.id).where(Equipment.inventory_no == "FAIL-0")) is None
    assert (
        db.session.scalar(
            select(ConditionAssessment.id).where(ConditionAssessment.equipment_id.in_(ids))
        )
        is None
    )


def test_conflicts_are_told_from_integrity_bugs(world):
    def integrity_error(values: dict) -> IntegrityError:
        with pytest.raises(IntegrityError) as caught:
            db.session.execute(insert(Equipment.__table__), [values])
            db.session.flush()
        db.session.rollback()
        return caught.value

    duplicate = integrity_error(equipment_row(world, world.item_a.inventory_no))
    unknown_facility = integrity_error({**equipment_row(world, "NEW"), "facility_id": 999_999})
    no_name = integrity_error({**equipment_row(world, "NEW"), "name": None})
    negative_life = integrity_error({**equipment_row(world, "NEW"), "service_life_years": -1})
    assert (_is_conflict(duplicate), _is_conflict(unknown_facility)) == (True, True)
    assert (_is_conflict(no_name), _is_conflict(negative_life)) == (False, False)
