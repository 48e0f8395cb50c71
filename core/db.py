"""Declarative base with a naming convention, so every migration names constraints the same way."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(UTC)


TZDateTime = DateTime(timezone=True)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):  # pragma: no cover - trivial
    """SQLite: enforce foreign keys and let readers run beside one writer."""
    module = type(dbapi_connection).__module__
    if module.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()


def bulk_insert(session, model, rows: list[dict], chunk: int = 10_000) -> None:
    """INSERT many rows through Core (executemany / insertmanyvalues), skipping the ORM's
    per-row bookkeeping. Every row must have the same keys."""
    table = model.__table__
    for start in range(0, len(rows), chunk):
        session.execute(table.insert(), rows[start : start + chunk])


def bulk_update(session, model, rows: list[dict], chunk: int = 10_000) -> None:
    """UPDATE many rows by primary key ``id``; every row must have the same keys."""
    if not rows:
        return
    from sqlalchemy import bindparam

    table = model.__table__
    keys = [k for k in rows[0] if k != "id"]
    stmt = (
        table.update().where(table.c.id == bindparam("_id")).values({k: bindparam(k) for k in keys})
    )
    for start in range(0, len(rows), chunk):
        session.execute(stmt, [{**r, "_id": r["id"]} for r in rows[start : start + chunk]])
