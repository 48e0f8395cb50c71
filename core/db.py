"""Declarative base with a naming convention, so every migration names constraints the same way."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from itertools import islice

from sqlalchemy import JSON, DateTime, MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, StatementError
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


def as_utc(value: datetime) -> datetime:
    """A stored timestamp as an aware UTC datetime (SQLite returns them naive, in UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


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


def bulk_insert(session, model, rows: Iterable[dict], chunk: int = 5_000) -> None:
    """INSERT many rows in the session's transaction, consumed a chunk at a time (``rows`` may
    be a generator, so a 100,000-row import never holds all its rows at once).

    Every row must have the same keys; the columns it leaves out get their Python-side
    defaults, context-sensitive ones included. The values go through each column type's own
    bind processor and then straight to the driver: COPY on PostgreSQL, one ``executemany``
    on SQLite. SQLAlchemy's per-row parameter compilation, which cost more than the database
    itself for 100,000 rows (bench/import_xlsx.py), is skipped; what reaches the database is
    what ``table.insert()`` would have sent.
    """
    rows = iter(rows)
    batch = list(islice(rows, chunk))
    if not batch:
        return
    table = model.__table__
    session.flush()  # rows may refer to objects still pending in the session
    conn = session.connection()
    dialect = conn.dialect
    given = list(batch[0])
    defaults = [
        c
        for c in table.columns
        if c.key not in batch[0] and c.default is not None and not c.default.is_sequence
    ]
    for column in defaults:
        if column.default.is_clause_element:
            raise TypeError(f"bulk_insert: give {column.key} (its default is SQL) in every row")
    columns = [table.c[k] for k in given] + defaults
    processors = [
        (i, process if isinstance(column.type, JSON) else _memoized(process))
        for i, (column, process) in enumerate(
            (c, c.type._cached_bind_processor(dialect)) for c in columns
        )
        if process is not None
    ]
    names = ", ".join(dialect.identifier_preparer.format_column(c) for c in columns)
    target = dialect.identifier_preparer.format_table(table)
    driver = conn.connection.driver_connection
    if dialect.name == "postgresql":
        statement = f"COPY {target} ({names}) FROM STDIN"
    else:
        statement = f"INSERT INTO {target} ({names}) VALUES ({', '.join('?' * len(columns))})"
    while batch:
        try:
            values = [_insert_values(row, given, defaults, processors) for row in batch]
        except (LookupError, TypeError, ValueError) as err:  # a value its column cannot take
            raise StatementError(str(err), statement, None, err) from err
        if dialect.name == "postgresql":
            try:
                with driver.cursor() as cursor, cursor.copy(statement) as copy:
                    for record in values:
                        copy.write_row(record)
            except dialect.loaded_dbapi.Error as err:  # as SQLAlchemy would raise it
                raise DBAPIError.instance(
                    statement, None, err, dialect.loaded_dbapi.Error, dialect=dialect
                ) from err
        else:
            conn.exec_driver_sql(statement, values)
        batch = list(islice(rows, chunk))


_MISS = object()
MEMO_LIMIT = 65_536  # distinct values remembered per column


def _memoized(process):
    """A column's bind processor that remembers its results: dates, enums, flags and the
    batch's timestamps repeat from row to row, and formatting each again was a third of a
    100,000-row insert on SQLite. Values that compare equal (``1`` and ``1.0``, an enum and
    its string value) are processed alike by these types, so sharing a result is exact."""
    cache: dict = {}
    get = cache.get

    def run(value):
        result = get(value, _MISS)
        if result is _MISS:
            result = process(value)
            if len(cache) < MEMO_LIMIT:
                cache[value] = result
        return result

    return run


class _RowContext:
    """What a context-sensitive column default reads: the row being inserted."""

    __slots__ = ("row",)

    def __init__(self, row: dict):
        self.row = row

    def get_current_parameters(self, isolate_multiinsert_groups: bool = True) -> dict:
        return self.row


def _insert_values(row: dict, given: list, defaults: list, processors: list) -> tuple:
    if len(row) != len(given):
        raise ValueError(f"bulk_insert: every row needs the keys {given}, not {list(row)}")
    values = [row[k] for k in given]
    for column in defaults:
        default = column.default
        values.append(default.arg(_RowContext(row)) if default.is_callable else default.arg)
    for i, process in processors:  # None too: a JSON column turns it into JSON null
        values[i] = process(values[i])
    return tuple(values)


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
