"""The audit trail is append-only in the database too: raw SQL cannot change or delete it."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from core.audit import APPEND_ONLY_MESSAGE, AuditEvent, record
from core.extensions import db


@pytest.fixture
def event_id(world) -> int:
    event = record(
        db.session,
        actor=world.admin,
        entity=world.item_a,
        action="update",
        changes={"name": ["Котел", "Котел ДЕ-25"]},
        organization_id=world.org_a.id,
    )
    db.session.commit()
    return event.id


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET changes = '{}' WHERE id = :id",
        "UPDATE audit_events SET actor_email = 'someone@else.kz'",
        "DELETE FROM audit_events WHERE id = :id",
        "DELETE FROM audit_events",
    ],
)
def test_raw_sql_cannot_change_or_delete_audit_events(event_id, statement):
    with db.engine.connect() as conn:
        with pytest.raises(DBAPIError, match=APPEND_ONLY_MESSAGE):
            conn.execute(text(statement), {"id": event_id})
        conn.rollback()
    db.session.expire_all()
    event = db.session.get(AuditEvent, event_id)
    assert event.changes == {"name": ["Котел", "Котел ДЕ-25"]}
    assert event.actor_email == "admin@example.kz"


def test_new_events_are_still_written_by_raw_sql(world):
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO audit_events (at, entity_type, entity_id, action, changes) "
                "VALUES (CURRENT_TIMESTAMP, 'equipment', :id, 'note', '{}')"
            ),
            {"id": world.item_a.id},
        )
    assert db.session.query(AuditEvent).filter_by(action="note").count() == 1
