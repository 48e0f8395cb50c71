"""The registry's published read side: what the packages above equipment may read of it.

Renewal plans and alerts import this module, the models, the catalog and the pure wear rules,
never equipment's views, API, forms or services (the layer rule in pyproject.toml). Each
function is one statement whatever the size of the fleet, and takes ``as_of`` from its caller:
the plans freeze a round on the day of the submission, the alerts walk through days.

Decommissioned items are out of every figure here: they need no plan and raise no alert.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, case, func, literal, select, union_all
from sqlalchemy.orm import Session

from core.access import Scope
from equipment.catalog import Band, EquipmentStatus, InspectionKind, InspectionResult
from equipment.indicators_sql import band_expr, flag_exprs, reached
from equipment.models import ConditionAssessment, Equipment, Facility, Inspection
from equipment.registry.query import curve_of
from equipment.wear import Indicators, indicators

# The reasons an item must be planned, in the order wear.indicators lists them; the first
# that holds is the item's main reason (the one a plan item is proposed with).
MUST_PLAN_REASONS = (
    "critical",
    "life_expired",
    "cycles_exhausted",
    "expertise_refused",
    "limit_state",
)

_LIVE = Equipment.status != EquipmentStatus.DECOMMISSIONED


def main_reason_expr(as_of: date):
    """SQL: the first of MUST_PLAN_REASONS that holds for the row on ``as_of``."""
    return case(
        (reached(Equipment.critical_on, as_of), "critical"),
        (reached(Equipment.life_end, as_of), "life_expired"),
        (Equipment.cycles_exhausted.is_(True), "cycles_exhausted"),
        (Equipment.expertise_refused.is_(True), "expertise_refused"),
        (Equipment.limit_state.is_(True), "limit_state"),
        else_=None,
    )


def must_plan_select(organization_id: int, as_of: date) -> Select:
    """``(equipment_id, facility_id, reason)`` of the organization's items that must be
    planned on ``as_of``: a statement, so that a plan can ``INSERT ... SELECT`` from it."""
    return select(
        Equipment.id.label("equipment_id"),
        Equipment.facility_id.label("facility_id"),
        main_reason_expr(as_of).label("reason"),
    ).where(
        Equipment.organization_id == organization_id,
        _LIVE,
        flag_exprs(as_of)["must_plan"],
    )


def must_plan_ids(session: Session, organization_id: int, as_of: date) -> set[int]:
    stmt = must_plan_select(organization_id, as_of).with_only_columns(Equipment.id)
    return set(session.execute(stmt).scalars())


@dataclass(frozen=True)
class ItemState:
    """An item's indicators on a day with the dates they rest on: what a plan round freezes."""

    equipment_id: int
    organization_id: int
    facility_id: int
    indicators: Indicators
    last_assessed_on: date | None
    last_examined_on: date | None


def _latest(column, key, *where) -> Select:
    return select(key.label("equipment_id"), func.max(column).label("day")).where(*where)


def item_states(session: Session, equipment_ids: Select | list[int], as_of: date):
    """The state on ``as_of`` of each item named (ids or a statement of ids), by id: one
    statement, the indicators computed by the same pure rules as the card's."""
    assessed = (
        _latest(ConditionAssessment.assessed_on, ConditionAssessment.equipment_id)
        .group_by(ConditionAssessment.equipment_id)
        .subquery()
    )
    examined = (
        _latest(
            Inspection.done_on,
            Inspection.equipment_id,
            Inspection.kind == InspectionKind.EXAMINATION,
        )
        .group_by(Inspection.equipment_id)
        .subquery()
    )
    stmt = (
        select(Equipment, assessed.c.day, examined.c.day)
        .outerjoin(assessed, assessed.c.equipment_id == Equipment.id)
        .outerjoin(examined, examined.c.equipment_id == Equipment.id)
        .where(Equipment.id.in_(equipment_ids))
    )
    states = {}
    for item, last_assessed, last_examined in session.execute(stmt):
        states[item.id] = ItemState(
            equipment_id=item.id,
            organization_id=item.organization_id,
            facility_id=item.facility_id,
            indicators=indicators(curve_of(item), as_of),
            last_assessed_on=last_assessed,
            last_examined_on=last_examined,
        )
    return states


def fleet_counts(session: Session, scope: Scope, as_of: date, by: str) -> dict[int, dict]:
    """Counts by band and flag of the items the scope sees, per ``organization`` or per
    ``region`` (the region of the item's facility), with ``total`` and ``facilities``."""
    key = {"organization": Equipment.organization_id, "region": Facility.region_id}[by]
    band = band_expr(as_of)

    def count_if(cond):
        return func.sum(case((cond, 1), else_=0))

    cols = [key.label("key"), func.count().label("total")]
    cols += [count_if(band == b.value).label(f"band_{b.value}") for b in Band]
    cols += [count_if(expr).label(name) for name, expr in flag_exprs(as_of).items()]
    cols.append(func.count(func.distinct(Equipment.facility_id)).label("facilities"))
    stmt = (
        select(*cols)
        .join(Facility, Facility.id == Equipment.facility_id)
        .where(scope.clause(Equipment), _LIVE)
        .group_by(key)
    )
    return {
        row.key: {k: int(v or 0) for k, v in row._mapping.items() if k != "key"}
        for row in session.execute(stmt)
    }


def facilities_of_region(session: Session, region_id: int) -> list[Facility]:
    """Every facility in the region, of whichever organization, by organization and code."""
    stmt = (
        select(Facility)
        .where(Facility.region_id == region_id)
        .order_by(Facility.organization_id, Facility.code)
    )
    return list(session.execute(stmt).scalars())


@dataclass(frozen=True)
class Deadline:
    """One obligation falling due: an examination, a hydraulic test or an expertise (the
    next date its kind's latest event set), or the end of the service life."""

    due_on: date
    kind: str  # "examination", "hydraulic", "expertise" or "life"
    equipment_id: int
    inventory_no: str
    name: str
    facility_code: str


DEADLINE_KINDS = {
    InspectionKind.EXAMINATION: "examination",
    InspectionKind.HYDRAULIC_TEST: "hydraulic",
    InspectionKind.EXPERTISE: "expertise",
}


def next_deadlines(session: Session, scope: Scope, as_of: date, limit: int = 10) -> list[Deadline]:
    """The ``limit`` earliest deadlines on or after ``as_of`` of the live items the scope
    sees (what is overdue already is counted by the flags): the next date that each kind's
    latest event (by date, then id, as in ``wear.latest_by_kind``) set, unless it failed
    (then it is due at once, as in ``wear.obligation``: overdue), and each item's life end.
    One statement."""
    latest = (
        select(
            Inspection.equipment_id,
            Inspection.kind,
            Inspection.next_due_on,
            Inspection.result,
            func.row_number()
            .over(
                partition_by=(Inspection.equipment_id, Inspection.kind),
                order_by=(Inspection.done_on.desc(), Inspection.id.desc()),
            )
            .label("n"),
        )
        # the scope first: the window ranks only the user's inspections
        .where(Inspection.kind.in_(list(DEADLINE_KINDS)), scope.clause(Inspection))
        .subquery()
    )
    kind_code = case(
        *((latest.c.kind == k.value, v) for k, v in DEADLINE_KINDS.items()), else_="examination"
    )
    visible = (scope.clause(Equipment), _LIVE)
    events = (
        select(latest.c.next_due_on.label("due_on"), kind_code.label("kind"), latest.c.equipment_id)
        .join(Equipment, Equipment.id == latest.c.equipment_id)
        .where(latest.c.n == 1, latest.c.result != InspectionResult.FAILED.value)
        .where(latest.c.next_due_on >= as_of, *visible)
    )
    lives = select(
        Equipment.life_end.label("due_on"), literal("life").label("kind"), Equipment.id
    ).where(Equipment.life_end >= as_of, *visible)
    both = union_all(events, lives).subquery()
    stmt = (
        select(both.c.due_on, both.c.kind, Equipment.id, Equipment.inventory_no)
        .add_columns(Equipment.name, Facility.code)
        .join(Equipment, Equipment.id == both.c.equipment_id)
        .join(Facility, Facility.id == Equipment.facility_id)
        .order_by(both.c.due_on, Equipment.inventory_no, both.c.kind)
        .limit(limit)
    )
    return [Deadline(*row) for row in session.execute(stmt)]
