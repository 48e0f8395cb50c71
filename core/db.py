"""Declarative base with a naming convention, so every migration names constraints the same way;
bulk inserts and updates; the conditional claim of a row's next state (``claim``)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from itertools import islice
from operator import itemgetter

import orjson
from sqlalchemy import JSON, DateTime, Enum, MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.orm import DeclarativeBase

from core.clock import utcnow  # noqa: F401 - re-exported: stored timestamps are UTC

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def str_enum(enum_cls, length: int = 24) -> Enum:
    """The column type of every status and kind: an enum stored as its string value (portable,
    readable, no native DB enum to migrate), refusing strings that are not one of its values."""
    return Enum(
        enum_cls,
        native_enum=False,
        length=length,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


def as_utc(value: datetime) -> datetime:
    """A stored timestamp as an aware UTC datetime (SQLite returns them naive, in UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


TZDateTime = DateTime(timezone=True)


def json_text(value) -> str:
    """A JSON column's value as text (orjson, the engine's ``json_serializer``): dict keys
    that are not text become text, as ``json.dumps`` does."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


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
    with BulkWriter(session) as writer:
        writer.insert(model, rows, chunk)


def reserve_ids(session, model, count: int) -> list[int]:
    """Primary keys for ``count`` rows of ``model`` about to be inserted in the session's
    transaction, so rows that refer to them can be prepared without reading them back.

    PostgreSQL: taken from the column's sequence (``nextval``), as an insert would.
    SQLite: the ids after the largest, under the write lock this transaction takes first
    (one writer at a time: nobody else can insert before the commit)."""
    if count <= 0:
        return []
    conn = session.connection()
    table = model.__table__
    if conn.dialect.name == "postgresql":
        sequence = conn.exec_driver_sql(
            "SELECT pg_get_serial_sequence(%(table)s, 'id')", {"table": table.name}
        ).scalar_one()
        return list(
            conn.exec_driver_sql(
                "SELECT nextval(%(sequence)s) FROM generate_series(1, %(count)s)",
                {"sequence": sequence, "count": count},
            ).scalars()
        )
    name = conn.dialect.identifier_preparer.format_table(table)
    conn.exec_driver_sql(f"UPDATE {name} SET id = id WHERE 1 = 0")  # takes the write lock
    last = conn.exec_driver_sql(f"SELECT coalesce(max(id), 0) FROM {name}").scalar_one()
    return list(range(last + 1, last + 1 + count))


class BulkWriter:
    """Several ``bulk_insert``s in a row, in the session's transaction.

    On PostgreSQL a writer thread owns the connection from the first ``insert`` to the end of
    the ``with`` block and sends the tables as COPYs one after the other, while this thread
    prepares the next rows, the next table's included: the server stores, indexes and checks
    the foreign keys of one table while Python works out the next (two cores, not one after
    the other). The session must not be used inside the block. On SQLite each ``insert``
    runs at once (the inserts hold the GIL; a thread would only wait for it)."""

    def __init__(self, session):
        self.session = session
        self._pipe: _CopyPipe | None = None

    def __enter__(self) -> BulkWriter:
        return self

    def insert(self, model, rows: Iterable[dict], chunk: int = 5_000) -> None:
        rows = iter(rows)
        batch = list(islice(rows, chunk))
        if not batch:
            return
        if self._pipe is None:
            self.session.flush()  # rows may refer to objects still pending in the session
        conn = self.session.connection()
        dialect = conn.dialect
        statement, prepare = _insert_parts(dialect, model.__table__, batch[0])

        def chunks() -> Iterator[list[tuple]]:
            nonlocal batch
            while batch:
                try:
                    yield prepare(batch)
                except (LookupError, TypeError, ValueError) as err:  # a value it cannot take
                    raise StatementError(str(err), statement, None, err) from err
                batch = list(islice(rows, chunk))

        if dialect.name != "postgresql":
            for values in chunks():
                conn.exec_driver_sql(statement, values)
            return
        if self._pipe is None:
            self._pipe = _CopyPipe(conn.connection.driver_connection, dialect)
        self._pipe.send(statement, chunks())

    def __exit__(self, kind, error, trace) -> None:
        if self._pipe is not None:
            pipe, self._pipe = self._pipe, None
            pipe.close(failed=error is not None)


class _CopyPipe:
    """The writer thread of a ``BulkWriter``: COPY statements and their rows come through a
    short queue; the first error is kept, raised in the caller's thread, and the rest of the
    queue drained so the caller never blocks on a dead writer."""

    QUEUE = 4  # chunks waiting to be sent

    def __init__(self, driver, dialect):
        import queue
        import threading

        self.driver, self.dialect = driver, dialect
        self.queue: queue.Queue = queue.Queue(self.QUEUE)
        self.error: BaseException | None = None
        self.statement: str | None = None
        self.ended = False
        self.thread = threading.Thread(target=self._run, name="bulk-copy", daemon=True)
        self.thread.start()

    def send(self, statement: str, chunks: Iterator[list[tuple]]) -> None:
        self._put(("copy", statement))
        for values in chunks:
            self._put(("rows", values))

    def close(self, failed: bool) -> None:
        self.queue.put(("abort", None) if failed else ("end", None))
        self.thread.join()
        if self.error is not None and not failed:
            self._raise()

    def _put(self, item) -> None:
        if self.error is not None:
            self._raise()
        self.queue.put(item)

    def _raise(self):
        err, self.error = self.error, None
        if isinstance(err, self.dialect.loaded_dbapi.Error):  # as SQLAlchemy would raise it
            raise DBAPIError.instance(
                self.statement, None, err, self.dialect.loaded_dbapi.Error, dialect=self.dialect
            ) from err
        raise err

    def _get(self):
        kind, payload = self.queue.get()
        self.ended = kind in ("end", "abort")
        return kind, payload

    def _run(self) -> None:
        try:
            with self.driver.cursor() as cursor:
                kind, payload = self._get()
                while kind == "copy":
                    self.statement = payload
                    with cursor.copy(payload) as copy:
                        write = copy.write_row
                        kind, payload = self._get()
                        while kind == "rows":
                            for record in payload:
                                write(record)
                            kind, payload = self._get()
                        if kind == "abort":  # psycopg ends the COPY with an error message
                            raise _Aborted
                    # leaving the block waited for the server to finish the table
        except _Aborted:
            pass
        except BaseException as err:  # noqa: BLE001 - handed to the caller's thread
            self.error = err
        while not self.ended:
            self._get()  # drain: the caller may still be sending


class _Aborted(Exception):
    """The caller failed: the COPY under way must not be completed."""


def _insert_parts(dialect, table, first: dict):
    """The statement (COPY or INSERT) for rows shaped like ``first``, and their preparer."""
    given = list(first)
    defaults = [
        c
        for c in table.columns
        if c.key not in first and c.default is not None and not c.default.is_sequence
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
    if dialect.name == "postgresql":
        statement = f"COPY {target} ({names}) FROM STDIN"
    else:
        statement = f"INSERT INTO {target} ({names}) VALUES ({', '.join('?' * len(columns))})"
    return statement, _Values(given, defaults, processors)


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


def claim(session, model, row_id, expected: dict, **new_values) -> bool:
    """Move one row of ``model`` from the state ``expected`` ({column: value}) to
    ``new_values``, only if it is still in that state; True when this transaction moved it.

    One conditional ``UPDATE … WHERE id = :id AND <expected>``, so of two transactions that
    decide about the same row at the same moment exactly one wins, on either database:
    PostgreSQL makes the second UPDATE wait for the first one's row lock and then re-reads
    the row, which no longer matches; SQLite has one writer at a time. The loser gets False
    and must not go on (refuse, or answer that someone else decided first). Use it for every
    one-way step of a row's life: an import batch previewed → committing, a plan's decision.

    The session's loaded objects are not updated (``synchronize_session=False``): refresh the
    object if its new state is read in the same session."""
    from sqlalchemy import update

    where = [
        model.id == row_id,
        *(getattr(model, name) == value for name, value in expected.items()),
    ]
    moved = session.execute(
        update(model)
        .where(*where)
        .values(**new_values)
        .execution_options(synchronize_session=False)
    ).rowcount
    return moved == 1
