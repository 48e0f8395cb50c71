"""Declarative base with a naming convention, so every migration names constraints the same way."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from itertools import islice
from operator import itemgetter

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
        (i, isinstance(column.type, JSON), process)
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
    prepare = _Values(given, defaults, processors)

    def chunks() -> Iterator[list[tuple]]:
        nonlocal batch
        while batch:
            try:
                yield prepare(batch)
            except (LookupError, TypeError, ValueError) as err:  # a value its column cannot take
                raise StatementError(str(err), statement, None, err) from err
            batch = list(islice(rows, chunk))

    if dialect.name != "postgresql":
        for values in chunks():
            conn.exec_driver_sql(statement, values)
        return
    # One COPY for all the chunks, its data sent by a writer thread: the server stores and
    # indexes one chunk while this thread prepares the next (two cores, not one after the other).
    from psycopg.copy import QueuedLibpqWriter

    try:
        with (
            driver.cursor() as cursor,
            cursor.copy(statement, writer=QueuedLibpqWriter(cursor)) as copy,
        ):
            for values in chunks():
                for record in values:
                    copy.write_row(record)
    except dialect.loaded_dbapi.Error as err:  # as SQLAlchemy would raise it
        raise DBAPIError.instance(
            statement, None, err, dialect.loaded_dbapi.Error, dialect=dialect
        ) from err


MEMO_LIMIT = 65_536  # distinct values remembered per column


class _RowContext:
    """What a context-sensitive column default reads: the row being inserted."""

    __slots__ = ("row",)

    def __init__(self, row: dict):
        self.row = row

    def get_current_parameters(self, isolate_multiinsert_groups: bool = True) -> dict:
        return self.row


class _Values:
    """A chunk of row dicts as the driver's value tuples, worked column by column.

    Each row's given values are picked in one ``itemgetter`` call and the defaults appended;
    then each column with a bind processor (dates, enums, flags on SQLite) is processed once
    per *distinct* value of the chunk and mapped back, since dates, enums and the batch's
    timestamps repeat from row to row: a call per value was a third of a 100,000-row insert.
    Values that compare equal (``1`` and ``1.0``, an enum and its string value) are
    processed alike by these types, so sharing a result is exact. JSON values are not
    hashable and are processed one by one (``None`` too: it becomes JSON null)."""

    def __init__(self, given: list, defaults: list, processors: list):
        self.width = len(given)
        pick = itemgetter(*given)
        self.pick = pick if len(given) > 1 else (lambda row: (pick(row),))
        self.defaults = [(c.default.is_callable, c.default.arg) for c in defaults]
        self.processors = processors
        self.memo: dict[int, dict] = {i: {} for i, is_json, _ in processors if not is_json}
        self.given = given

    def __call__(self, batch: list[dict]) -> list[tuple]:
        pick, width = self.pick, self.width
        for row in batch:
            if len(row) != width:
                raise ValueError(
                    f"bulk_insert: every row needs the keys {self.given}, not {list(row)}"
                )
        if self.defaults:
            rows = [
                (
                    *pick(row),
                    *[arg(_RowContext(row)) if call else arg for call, arg in self.defaults],
                )
                for row in batch
            ]
        else:
            rows = [pick(row) for row in batch]
        if not self.processors:
            return rows
        columns = list(zip(*rows, strict=True))
        for i, is_json, process in self.processors:
            column = columns[i]
            if is_json:
                columns[i] = [process(v) for v in column]
                continue
            memo = self.memo[i]
            for value in set(column).difference(memo):
                memo[value] = process(value)
            columns[i] = list(map(memo.__getitem__, column))
            if len(memo) > MEMO_LIMIT:
                memo.clear()
        return list(zip(*columns, strict=True))


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
