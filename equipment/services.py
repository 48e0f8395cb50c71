"""Registry use cases: save facilities, equipment, assessments and inspections, with audit.

Plain functions taking a SQLAlchemy session and the acting user; no Flask request objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from itertools import islice

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from accounts.models import Organization, Region
from core import audit, clock
from core.access import Scope, valid_id
from core.db import bulk_update
from core.validation import ValidationFailed
from equipment.catalog import InspectionKind, InspectionResult, LifeSource
from equipment.explain import Assessment
from equipment.inventory import inventory_key
from equipment.models import ConditionAssessment, Equipment, Facility, Inspection
from equipment.search import SEARCHED, fold, search_text
from equipment.wear import (
    Event,
    EventFacts,
    WearInputs,
    add_years,
    event_facts,
    facts_of_events,
    thresholds_for,
    wear_curve,
)

NO_EVENTS = EventFacts()


# ---------------------------------------------------------------------------- one writer at a time


def lock_registry(session: Session, organization_id: int) -> None:
    """Hold the organization's registry lock until the caller's transaction ends.

    The one rule for writers of an organization's registry: an import commit, saving an item
    or a facility (form and API), adding an assessment or examination, each takes this lock
    before it reads what it will change. Their transactions then run one after the other, and
    each reads what the previous one committed: an import plans (and checks its preview's
    digest) against the registry as the other import left it, the «before» of each audit event
    is the previous event's «after», a wear curve is computed from every assessment. One row
    per organization rather than the items themselves: an import changes thousands of items,
    and locking them all (in one order, to avoid deadlocks) would cost as much as the import.

    PostgreSQL: ``FOR NO KEY UPDATE`` of the organization's row, which does not block the
    foreign-key checks of inserts that reference it. SQLite: a write of that row, which takes
    the database's single write lock at once; until its first write a transaction there reads
    outside any lock, and another writer may commit between those reads and its writes."""
    if session.get_bind().dialect.name == "postgresql":
        statement = "SELECT id FROM organizations WHERE id = :id FOR NO KEY UPDATE"
    else:
        statement = "UPDATE organizations SET id = id WHERE id = :id"
    session.execute(text(statement), {"id": organization_id})


def lock_item(session: Session, item: Equipment) -> None:
    """``lock_registry`` for the item's organization, then the item as committed now (what
    the session loaded before the lock may be older than the last writer's change)."""
    lock_registry(session, item.organization_id)
    session.refresh(item)


CURVE_FIELDS = (
    "wear_base_pct",
    "wear_base_day",
    "life_days",
    "life_end",
    "warning_on",
    "critical_on",
    "must_plan_on",
    "next_inspection_due",
    "cycles_exhausted",
    "expertise_refused",
    "limit_state",
)


# ---------------------------------------------------------------------------- wear curve cache


def _chunks(ids: Iterable[int], size: int = 900):
    it = iter(ids)
    while chunk := list(islice(it, size)):
        yield chunk


def _only(column, ids: list[int] | None, organization_id: int | None):
    """Filter on equipment ids: a list, one organization, or everything."""
    if ids is not None:
        return column.in_(ids)
    if organization_id is not None:
        return column.in_(select(Equipment.id).where(Equipment.organization_id == organization_id))
    return None


def iter_latest_assessments(session: Session, only) -> Iterator[tuple]:
    """``(equipment id, wear %, assessed on, condition)`` of each item's latest assessment,
    streamed."""
    ranked = select(
        ConditionAssessment.equipment_id,
        ConditionAssessment.wear_pct,
        ConditionAssessment.assessed_on,
        ConditionAssessment.condition,
        func.row_number()
        .over(
            partition_by=ConditionAssessment.equipment_id,
            order_by=(ConditionAssessment.assessed_on.desc(), ConditionAssessment.id.desc()),
        )
        .label("rn"),
    )
    if only is not None:
        ranked = ranked.where(only(ConditionAssessment.equipment_id))
    sub = ranked.subquery()
    latest = select(sub.c[0], sub.c[1], sub.c[2], sub.c[3]).where(sub.c.rn == 1)
    # Core, not ORM rows: the same values without the ORM's per-row work (bulk imports)
    for row in session.connection().execute(latest.execution_options(yield_per=5_000)):
        yield tuple(row)


def _latest_assessments(session: Session, only) -> dict[int, tuple]:
    return {r[0]: r[1:] for r in iter_latest_assessments(session, only)}


def _latest_events(session: Session, only) -> dict[int, EventFacts]:
    """Per item: ``wear.event_facts`` of each kind's latest event and the longest extension,
    both found in SQL (set-based), the rules applied in Python as on the card."""
    ranked = select(
        Inspection.equipment_id,
        Inspection.kind,
        Inspection.done_on,
        Inspection.result,
        Inspection.next_due_on,
        Inspection.extended_until,
        Inspection.id,
        func.row_number()
        .over(
            partition_by=(Inspection.equipment_id, Inspection.kind),
            order_by=(Inspection.done_on.desc(), Inspection.id.desc()),
        )
        .label("rn"),
    )
    if only is not None:
        ranked = ranked.where(only(Inspection.equipment_id))
    sub = ranked.subquery()
    latest: dict[int, list[Event]] = {}
    for eq_id, *fields in session.execute(select(*list(sub.c)[:7]).where(sub.c.rn == 1)):
        latest.setdefault(eq_id, []).append(Event(*fields))
    ext = select(Inspection.equipment_id, func.max(Inspection.extended_until)).where(
        Inspection.kind == InspectionKind.EXPERTISE, Inspection.extended_until.is_not(None)
    )
    if only is not None:
        ext = ext.where(only(Inspection.equipment_id))
    longest = dict(session.execute(ext.group_by(Inspection.equipment_id)).all())
    return {eq_id: event_facts(events, longest.get(eq_id)) for eq_id, events in latest.items()}


def compute_curves(
    session: Session,
    ids: list[int] | None,
    thresholds_config: Mapping,
    organization_id: int | None = None,
) -> list[dict]:
    """Wear curves of the given items (or of one organization, or of all), as update rows."""
    stmt = select(
        Equipment.id,
        Equipment.device_type,
        Equipment.commissioned_on,
        Equipment.manufacture_year,
        Equipment.service_life_years,
        Equipment.cycle_limit,
        Equipment.cycle_count,
        *(getattr(Equipment, name) for name in SEARCHED),
    )
    only = None
    if ids is not None or organization_id is not None:
        stmt = stmt.where(_only(Equipment.id, ids, organization_id))

        def only(column):
            return _only(column, ids, organization_id)

    assessments = _latest_assessments(session, only)
    events = _latest_events(session, only)
    params = []
    for eq_id, dtype, commissioned, year, life, cyc_limit, cyc_count, *texts in session.execute(
        stmt
    ):
        wear_pct, assessed_on, condition = assessments.get(eq_id, (None, None, None))
        ev = events.get(eq_id, NO_EVENTS)
        curve = wear_curve(
            WearInputs(
                commissioned_on=commissioned,
                manufacture_year=year,
                service_life_years=life,
                assessed_pct=wear_pct,
                assessed_on=assessed_on,
                condition=condition,
                extended_until=ev.extended_until,
                refused_on=ev.refused_on,
                next_inspection_due=ev.next_due,
                cycle_limit=cyc_limit,
                cycle_count=cyc_count,
            ),
            thresholds_for(dtype, thresholds_config),
        )
        row = {name: getattr(curve, name.removeprefix("wear_")) for name in CURVE_FIELDS}
        row["id"] = eq_id
        row["search_text"] = search_text(dict(zip(SEARCHED, texts, strict=True)))
        params.append(row)
    return params


def refresh_curves(
    session: Session,
    ids: Iterable[int] | None,
    thresholds_config: Mapping,
    organization_id: int | None = None,
) -> int:
    """Recompute the cached wear curve of the given items, or of a whole organization (ids
    None and organization_id set), or of every item (both None)."""
    chunks = [None] if ids is None else list(_chunks(ids))
    count = 0
    for chunk in chunks:
        params = compute_curves(session, chunk, thresholds_config, organization_id)
        if params:
            bulk_update(session, Equipment, params)
            count += len(params)
    return count


def card_facts(session: Session, item: Equipment):
    """What the card explains an item's indicators from: its wear inputs (as
    ``compute_curves`` builds them), its latest assessment, its events with their documents."""
    latest = session.execute(
        select(ConditionAssessment)
        .where(ConditionAssessment.equipment_id == item.id)
        .order_by(ConditionAssessment.assessed_on.desc(), ConditionAssessment.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    rows = session.execute(select(Inspection).where(Inspection.equipment_id == item.id)).scalars()
    events = [
        (
            Event(e.kind, e.done_on, e.result, e.next_due_on, e.extended_until, e.id),
            e.document_no,
        )
        for e in rows
    ]
    facts = facts_of_events(event for event, _doc in events)
    inputs = WearInputs(
        commissioned_on=item.commissioned_on,
        manufacture_year=item.manufacture_year,
        service_life_years=item.service_life_years,
        assessed_pct=latest.wear_pct if latest else None,
        assessed_on=latest.assessed_on if latest else None,
        condition=latest.condition if latest else None,
        extended_until=facts.extended_until,
        refused_on=facts.refused_on,
        next_inspection_due=facts.next_due,
        cycle_limit=item.cycle_limit,
        cycle_count=item.cycle_count,
    )
    assessment = (
        Assessment(latest.assessed_on, latest.wear_pct, latest.method, latest.notes)
        if latest
        else None
    )
    return inputs, assessment, events


# ---------------------------------------------------------------------------- facilities


def facility_code_taken(session: Session, org_id: int, code: str, exclude_id: int | None) -> bool:
    """Whether another facility of the organization has this code, case and spacing ignored:
    «opo-01» next to «OPO-01» would make lists ambiguous and imports match the wrong one."""
    stmt = select(Facility.code).where(Facility.organization_id == org_id)
    if exclude_id:
        stmt = stmt.where(Facility.id != exclude_id)
    wanted = fold(code)
    return any(fold(other) == wanted for other in session.execute(stmt).scalars())


def _visible_organization(session: Session, scope: Scope, org_id) -> bool:
    """An organization that exists and that the user may see (ids are checked before the
    database sees them)."""
    if not valid_id(org_id):
        return False
    stmt = select(Organization.id).where(Organization.id == org_id, scope.clause(Organization))
    return session.execute(stmt).first() is not None


def save_facility(
    session: Session, actor, scope: Scope, data: dict, facility: Facility | None = None
) -> Facility:
    """Create or update a facility; validates its references and writes an audit event
    (none when an update changes nothing)."""
    org_id = facility.organization_id if facility else data.get("organization_id")
    if scope.organization_id is not None:
        if facility is None and org_id not in (None, scope.organization_id):
            raise ValidationFailed(
                {"organization_id": _l("You can add facilities to your own organization only.")}
            )
        org_id = scope.organization_id
    if facility is None and not _visible_organization(session, scope, org_id):
        raise ValidationFailed({"organization_id": _l("Choose the organization.")})
    lock_registry(session, org_id)
    if facility is not None:
        session.refresh(facility)  # the audit's «before» as the last writer left it
    errors: dict[str, str] = {}
    region_id = data.get("region_id")
    if not valid_id(region_id) or session.get(Region, region_id) is None:
        errors["region_id"] = _l("Choose a region from the list.")
    if facility_code_taken(session, org_id, data["code"], facility.id if facility else None):
        errors["code"] = _l("The organization already has a facility with this code.")
    if errors:
        raise ValidationFailed(errors)
    before = audit.snapshot(facility, Facility.AUDITED) if facility else {}
    if facility is None:
        facility = Facility(organization_id=org_id)
        session.add(facility)
    for name in Facility.AUDITED:
        if name in data:
            setattr(facility, name, data[name])
    session.flush()
    after = audit.snapshot(facility, Facility.AUDITED)
    changes = audit.diff(before, after)
    if before and not changes:
        return facility
    audit.record(
        session,
        actor=actor,
        entity=facility,
        action="update" if before else "create",
        changes=changes,
        organization_id=org_id,
    )
    return facility


# ---------------------------------------------------------------------------- equipment


def _check_equipment(session: Session, scope: Scope, data: dict, equipment: Equipment | None):
    errors: dict[str, str] = {}
    facility = session.execute(
        select(Facility).where(Facility.id == data.get("facility_id"), scope.clause(Facility))
    ).scalar_one_or_none()
    if facility is None:
        errors["facility_id"] = _l("Choose one of your facilities.")
    elif equipment is not None and facility.organization_id != equipment.organization_id:
        errors["facility_id"] = _l("The facility belongs to another organization.")
    number = data.get("inventory_no")
    if facility is not None and isinstance(number, str):
        taken = _look_alike(session, facility.organization_id, number, equipment)
        if taken is not None:
            errors["inventory_no"] = _l(
                "Inventory number «%(number)s» is already in the registry: "
                "%(item)s (%(facility)s).",
                number=number,
                item=str(taken),
                facility=taken.facility.code,
            )
    year, commissioned = data.get("manufacture_year"), data.get("commissioned_on")
    if year and commissioned and commissioned.year < year:
        errors["commissioned_on"] = _l(
            "The commissioning date cannot be earlier than the manufacture year."
        )
    limit, count = data.get("cycle_limit"), data.get("cycle_count")
    if count is not None and limit is None and count < 0:
        errors["cycle_count"] = _l("The cycle count cannot be negative.")
    if errors:
        raise ValidationFailed(errors)
    return facility


def _look_alike(
    session: Session, organization_id: int, number: str, equipment: Equipment | None
) -> Equipment | None:
    """Another item of the organization whose number is this one as the import compares
    numbers (``inventory_key``: «ин-16» is «ИН-16»), the organization's unique key."""
    stmt = select(Equipment).where(
        Equipment.organization_id == organization_id,
        Equipment.inventory_key == inventory_key(number),
    )
    if equipment is not None:
        stmt = stmt.where(Equipment.id != equipment.id)
    return session.execute(stmt.limit(1)).scalar_one_or_none()


def _organization_to_lock(session: Session, scope: Scope, data: dict, equipment):
    """The organization whose registry a save changes: the item's, or for a new item that of
    the chosen facility if the user may use it (else None: the checks refuse the facility)."""
    if equipment is not None:
        return equipment.organization_id
    return session.execute(
        select(Facility.organization_id).where(
            Facility.id == data.get("facility_id"), scope.clause(Facility)
        )
    ).scalar_one_or_none()


def save_equipment(
    session: Session,
    actor,
    scope: Scope,
    data: dict,
    thresholds_config: Mapping,
    equipment: Equipment | None = None,
) -> Equipment:
    """Create or update one item; validates the domain rules and writes an audit event."""
    organization_id = _organization_to_lock(session, scope, data, equipment)
    if organization_id is not None:
        if equipment is not None:
            lock_item(session, equipment)
        else:
            lock_registry(session, organization_id)
    facility = _check_equipment(session, scope, data, equipment)
    if "service_life_years" in data and data["service_life_years"] is None:
        # a source names where the life comes from: with no life there is none
        data = {**data, "service_life_source": LifeSource.UNKNOWN}
    before = audit.snapshot(equipment, Equipment.AUDITED) if equipment else {}
    if equipment is None:
        equipment = Equipment(organization_id=facility.organization_id)
        session.add(equipment)
    for name in Equipment.AUDITED:
        if name in data:
            setattr(equipment, name, data[name])
    session.flush()
    after = audit.snapshot(equipment, Equipment.AUDITED)
    changes = audit.diff(before, after)
    if before and not changes:
        return equipment
    audit.record(
        session,
        actor=actor,
        entity=equipment,
        action="update" if before else "create",
        changes=changes,
        organization_id=equipment.organization_id,
    )
    refresh_curves(session, [equipment.id], thresholds_config)
    session.refresh(equipment)
    return equipment


def add_assessment(
    session: Session, actor, equipment: Equipment, data: dict, thresholds_config: Mapping
) -> ConditionAssessment:
    if data["assessed_on"] > clock.today():
        raise ValidationFailed({"assessed_on": _l("The assessment date cannot be in the future.")})
    return _add_event(
        session, actor, equipment, ConditionAssessment, data, "assessment_added", thresholds_config
    )


MAX_YEARS_AHEAD = 20  # no inspection interval or life extension reaches further


def add_inspection(
    session: Session, actor, equipment: Equipment, data: dict, thresholds_config: Mapping
) -> Inspection:
    errors = {}
    if data["done_on"] > clock.today():
        errors["done_on"] = _l("The date of the event cannot be in the future.")
    if data.get("next_due_on") and data["next_due_on"] <= data["done_on"]:
        errors["next_due_on"] = _l("The next due date must be after the date of the event.")
    if data.get("result") == InspectionResult.EXTENDED:
        if data.get("kind") != InspectionKind.EXPERTISE:
            errors["result"] = _l("Only an expertise can extend the service life.")
        elif not data.get("extended_until"):
            errors["extended_until"] = _l("Give the date until which the life is extended.")
        elif data["extended_until"] <= data["done_on"]:
            errors["extended_until"] = _l("The extension must end after the expertise date.")
    if data.get("result") == InspectionResult.REFUSED and data.get("kind") != (
        InspectionKind.EXPERTISE
    ):
        errors["result"] = _l("Only an expertise can refuse further use.")
    if data.get("extended_until") and data.get("result") != InspectionResult.EXTENDED:
        errors["extended_until"] = _l(
            "An extension date goes with the result «Service life extended» only."
        )
    latest = add_years(data["done_on"], MAX_YEARS_AHEAD)
    for name in ("next_due_on", "extended_until"):
        if name not in errors and data.get(name) and data[name] > latest:
            errors[name] = _l(
                "At most %(n)s years after the date of the event (until %(d)s).",
                n=MAX_YEARS_AHEAD,
                d=latest.strftime("%d.%m.%Y"),
            )
    if errors:
        raise ValidationFailed(errors)
    return _add_event(
        session, actor, equipment, Inspection, data, "inspection_added", thresholds_config
    )


def _add_event(session, actor, equipment, model, data: dict, action: str, thresholds_config):
    """Store an assessment or inspection of an item, audit it on the item, refresh its curve."""
    lock_registry(session, equipment.organization_id)  # the curve from every event committed
    item = model(equipment_id=equipment.id, created_by_id=getattr(actor, "id", None))
    for name in model.AUDITED:
        if name in data:
            setattr(item, name, data[name])
    session.add(item)
    session.flush()
    audit.record(
        session,
        actor=actor,
        entity=equipment,
        action=action,
        changes=audit.diff({}, audit.snapshot(item, model.AUDITED)),
        organization_id=equipment.organization_id,
    )
    refresh_curves(session, [equipment.id], thresholds_config)
    return item
