"""Deadlines of the registry as SQL: when each kind of obligation falls due, the list's
``due`` / ``due_kind`` filters and the deadlines page's counts and nearest items.

Kinds (``due_kind``): ``examination`` (техническое освидетельствование), ``hydraulic``
(гидроиспытание), ``expertise`` (ЭПБ): the due date that the kind's latest event leaves, as
``wear.obligation`` reads it (the event's next date; a failed one is due the day before it
was done, i.e. overdue at once); ``life``: the end of service life (``Equipment.life_end``,
cached with the wear curve: the latest extension, else commissioning + service life).

Horizons (``due``): ``overdue`` (an event's date has passed: ``due < today``; the life has
ended: ``life_end <= today``, as the flags read them, see indicators_sql), ``30`` / ``60`` /
``90`` (not overdue and due within that many days, today + N included: cumulative, so «90»
contains «30»), ``none`` (no event of the kind recorded at all; for ``life``: no life end
known). Without ``due_kind`` a horizon matches an item if any of the four deadlines falls in
it, and ``none`` the items with no examination, hydraulic test or expertise recorded at all.

Everything is set-based: the latest event per item and kind is one window over the
inspections of that kind (index ix_inspections_equipment_kind_on), never a query per item.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import Date, and_, case, func, not_, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.functions import FunctionElement

from equipment.catalog import EquipmentStatus, InspectionKind, InspectionResult
from equipment.models import Equipment, Inspection

HORIZON_DAYS = {"30": 30, "60": 60, "90": 90}
HORIZONS = ("overdue", *HORIZON_DAYS)
DUE_VALUES = (*HORIZONS, "none")
EVENT_KINDS = {
    "examination": InspectionKind.EXAMINATION,
    "hydraulic": InspectionKind.HYDRAULIC_TEST,
    "expertise": InspectionKind.EXPERTISE,
}
DUE_KINDS = (*EVENT_KINDS, "life")


class _DayBefore(FunctionElement):
    """The day before a date: ``d - 1`` on PostgreSQL, ``date(d, '-1 day')`` on SQLite."""

    type = Date()
    inherit_cache = True
    name = "day_before"


@compiles(_DayBefore)
def _day_before_pg(element, compiler, **kw):
    return f"({compiler.process(element.clauses, **kw)} - 1)"


@compiles(_DayBefore, "sqlite")
def _day_before_sqlite(element, compiler, **kw):
    return f"date({compiler.process(element.clauses, **kw)}, '-1 day')"


def _event_due(event=Inspection):
    """An event's obligation date (wear.obligation): failed -> due the day before it was
    done (overdue from the day of the failure), else its next date (may be NULL)."""
    return case(
        (event.result == InspectionResult.FAILED, _DayBefore(event.done_on)),
        else_=event.next_due_on,
    )


def latest_due(kind: str, due_within=None):
    """(equipment_id, due) of each item's latest event of ``kind`` (a subquery), only those
    whose due date satisfies ``due_within(due)`` when given.

    The filter comes first and the latest-ness second (no later event of the kind: one
    probe of ix_inspections_equipment_kind_on per candidate), so a horizon reads only its
    candidates: a window over every event of the kind sorted them all (50,000
    examinations: 150 ms for the overdue ones, now a fraction)."""
    event, later = aliased(Inspection, name="event"), aliased(Inspection, name="later")
    due = _event_due(event)
    newer = select(later.id).where(
        later.equipment_id == event.equipment_id,
        later.kind == event.kind,
        or_(
            later.done_on > event.done_on,
            and_(later.done_on == event.done_on, later.id > event.id),
        ),
    )
    stmt = select(event.equipment_id.label("equipment_id"), due.label("due")).where(
        event.kind == EVENT_KINDS[kind], ~newer.exists()
    )
    if due_within is not None:
        stmt = stmt.where(due_within(due))
    return stmt.subquery(f"latest_{kind}")


def in_horizon(due, horizon: str, as_of: date, life: bool = False):
    """The condition that the date ``due`` falls in ``horizon`` (see the module's doc)."""
    if horizon == "overdue":
        return and_(due.is_not(None), due <= as_of if life else due < as_of)
    until = as_of + timedelta(days=HORIZON_DAYS[horizon])
    return and_(due > as_of if life else due >= as_of, due <= until)


def _recorded(kind: str):
    return select(Inspection.equipment_id).where(Inspection.kind == EVENT_KINDS[kind])


def kind_condition(kind: str, due: str, as_of: date):
    """Equipment whose ``kind`` deadline is ``due``."""
    if kind == "life":
        if due == "none":
            return Equipment.life_end.is_(None)
        return in_horizon(Equipment.life_end, due, as_of, life=True)
    if due == "none":
        return Equipment.id.not_in(_recorded(kind))
    latest = latest_due(kind, lambda d: in_horizon(d, due, as_of))
    return Equipment.id.in_(select(latest.c.equipment_id))


def due_condition(due: str, kind: str | None, as_of: date):
    """The list's ``due`` filter, for one kind or (``kind`` None) any of them."""
    if kind is not None:
        return kind_condition(kind, due, as_of)
    if due == "none":
        any_event = select(Inspection.equipment_id).where(
            Inspection.kind.in_(list(EVENT_KINDS.values()))
        )
        return not_(Equipment.id.in_(any_event))
    return or_(*(kind_condition(k, due, as_of) for k in DUE_KINDS))


def due_date_expr(kind: str):
    """The ``kind`` deadline of the current Equipment row as a correlated scalar (for
    sorting a filtered list by it): its latest event's obligation date, or the life end."""
    if kind == "life":
        return Equipment.life_end
    return (
        select(_event_due())
        .where(Inspection.equipment_id == Equipment.id, Inspection.kind == EVENT_KINDS[kind])
        .order_by(Inspection.done_on.desc(), Inspection.id.desc())
        .limit(1)
        .correlate(Equipment)
        .scalar_subquery()
    )


# ---------------------------------------------------------------------------- the page


def _soon(as_of: date, life: bool = False):
    """Overdue or due within 90 days: what the page counts and lists."""
    return lambda d: or_(in_horizon(d, "overdue", as_of, life), in_horizon(d, "90", as_of, life))


def summary(session, where, as_of: date) -> dict[str, dict[str, int]]:
    """``{kind: {horizon: count}}`` (and ``none`` for the examination) over the items
    ``where`` selects (the list's condition: scope, not decommissioned): one statement per
    event kind over its overdue-or-soon latest events, one over the items for the life and
    the items never examined."""

    def count_if(cond):
        return func.sum(case((cond, 1), else_=0))

    out: dict[str, dict[str, int]] = {k: {} for k in DUE_KINDS}
    for kind in EVENT_KINDS:
        latest = latest_due(kind, _soon(as_of))
        stmt = (
            select(*(count_if(in_horizon(latest.c.due, h, as_of)) for h in HORIZONS))
            .select_from(Equipment)
            .join(latest, latest.c.equipment_id == Equipment.id)
            .where(where)
        )
        row = session.execute(stmt).one()
        out[kind] = {h: int(v or 0) for h, v in zip(HORIZONS, row, strict=True)}
    life = [count_if(in_horizon(Equipment.life_end, h, as_of, life=True)) for h in HORIZONS]
    never = count_if(Equipment.id.not_in(_recorded("examination")))
    row = session.execute(select(*life, never).where(where)).one()
    out["life"] = {h: int(v or 0) for h, v in zip(HORIZONS, row[:-1], strict=True)}
    out["examination"]["none"] = int(row[-1] or 0)
    return out


def nearest(session, where, kind: str, as_of: date, limit: int = 10) -> list[tuple]:
    """(item, due date) of the ``limit`` items whose ``kind`` deadline is overdue or within
    90 days, earliest first (one statement)."""
    if kind == "life":
        due = Equipment.life_end
        stmt = select(Equipment, due).where(_soon(as_of, life=True)(due))
    else:
        latest = latest_due(kind, _soon(as_of))
        due = latest.c.due
        stmt = select(Equipment, due).join(latest, latest.c.equipment_id == Equipment.id)
    stmt = stmt.where(where).order_by(due, Equipment.inventory_no, Equipment.id)
    return [(item, day) for item, day in session.execute(stmt.limit(limit)).unique()]


def visible(scope):
    """The items the deadlines count: those the user may see, decommissioned excluded."""
    return and_(scope.clause(Equipment), Equipment.status != EquipmentStatus.DECOMMISSIONED)
