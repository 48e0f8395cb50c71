"""Undo a committed batch, and drop a previewed one.

What a batch did is read from the audit events its commit wrote (``apply._audit_events``:
each carries ``import_batch``): ``import_create`` (an item or a facility it created),
``import_update`` (each field before → after, and ``wear_pct`` / ``last_inspection_on`` /
``next_inspection_on`` for the assessment and examination it added or moved) and
``import_decommission``. The assessments and examinations it inserted are those of its items
created at the commit's instant (``created_at`` is the events' ``at``: one ``now`` per commit).

A revert goes ahead only while nothing the batch touched has changed since: no later audit
event on any of its items or facilities (a form, the API, another import, an assessment or an
examination added), no other item in a facility it created. Otherwise ``RevertRefused`` lists
what changed and nothing is written. It runs in the caller's transaction under the
organization's registry lock, claims the batch (committed → reverted: of two reverts at the
same moment one wins) and writes one audit event per item and facility it gives back, each
«before» being the batch's «after»."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Date, delete, insert, select
from sqlalchemy import Enum as SAEnum

from core.audit import AuditEvent, jsonable
from core.db import bulk_update, claim, utcnow
from equipment.catalog import AssessmentMethod, InspectionKind
from equipment.imports.models import ImportBatch, ImportStatus
from equipment.imports.planner import EQUIPMENT_FIELDS
from equipment.imports.refused import ImportRefused
from equipment.models import ConditionAssessment, Equipment, Facility, Inspection
from equipment.services import lock_registry, refresh_curves

CHUNK = 5_000  # ids per IN list (PostgreSQL takes at most 65,535 parameters a statement)
BATCH_ACTIONS = ("import_create", "import_update", "import_decommission")
REVERT = "import_revert"  # an item's or facility's fields given back
REVERT_DELETE = "import_revert_delete"  # an item or facility the batch created, removed
# the fields of an update event that are not columns of the item
_NOT_COLUMNS = {"import_batch", "import_row", "import_sheet", "facility"}
_ADDED = ("wear_pct", "last_inspection_on", "next_inspection_on")


@dataclass
class Blocker:
    """Something the batch touched that changed since: the item (or facility), what, who,
    when."""

    entity_type: str
    entity_id: int
    label: str
    action: str
    fields: list[str]
    actor: str | None
    at: datetime | None

    def as_json(self) -> dict:
        return {
            "entity_type": self.entity_type,
            "entity_id": self.entity_id,
            "item": self.label,
            "action": self.action,
            "fields": self.fields,
            "by": self.actor,
            "at": self.at.isoformat() if self.at else None,
        }


class RevertRefused(ImportRefused):
    """The batch cannot be reverted; ``blockers`` says what changed since (may be empty when
    the batch is not in a state that can be reverted)."""

    def __init__(self, message, blockers: list[Blocker] | None = None):
        super().__init__(message)
        self.blockers = blockers or []


CHANGED_SINCE = _l(
    "The import cannot be reverted: %(n)s of the items and facilities it loaded have changed "
    "since (listed below). Nothing was changed; correct them by hand instead."
)


def _chunks(ids):
    ids = list(ids)
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def batch_events(session, batch: ImportBatch) -> list[AuditEvent]:
    """The audit events the batch's commit wrote, in their order."""
    stmt = (
        select(AuditEvent)
        .where(
            AuditEvent.organization_id == batch.organization_id,
            AuditEvent.action.in_(BATCH_ACTIONS),
            AuditEvent.entity_type.in_((Equipment.__tablename__, Facility.__tablename__)),
        )
        .order_by(AuditEvent.id)
    )
    # the commit wrote them between the preview and its end: a narrow window of the trail
    stmt = stmt.where(AuditEvent.at >= batch.created_at)
    if batch.committed_at is not None:
        stmt = stmt.where(AuditEvent.at <= batch.committed_at)
    return [
        ev
        for ev in session.execute(stmt).scalars()
        if ((ev.changes or {}).get("import_batch") or [None, None])[1] == batch.id
    ]


@dataclass
class _Done:
    """What the batch did, by kind."""

    created: dict[int, AuditEvent]
    updated: dict[int, AuditEvent]
    decommissioned: dict[int, AuditEvent]
    facilities: dict[int, AuditEvent]
    at: datetime | None
    last_id: int

    @property
    def items(self) -> set[int]:
        return set(self.created) | set(self.updated) | set(self.decommissioned)


def _what_it_did(events: list[AuditEvent]) -> _Done:
    done = _Done({}, {}, {}, {}, None, 0)
    for ev in events:
        done.last_id = max(done.last_id, ev.id)
        if ev.entity_type == Facility.__tablename__:
            done.facilities[ev.entity_id] = ev
            continue
        done.at = ev.at
        kind = {
            "import_create": done.created,
            "import_update": done.updated,
            "import_decommission": done.decommissioned,
        }[ev.action]
        kind[ev.entity_id] = ev
    return done


def changes_since(session, batch: ImportBatch, done: _Done | None = None) -> list[Blocker]:
    """What changed since the batch on what it touched (nothing: it can be reverted)."""
    if done is None:
        done = _what_it_did(batch_events(session, batch))
    blockers: list[Blocker] = []
    labels = _item_labels(session, done.items)
    facility_labels = _facility_labels(session, set(done.facilities))
    for kind, ids, names in (
        (Equipment.__tablename__, done.items, labels),
        (Facility.__tablename__, set(done.facilities), facility_labels),
    ):
        for chunk in _chunks(sorted(ids)):
            later = session.execute(
                select(AuditEvent)
                .where(
                    AuditEvent.entity_type == kind,
                    AuditEvent.entity_id.in_(chunk),
                    AuditEvent.id > done.last_id,
                )
                .order_by(AuditEvent.id)
            ).scalars()
            blockers.extend(
                Blocker(
                    kind,
                    ev.entity_id,
                    names.get(ev.entity_id, f"#{ev.entity_id}"),
                    ev.action,
                    [k for k in (ev.changes or {}) if k not in _NOT_COLUMNS - {"facility"}],
                    ev.actor_email,
                    ev.at,
                )
                for ev in later
            )
    # items put into a facility the batch created, by anyone but the batch
    for chunk in _chunks(sorted(done.facilities)):
        others = session.execute(
            select(Equipment.id, Equipment.inventory_no, Equipment.name, Equipment.facility_id)
            .where(Equipment.facility_id.in_(chunk))
            .order_by(Equipment.inventory_no)
        ).all()
        blockers.extend(
            Blocker(
                Equipment.__tablename__,
                item_id,
                f"{number} — {name}",
                "create",
                ["facility_id"],
                None,
                None,
            )
            for item_id, number, name, _facility in others
            if item_id not in done.created
        )
    # an item it created or changed that is gone
    blockers.extend(
        Blocker(Equipment.__tablename__, i, f"#{i}", "deleted", [], None, None)
        for i in sorted(done.items - set(labels))
    )
    return blockers


def _item_labels(session, ids) -> dict[int, str]:
    out = {}
    for chunk in _chunks(sorted(ids)):
        rows = session.execute(
            select(Equipment.id, Equipment.inventory_no, Equipment.name).where(
                Equipment.id.in_(chunk)
            )
        )
        out.update({i: f"{number} — {name}" for i, number, name in rows})
    return out


def _facility_labels(session, ids) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(
        select(Facility.id, Facility.code, Facility.name).where(Facility.id.in_(sorted(ids)))
    )
    return {i: f"{code} — {name}" for i, code, name in rows}


def revert_batch(session, actor, batch: ImportBatch, thresholds_config) -> dict[str, int]:
    """Undo a committed batch in the caller's transaction (roll it back on RevertRefused).
    Returns the counts: ``removed`` (items), ``restored`` (items whose fields came back),
    ``recommissioned``, ``facilities_removed``."""
    lock_registry(session, batch.organization_id)
    committed = {"status": ImportStatus.COMMITTED}
    if not claim(session, ImportBatch, batch.id, committed, status=ImportStatus.REVERTED):
        raise RevertRefused(_l("Only a loaded import can be reverted, and only once."))
    done = _what_it_did(batch_events(session, batch))
    blockers = changes_since(session, batch, done)
    if blockers:
        raise RevertRefused(CHANGED_SINCE, blockers) from None
    now = utcnow()
    events: list[dict] = []
    base = {
        "actor_id": getattr(actor, "id", None),
        "actor_email": getattr(actor, "email", None),
        "organization_id": batch.organization_id,
        "at": now,
    }
    mark = {"import_batch": [None, batch.id]}

    # 1. fields the batch updated, and the statuses it decommissioned, back to before
    facility_ids = dict(
        session.execute(
            select(Facility.code, Facility.id).where(
                Facility.organization_id == batch.organization_id
            )
        ).all()
    )
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for item_id, ev in [*done.updated.items(), *done.decommissioned.items()]:
        params, given_back = _before_values(ev.changes or {}, facility_ids)
        if params:
            groups[tuple(sorted(params))].append({"id": item_id, **params, "updated_at": now})
        events.append(
            {
                **base,
                "entity_type": Equipment.__tablename__,
                "entity_id": item_id,
                "action": REVERT,
                "changes": {**given_back, **mark},
            }
        )
    for rows in groups.values():
        bulk_update(session, Equipment, rows)

    # 2. the examinations whose next date it moved, back to their date
    _restore_moved_examinations(session, done)

    # 3. the assessments and examinations it added, then the items and facilities it created
    touched = sorted(done.items)
    if done.at is not None:
        for chunk in _chunks(touched):
            session.execute(
                delete(ConditionAssessment).where(
                    ConditionAssessment.equipment_id.in_(chunk),
                    ConditionAssessment.created_at == done.at,
                    ConditionAssessment.method == AssessmentMethod.IMPORT,
                )
            )
            session.execute(
                delete(Inspection).where(
                    Inspection.equipment_id.in_(chunk), Inspection.created_at == done.at
                )
            )
    for chunk in _chunks(sorted(done.created)):
        rows = session.execute(
            select(*(getattr(Equipment, f) for f in Equipment.AUDITED), Equipment.id).where(
                Equipment.id.in_(chunk)
            )
        ).all()
        for values in rows:
            events.append(
                {
                    **base,
                    "entity_type": Equipment.__tablename__,
                    "entity_id": values[-1],
                    "action": REVERT_DELETE,
                    "changes": {
                        **{
                            f: [jsonable(v), None]
                            for f, v in zip(Equipment.AUDITED, values[:-1], strict=True)
                            if v is not None
                        },
                        **mark,
                    },
                }
            )
        session.execute(delete(Equipment).where(Equipment.id.in_(chunk)))
    if done.facilities:
        ids = sorted(done.facilities)
        columns = [getattr(Facility, f) for f in Facility.AUDITED]
        for facility_id, *values in session.execute(
            select(Facility.id, *columns).where(Facility.id.in_(ids))
        ):
            events.append(
                {
                    **base,
                    "entity_type": Facility.__tablename__,
                    "entity_id": facility_id,
                    "action": REVERT_DELETE,
                    "changes": {
                        **{
                            f: [jsonable(v), None]
                            for f, v in zip(Facility.AUDITED, values, strict=True)
                        },
                        **mark,
                    },
                }
            )
        session.execute(delete(Facility).where(Facility.id.in_(ids)))

    # 4. the wear curves of the items that stay, from what they now hold
    refresh_curves(session, sorted(set(done.updated) | set(done.decommissioned)), thresholds_config)
    counts = {
        "removed": len(done.created),
        "restored": len(done.updated),
        "recommissioned": len(done.decommissioned),
        "facilities_removed": len(done.facilities),
    }
    events.append(
        {
            **base,
            "entity_type": ImportBatch.__tablename__,
            "entity_id": batch.id,
            "action": REVERT,
            "changes": {
                "status": [ImportStatus.COMMITTED.value, ImportStatus.REVERTED.value],
                **{k: [None, v] for k, v in counts.items()},
            },
        }
    )
    if events:
        session.execute(insert(AuditEvent), events)
    return counts


def _before_values(changes: dict, facility_ids: dict[str, int]) -> tuple[dict, dict]:
    """The columns to write back ({column: value}) and the revert's audit changes
    ({field: [after, before]}) of one update or decommission event."""
    params: dict = {}
    given_back: dict = {}
    columns = Equipment.__table__.c
    for name, pair in changes.items():
        if name in _NOT_COLUMNS - {"facility"} or not isinstance(pair, list) or len(pair) != 2:
            continue
        before, after = pair
        given_back[name] = [after, before]
        if name == "facility":
            if before in facility_ids:
                params["facility_id"] = facility_ids[before]
        elif name in EQUIPMENT_FIELDS or name == "status":
            params[name] = _column_value(columns[name].type, before)
    return params, given_back


def _column_value(column_type, value):
    """An audit event's JSON value as the column takes it."""
    if value is None:
        return None
    if isinstance(column_type, Date) and isinstance(value, str):
        return date.fromisoformat(value)
    if isinstance(column_type, SAEnum) and column_type.enum_class is not None:
        return column_type.enum_class(value)
    return value


def _restore_moved_examinations(session, done: _Done) -> None:
    """An update that moved the next date of a known examination: the examination of the
    item done before the batch whose next date is the batch's, back to the date before."""
    moved = {
        item_id: ev.changes["next_inspection_on"]
        for item_id, ev in done.updated.items()
        if "next_inspection_on" in (ev.changes or {})
        and "last_inspection_on" not in ev.changes  # a new examination: deleted with the rest
    }
    if not moved or done.at is None:
        return
    rows = []
    for chunk in _chunks(sorted(moved)):
        found = session.execute(
            select(Inspection.id, Inspection.equipment_id, Inspection.next_due_on)
            .where(
                Inspection.equipment_id.in_(chunk),
                Inspection.kind == InspectionKind.EXAMINATION,
                Inspection.created_at != done.at,
            )
            .order_by(Inspection.done_on.desc(), Inspection.id.desc())
        ).all()
        seen = set()
        for inspection_id, item_id, next_due in found:
            before, after = moved[item_id]
            if item_id in seen or next_due is None or next_due.isoformat() != after:
                continue
            seen.add(item_id)
            rows.append(
                {"id": inspection_id, "next_due_on": date.fromisoformat(before) if before else None}
            )
    bulk_update(session, Inspection, rows)


def discard_batch(session, batch: ImportBatch) -> None:
    """A previewed batch dropped: its stored file and parse are deleted, it cannot be
    committed any more. Raises ImportRefused for a batch in any other state."""
    previewed = {"status": ImportStatus.PREVIEWED}
    if not claim(
        session,
        ImportBatch,
        batch.id,
        previewed,
        status=ImportStatus.DISCARDED,
        content=b"",
        parsed=None,
    ):
        raise ImportRefused(_l("Only a checked file that has not been loaded can be discarded."))


def revert_info(session, batch: ImportBatch) -> AuditEvent | None:
    """The event of the batch's revert (who and when), if it was reverted."""
    if batch.status != ImportStatus.REVERTED:
        return None
    return session.execute(
        select(AuditEvent)
        .where(
            AuditEvent.entity_type == ImportBatch.__tablename__,
            AuditEvent.entity_id == batch.id,
            AuditEvent.action == REVERT,
        )
        .order_by(AuditEvent.id.desc())
        .limit(1)
    ).scalar_one_or_none()
