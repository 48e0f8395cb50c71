"""Apply a plan in the caller's transaction, all or nothing, set-based.

The updates first, then every insert in one BulkWriter (PostgreSQL: one COPY after the other,
sent while the next rows are prepared): new items get their ids up front, so their
assessments, examinations and audit events need no query for them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from core.audit import AuditEvent, jsonable
from core.audit import record as audit_record
from core.audit import snapshot as snapshot_of
from core.db import BulkWriter, bulk_update, reserve_ids, utcnow
from equipment.catalog import (
    AssessmentMethod,
    DeviceType,
    EquipmentStatus,
    InspectionKind,
    InspectionResult,
    LifeSource,
)
from equipment.explain import UNDATED_IMPORT_NOTE
from equipment.imports.planner import EQUIPMENT_FIELDS, ImportOptions, ImportPlan, RowPlan
from equipment.imports.refused import DecommissionNotConfirmed, ImportRefused
from equipment.inventory import inventory_key
from equipment.models import ConditionAssessment, Equipment, Facility, Inspection
from equipment.search import search_text
from equipment.services import CURVE_FIELDS, refresh_curves
from equipment.wear import WearInputs, thresholds_for, wear_curve


def check_can_apply(plan: ImportPlan, options: ImportOptions) -> None:
    """Refuse a plan with invalid rows, new facilities or warnings the options do not allow,
    or with nothing to load."""
    if plan.errors and not options.commit_valid_only:
        raise ImportRefused(
            _l(
                "The file has %(n)s rows with errors. Fix them or explicitly allow loading "
                "only the valid rows.",
                n=plan.counts()["invalid"],
            )
        )
    if plan.new_facilities and not options.create_facilities:
        raise ImportRefused(
            _l(
                "The file names facilities that are not in the registry: %(names)s. Allow "
                "creating them or correct the facility codes in the file.",
                names=", ".join(f["label"] for f in plan.new_facilities[:10]),
            )
        )
    if plan.warnings and not options.confirm_warnings:
        raise ImportRefused(
            _l(
                "%(warnings)s Confirm the load if the list is this organization's after all.",
                warnings=" ".join(plan.warnings),
            )
        )
    if not plan.rows:
        raise ImportRefused(_l("The file has no valid row: there is nothing to load."))
    # the second confirmation: the number of items, the one this plan decommissions
    if (
        options.decommission_missing
        and plan.missing
        and options.confirm_decommission != len(plan.missing)
    ):
        raise DecommissionNotConfirmed(len(plan.missing), options.confirm_decommission)


def apply_plan(
    session: Session,
    actor,
    organization,
    plan: ImportPlan,
    options: ImportOptions,
    thresholds_config,
    batch_id: int | None = None,
) -> dict[str, int]:
    """Write the plan in the caller's transaction, set-based. Returns the counts."""
    check_can_apply(plan, options)
    now = utcnow()
    facility_ids = _create_facilities(session, actor, organization, plan, batch_id)

    def facility_of(row: RowPlan) -> int:
        kind, value = row.facility_key
        return facility_ids[value] if kind == "new" else int(value)

    creates = [r for r in plan.rows if r.action == "create"]
    updates = [r for r in plan.rows if r.action == "update"]
    _update_items(session, plan, updates, facility_of, now)
    decommissioned = _decommission_missing(session, plan, options, now)
    for row, item_id in zip(creates, reserve_ids(session, Equipment, len(creates)), strict=True):
        row.equipment_id = item_id
    # Who, read now: inside the block the writer thread owns the connection, and an expired
    # actor (a user loaded before a commit) would load its attributes through it: a deadlock.
    actor = _Actor(getattr(actor, "id", None), getattr(actor, "email", None))
    with BulkWriter(session) as writer:
        if creates:
            thresholds_of = _thresholds_by_type(thresholds_config)
            writer.insert(
                Equipment,
                (
                    _new_item(r, organization.id, facility_of(r), now, thresholds_of)
                    for r in creates
                ),
            )
        writer.insert(ConditionAssessment, _assessments(plan, actor, batch_id, now))
        writer.insert(Inspection, _examinations(plan, actor, now))
        writer.insert(
            AuditEvent, _audit_events(actor, organization.id, plan, decommissioned, batch_id, now)
        )
    refresh_curves(session, [r.equipment_id for r in updates], thresholds_config)
    counts = plan.counts()
    counts["decommissioned"] = len(decommissioned)
    counts["facilities_created"] = len(facility_ids)
    return counts


@dataclass(frozen=True, slots=True)
class _Actor:
    id: int | None
    email: str | None


def _create_facilities(session: Session, actor, organization, plan, batch_id) -> dict[str, int]:
    """The plan's new facilities (codes planned unique by plan_parsed), audited: label → id."""
    facility_ids = {}
    for new in plan.new_facilities:
        facility = Facility(
            organization_id=organization.id,
            code=new["code"],
            name=new["name"],
            region_id=organization.region_id,
        )
        session.add(facility)
        session.flush()
        facility_ids[new["label"]] = facility.id
        changes = {k: [None, v] for k, v in snapshot_of(facility, Facility.AUDITED).items()}
        audit_record(
            session,
            actor=actor,
            entity=facility,
            action="import_create",
            changes={**changes, "import_batch": [None, batch_id]},
            organization_id=organization.id,
        )
    return facility_ids


def _update_items(
    session: Session,
    plan: ImportPlan,
    updates: list[RowPlan],
    facility_of: Callable[[RowPlan], int],
    now: datetime,
) -> None:
    """The changed fields of known items, one UPDATE per set of fields, and the next dates of
    the examinations on record that the file moves."""
    file_fields = [f for f in EQUIPMENT_FIELDS if f in set(plan.mapping.values())]
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for row in updates:
        fields = tuple(f for f in file_fields if f in row.changes)
        params = {"id": row.equipment_id, "facility_id": facility_of(row), "updated_at": now}
        params.update({f: row.values.get(f) for f in fields})
        groups[fields].append(params)
    for params in groups.values():
        bulk_update(session, Equipment, params)
    bulk_update(
        session,
        Inspection,
        [
            {"id": r.inspection_due[0], "next_due_on": r.inspection_due[1]}
            for r in plan.rows
            if r.inspection_due
        ],
    )


def _decommission_missing(session: Session, plan: ImportPlan, options, now) -> list[int]:
    if not (options.decommission_missing and plan.missing):
        return []
    decommissioned = [m["id"] for m in plan.missing]
    bulk_update(
        session,
        Equipment,
        [
            {"id": i, "status": EquipmentStatus.DECOMMISSIONED, "updated_at": now}
            for i in decommissioned
        ],
    )
    return decommissioned


def _assessments(plan: ImportPlan, actor, batch_id, now) -> Iterator[dict]:
    actor_id = getattr(actor, "id", None)
    document = f"Импорт №{batch_id}" if batch_id else "Импорт"
    for r in plan.rows:
        if r.assessment:
            yield {
                "equipment_id": r.equipment_id,
                "wear_pct": r.assessment[0],
                "assessed_on": r.assessment[1],
                "method": AssessmentMethod.IMPORT,
                "created_by_id": actor_id,
                "created_at": now,
                "document_ref": document,
                "notes": None if r.values.get("assessed_on") else UNDATED_IMPORT_NOTE,
            }


def _examinations(plan: ImportPlan, actor, now) -> Iterator[dict]:
    actor_id = getattr(actor, "id", None)
    for r in plan.rows:
        if r.inspection:
            yield {
                "equipment_id": r.equipment_id,
                "kind": InspectionKind.EXAMINATION,
                "done_on": r.inspection[0],
                "next_due_on": r.inspection[1],
                "result": InspectionResult.PASSED,
                "created_by_id": actor_id,
                "created_at": now,
                "extended_until": None,
                "document_no": None,
                "organization_name": None,
                "notes": None,
            }


_CURVE_OF = attrgetter(*(name.removeprefix("wear_") for name in CURVE_FIELDS))


def _new_item(row: RowPlan, org_id: int, facility_id: int, now: datetime, thresholds_of) -> dict:
    """The insert row of a new item, its wear curve computed from the file's own data (a new
    item has no other history), so no second pass over the database is needed."""
    values = row.values
    item = dict(zip(EQUIPMENT_FIELDS, map(values.get, EQUIPMENT_FIELDS), strict=True))
    item["device_type"] = item["device_type"] or DeviceType.OTHER
    item["status"] = item["status"] or EquipmentStatus.IN_SERVICE
    assessment, inspection = row.assessment, row.inspection
    curve = wear_curve(
        WearInputs(
            commissioned_on=item["commissioned_on"],
            manufacture_year=item["manufacture_year"],
            service_life_years=item["service_life_years"],
            assessed_pct=assessment[0] if assessment else None,
            assessed_on=assessment[1] if assessment else None,
            next_inspection_due=inspection[1] if inspection else None,
            cycle_limit=item["cycle_limit"],
            cycle_count=item["cycle_count"],
        ),
        thresholds_of(item["device_type"]),
    )
    item.update(zip(CURVE_FIELDS, _CURVE_OF(curve), strict=True))
    item["id"] = row.equipment_id  # reserved by apply_plan
    item["organization_id"] = org_id
    item["facility_id"] = facility_id
    item["inventory_no"] = row.inventory_no
    item["inventory_key"] = inventory_key(row.inventory_no)
    item["service_life_source"] = (
        LifeSource.UNKNOWN if item["service_life_years"] is None else LifeSource.NORM
    )
    item["created_at"] = item["updated_at"] = now
    item["search_text"] = search_text(item)  # the column default would build a context per row
    return item


def _thresholds_by_type(config):
    """``thresholds_for`` of each device type, worked out once per import."""
    known: dict = {}

    def of(device_type):
        found = known.get(device_type)
        if found is None:
            found = known[device_type] = thresholds_for(device_type, config)
        return found

    return of


def _audit_events(actor, org_id, plan, decommissioned, batch_id, now) -> Iterator[dict]:
    several_sheets = len({s["name"] for s in plan.sheets if s.get("read")}) > 1
    base = {
        "actor_id": getattr(actor, "id", None),
        "actor_email": getattr(actor, "email", None),
        "organization_id": org_id,
        "entity_type": Equipment.__tablename__,
        "at": now,
    }
    for row in plan.rows:
        if row.action == "unchanged":
            continue
        if row.action == "create":
            # The item's first values are its row in the batch's stored original file: the
            # event points there instead of copying them (a third of a 100,000-row commit).
            changes = {"import_row": [None, row.excel_row]}
            if several_sheets:  # the row number alone would not say where
                changes["import_sheet"] = [None, row.sheet]
        else:
            changes = {k: [jsonable(a), jsonable(b)] for k, (a, b) in row.changes.items()}
        changes["import_batch"] = [None, batch_id]
        yield (
            {
                **base,
                "entity_id": row.equipment_id,
                "action": "import_" + row.action,
                "changes": changes,
            }
        )
    for item_id in decommissioned:
        yield (
            {
                **base,
                "entity_id": item_id,
                "action": "import_decommission",
                "changes": {
                    "status": [
                        jsonable(plan.missing_status.get(item_id, EquipmentStatus.IN_SERVICE)),
                        jsonable(EquipmentStatus.DECOMMISSIONED),
                    ],
                    "import_batch": [None, batch_id],
                },
            }
        )
