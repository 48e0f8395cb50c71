"""Append-only audit trail: who changed what, when, before -> after."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, Index, Integer, String, event, inspect
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, TZDateTime, utcnow

# How the history tables name the actions every package writes; packages add their own.
ACTION_LABELS = {
    "create": _l("Created"),
    "update": _l("Changed"),
}

JSONType = JSON().with_variant(JSONB(), "postgresql")


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    actor_email: Mapped[str | None] = mapped_column(String(254))
    organization_id: Mapped[int | None] = mapped_column(Integer, index=True)
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(40))
    changes: Mapped[dict] = mapped_column(JSONType, default=dict)

    __table_args__ = (Index("ix_audit_events_entity", "entity_type", "entity_id", "at"),)


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _append_only(mapper, connection, target):
    raise RuntimeError("audit events are append-only")


# The same rule in the database, for what bypasses the ORM (raw SQL, a bulk statement, a
# console): a trigger refuses every UPDATE and DELETE of audit_events. Installed by migration
# a1f0c8d2e302; triggers are not in the model's metadata, so `flask db check` ignores them.
# PostgreSQL's TRUNCATE fires no row trigger (the tests empty tables with it).
APPEND_ONLY_MESSAGE = "audit_events is append-only"
_APPEND_ONLY_DDL = {
    "postgresql": (
        [
            "CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION USING MESSAGE = "
            f"'{APPEND_ONLY_MESSAGE}: ' || TG_OP || ' refused'; END $$",
            "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
            "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()",
        ],
        [
            "DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events",
            "DROP FUNCTION IF EXISTS audit_events_append_only()",
        ],
    ),
    "sqlite": (
        [
            f"CREATE TRIGGER audit_events_no_{verb.lower()} BEFORE {verb} ON audit_events "
            f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}: {verb} refused'); END"
            for verb in ("UPDATE", "DELETE")
        ],
        [f"DROP TRIGGER IF EXISTS audit_events_no_{verb}" for verb in ("update", "delete")],
    ),
}


def install_append_only(connection) -> None:
    """Create the triggers that make audit_events append-only in the database."""
    for statement in _APPEND_ONLY_DDL[connection.dialect.name][0]:
        connection.exec_driver_sql(statement)


def remove_append_only(connection) -> None:
    """Drop those triggers (the migration's downgrade)."""
    for statement in _APPEND_ONLY_DDL[connection.dialect.name][1]:
        connection.exec_driver_sql(statement)


@contextmanager
def append_only_lifted(connection) -> Iterator[None]:
    """The triggers dropped for the block and created again after it, in the caller's
    transaction: only for emptying a test database (SQLite has no TRUNCATE that skips them)."""
    remove_append_only(connection)
    yield
    install_append_only(connection)


_PLAIN = (str, int, float, bool, type(None))


def jsonable(value: Any) -> Any:
    if type(value) in _PLAIN:
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, Enum):
        return value.value
    return value


def snapshot(obj, fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: jsonable(getattr(obj, name)) for name in fields}


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list]:
    """Fields whose value changed, as ``{field: [before, after]}``."""
    return {k: [before.get(k), after.get(k)] for k in after if before.get(k) != after.get(k)}


def record(
    session: Session,
    *,
    actor,
    entity,
    action: str,
    changes: dict,
    organization_id: int | None = None,
) -> AuditEvent:
    """Queue an audit row in the caller's transaction (committed or rolled back with it)."""
    entity_id = inspect(entity).identity[0] if inspect(entity).identity else entity.id
    ev = AuditEvent(
        actor_id=getattr(actor, "id", None),
        actor_email=getattr(actor, "email", None),
        organization_id=organization_id,
        entity_type=entity.__tablename__,
        entity_id=entity_id,
        action=action,
        changes=changes,
    )
    session.add(ev)
    return ev
