"""Plan an import (the dry run): what a parsed list would change in the registry.

``read_and_plan`` reads the file (``equipment.imports.excel``), matches rows to the organization's
registry with a handful of queries (never one per row) and returns an ``ImportPlan``: what
would be created, updated (field by field), left unchanged, which rows are invalid and which
items of the covered facilities the file no longer lists. ``plan_parsed`` does the same from
a list already parsed (the commit plans again from the preview's stored parse)."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple

import orjson
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock
from core.audit import jsonable
from equipment.catalog import EquipmentStatus, InspectionKind
from equipment.imports.excel import Limits, ParseResult, parse_asset_list
from equipment.imports.matching import (
    _Facilities,
    _same,
    facility_code_key,
    facility_name_key,
)
from equipment.inventory import inventory_key
from equipment.models import Equipment, Inspection
from equipment.services import _only, iter_latest_assessments

EQUIPMENT_FIELDS = (
    "name",
    "device_type",
    "model",
    "manufacturer",
    "factory_no",
    "registration_no",
    "manufacture_year",
    "commissioned_on",
    "service_life_years",
    "cycle_limit",
    "cycle_count",
    "pressure_mpa",
    "temperature_c",
    "medium",
    "capacity",
    "status",
    "notes",
)
WEAR_TOLERANCE = 0.05
STREAM_CHUNK = 5_000  # registry rows fetched at a time while a plan is built
DIGEST_CHUNK = 10_000  # plan rows hashed at a time
REPORT_LIMIT = 2000  # rows of each list kept in the stored report (counts are always exact)


@dataclass
class ImportOptions:
    create_facilities: bool = False
    decommission_missing: bool = False
    commit_valid_only: bool = False
    default_facility_id: int | None = None
    mapping: dict | None = None
    # the preview warned (a BIN of another organization in the title) and the user agreed
    confirm_warnings: bool = False
    # the number of items decommission_missing will decommission, as the user confirmed it
    confirm_decommission: int | None = None

    @classmethod
    def from_dict(cls, data: dict | None) -> ImportOptions:
        data = data or {}
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(slots=True)
class RowPlan:
    excel_row: int
    inventory_no: str
    action: str  # create | update | unchanged
    equipment_id: int | None
    facility_key: tuple[str, str]  # ("id", "12") for existing, ("new", label) for new ones
    values: dict[str, Any]
    changes: dict[str, list] = field(default_factory=dict)
    assessment: tuple[float, date] | None = None
    inspection: tuple[date, date | None] | None = None
    # (inspection id, next due date) when the file changes the next date of a known examination
    inspection_due: tuple[int, date] | None = None
    sheet: str = ""


@dataclass
class ImportPlan:
    sheet_name: str
    header_row: int
    mapping: dict[str, str]
    ignored_columns: list[str]
    rows_read: int
    rows: list[RowPlan]
    errors: list[dict]
    missing: list[dict]
    new_facilities: list[str]
    # invalid rows by Excel row: {"inventory_no", "facility"} as far as they could be read
    failed: dict[int, dict] = field(default_factory=dict)
    # status of each missing item (by id), for the audit of a decommission
    missing_status: dict[int, Any] = field(default_factory=dict)
    sheets: list[dict] = field(default_factory=list)  # each sheet: read or skipped and why
    skipped_rows: list[dict] = field(default_factory=list)  # rows not read as data, and why
    notes: list[str] = field(default_factory=list)  # what was corrected or needs a look
    warnings: list[str] = field(default_factory=list)  # what needs a confirmation to commit
    as_of: date | None = None  # the date of the wear values that have none of their own
    ignored_reasons: dict[str, str] = field(default_factory=dict)
    facility_codes: dict[int, str] = field(default_factory=dict)  # the registry's, by id

    def counts(self) -> dict[str, int]:
        by_action = defaultdict(int)
        for row in self.rows:
            by_action[row.action] += 1
        return {
            "rows": self.rows_read,
            "created": by_action["create"],
            "updated": by_action["update"],
            "unchanged": by_action["unchanged"],
            "invalid": len({(e.get("sheet", ""), e["row"]) for e in self.errors}),
            "missing": len(self.missing),
            "new_facilities": len(self.new_facilities),
        }

    def digest(self) -> str:
        """Fingerprint of the change itself, to refuse a commit of a plan that moved.

        The preview and the commit build their plans with the same code from the same stored
        parse, so the JSON of each changed row's material (orjson: dates, enums and floats
        written one way only, dicts in their fixed order) is the same exactly when the change
        is; hashed a few thousand rows at a time, without a document of the whole plan."""
        digest = hashlib.sha256()
        changed = [r for r in self.rows if r.action != "unchanged"]
        for start in range(0, len(changed), DIGEST_CHUNK):
            digest.update(
                orjson.dumps(
                    [
                        (
                            r.inventory_no,
                            r.action,
                            r.equipment_id,
                            r.facility_key,
                            r.changes,
                            r.assessment,
                            r.inspection,
                            r.inspection_due,
                        )
                        for r in changed[start : start + DIGEST_CHUNK]
                    ],
                    default=repr,  # Decimal (numeric columns), the one type orjson leaves out
                )
            )
        tail = (
            [m["id"] for m in self.missing],
            self.new_facilities,
            [(e.get("sheet"), e["row"], e["column"]) for e in self.errors],
        )
        digest.update(orjson.dumps(tail, default=repr))
        return digest.hexdigest()

    def _item_summary(self, row: RowPlan) -> dict:
        """What a new item is, for the preview: its name, kind and facility."""
        kind, value = row.facility_key
        return {
            "name": row.values.get("name"),
            "device_type": jsonable(row.values.get("device_type")),
            "facility": self.facility_codes.get(int(value)) if kind == "id" else value,
        }

    def report(self) -> dict:
        changed = [r for r in self.rows if r.action != "unchanged"]
        return {
            "sheet": self.sheet_name,
            "header_row": self.header_row,
            "mapping": self.mapping,
            "ignored_columns": self.ignored_columns,
            "counts": self.counts(),
            "errors": self.errors[:REPORT_LIMIT],
            "error_count": len(self.errors),  # the list above may be cut
            "changes": [
                {
                    "row": r.excel_row,
                    "sheet": r.sheet,
                    "inventory_no": r.inventory_no,
                    "action": r.action,
                    "changes": {k: [jsonable(a), jsonable(b)] for k, (a, b) in r.changes.items()},
                    **({"item": self._item_summary(r)} if r.action == "create" else {}),
                }
                for r in changed[:REPORT_LIMIT]
            ],
            "missing": self.missing[:REPORT_LIMIT],
            "new_facilities": [f["label"] for f in self.new_facilities],
            # the code and name each new facility will get
            "new_facility_plan": self.new_facilities,
            "sheets": self.sheets,
            "skipped_rows": self.skipped_rows[:REPORT_LIMIT],
            "skipped_count": len(self.skipped_rows),
            "notes": self.notes,
            "warnings": self.warnings,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "ignored_reasons": self.ignored_reasons,
        }


def read_and_plan(
    session: Session,
    organization_id: int,
    data: bytes,
    filename: str,
    options: ImportOptions,
    limits: Limits | None = None,
    today: date | None = None,
) -> tuple[ParseResult, ImportPlan]:
    """Read the file and compare it with the registry: the parse and the plan. Raises
    FileRejected for bad files. The registry's history is fetched while the sheet loads."""
    history = RegistryHistory(session, organization_id)
    parsed = parse_asset_list(
        data,
        filename,
        limits=limits or Limits(),
        mapping=options.mapping,
        beside=history.fetch,
    )
    return parsed, plan_parsed(session, organization_id, parsed, options, today, history)


class RegistryHistory:
    """What a plan needs of the organization's past, whatever the file says: each item's
    latest assessment, and its examinations by date. Each part is fetched once, when first
    asked for, or by ``fetch`` (while a workbook loads: ``read_and_plan``)."""

    def __init__(self, session: Session, organization_id: int):
        self._session = session
        self._organization_id = organization_id
        self._wear: dict[int, tuple[float, date]] | None = None
        self._exams: dict[tuple[int, date], tuple[int, date | None]] | None = None

    def fetch(self) -> None:
        self.latest_wear()
        self.examinations()

    def latest_wear(self) -> dict[int, tuple[float, date]]:
        """Item → (wear %, assessed on) of its latest assessment."""
        if self._wear is None:
            self._wear = {
                item_id: (wear, assessed_on)
                for item_id, wear, assessed_on, _condition in iter_latest_assessments(
                    self._session, lambda col: _only(col, None, self._organization_id)
                )
            }
        return self._wear

    def examinations(self) -> dict[tuple[int, date], tuple[int, date | None]]:
        """(item, done on) → (id, next due) of its examination of that day; the latest wins."""
        if self._exams is None:
            exams = (
                select(
                    Inspection.equipment_id,
                    Inspection.done_on,
                    Inspection.id,
                    Inspection.next_due_on,
                )
                .where(
                    Inspection.kind == InspectionKind.EXAMINATION,
                    _only(Inspection.equipment_id, None, self._organization_id),
                )
                .order_by(Inspection.id)
            )
            rows = self._session.connection().execute(
                exams.execution_options(yield_per=STREAM_CHUNK)
            )
            self._exams = {(item, done): (exam, due) for item, done, exam, due in rows}
        return self._exams


@dataclass(slots=True)
class _Planning:
    """What the steps of one plan share: the organization's facilities, the facility of rows
    that name none, and the invalid rows found so far."""

    facilities: _Facilities
    default_facility: int | None
    errors: list[dict]
    # what the invalid rows hold, for `missing` and errors.xlsx, by (sheet, Excel row)
    failed: dict[tuple[str, int], dict]

    def refuse_row(self, sheet, excel_row, inventory_no, facility, column, message) -> None:
        self.failed[(sheet, excel_row)] = {"inventory_no": inventory_no, "facility": facility}
        self.errors.append(
            {"row": excel_row, "sheet": sheet, "column": column, "value": "", "message": message}
        )


class _Compared(NamedTuple):
    by_id: dict[int, RowPlan]  # the rows of items already in the registry
    absent: list[tuple]  # items of the file's facilities that the file does not list
    moved_to_new: int  # items the file moves into facilities not in the registry


def plan_parsed(
    session: Session,
    organization_id: int,
    parsed: ParseResult,
    options: ImportOptions,
    today: date | None = None,
    history: RegistryHistory | None = None,
) -> ImportPlan:
    """Compare a parsed list with the registry as it is now.

    The file's rows are held (they are the plan); the registry is streamed past them and only
    what differs is kept, so a re-load of 100,000 items does not hold the registry twice."""
    today = today or clock.today()
    planning = _start(session, organization_id, parsed, options)
    # 1. The file's rows, in file order, each with its facility.
    rows, new_facilities = _file_rows(parsed, planning)
    # 2. The registry streamed past them: updates field by field, and the missing items.
    compared = _compare_with_registry(session, organization_id, parsed, rows, planning)
    # 3. and 4. The history of the file's items, then each row's verdict, in file order.
    # wear without a date of its own is dated by the list («по состоянию на 03.11.2026»)
    as_of = parsed.as_of if parsed.as_of and parsed.as_of <= today else today
    history = history or RegistryHistory(session, organization_id)
    kept = _verdicts(rows, compared.by_id.values(), history, as_of, planning)
    missing, missing_status = _missing(compared.absent, kept, planning.facilities)
    warnings = _bin_warnings(session, organization_id, parsed.bins)
    if compared.moved_to_new:
        warnings.append(_moved_to_new_warning(compared.moved_to_new, new_facilities))
    return ImportPlan(
        sheet_name=parsed.sheet_name,
        header_row=parsed.header_row,
        mapping=dict(parsed.mapping),
        ignored_columns=list(parsed.ignored_columns),
        rows_read=parsed.rows_read,
        rows=kept,
        errors=_in_file_order(planning.errors, parsed),
        missing=missing,
        new_facilities=[
            {"label": label, "code": planning.facilities.new_code(label), "name": label[:300]}
            for label in new_facilities.values()
        ],
        failed=planning.failed,
        missing_status=missing_status,
        sheets=[sheet.as_dict() for sheet in parsed.sheets],
        skipped_rows=[
            {"sheet": r.sheet, "row": r.excel_row, "reason": r.reason, "text": r.text}
            for r in parsed.skipped_rows
        ],
        notes=_notes(parsed, kept, as_of),
        warnings=warnings,
        as_of=as_of if parsed.as_of else None,
        ignored_reasons=dict(parsed.ignored_reasons),
        facility_codes=planning.facilities.codes,
    )


def _start(session, organization_id: int, parsed: ParseResult, options) -> _Planning:
    """The facilities, the default one (the chosen one, else the only one) and the rows the
    reader found invalid."""
    facilities = _Facilities(session, organization_id)
    default_facility = (
        options.default_facility_id if options.default_facility_id in facilities.ids else None
    )
    if default_facility is None and len(facilities.ids) == 1:
        default_facility = next(iter(facilities.ids))
    planning = _Planning(facilities, default_facility, [_error_dict(e) for e in parsed.errors], {})
    for where, values in parsed.invalid_values.items():
        planning.failed[where] = {
            "inventory_no": values.get("inventory_no"),
            "facility": facilities.label(values, default_facility),
        }
    return planning


def _file_rows(parsed: ParseResult, planning: _Planning) -> tuple[list[RowPlan], dict[str, str]]:
    """Each valid row with its facility (known, new or the default); a row with none is
    invalid. Also the new facilities: key (case and spacing ignored) → label as first written."""
    facilities = planning.facilities
    rows: list[RowPlan] = []
    new_facilities: dict[str, str] = {}
    for parsed_row in parsed.rows:
        values = parsed_row.values
        label = values.get("facility_code") or values.get("facility_name")
        facility_id = facilities.resolve_values(values) if label else planning.default_facility
        if facility_id is not None:
            facility_key = ("id", str(facility_id))
        elif label:
            label = " ".join(str(label).split())
            key = (
                facility_code_key(label)
                if values.get("facility_code")
                else (facility_name_key(label))
            )
            label = new_facilities.setdefault(key, label)
            facility_key = ("new", label)
        else:
            message = _(
                "no facility: add a «Код ОПО» column or a group row «ОПО: name», or choose "
                "a default facility"
            )
            planning.refuse_row(
                parsed_row.sheet, parsed_row.excel_row, values["inventory_no"], None, "ОПО", message
            )
            continue
        # the values are the parsed row itself: a copy per row cost 100 MB at 100,000
        number = values["inventory_no"]
        rows.append(
            RowPlan(
                parsed_row.excel_row, number, "create", None, facility_key, values,
                sheet=parsed_row.sheet,
            )
        )  # fmt: skip
    return rows, new_facilities


def _file_fields(parsed: ParseResult) -> tuple[list[str], dict[str, frozenset]]:
    """The item fields the file has, and per sheet those it lacks: a field that only some
    sheets have is compared only for their rows (never erased)."""
    present = set(parsed.mapping.values())
    file_fields = [f for f in EQUIPMENT_FIELDS if f in present]
    partial = {
        sheet: frozenset(f for f in file_fields if f not in fields)
        for sheet, fields in parsed.sheet_fields.items()
    }
    return file_fields, {sheet: lacking for sheet, lacking in partial.items() if lacking}


def _registry_rows(session: Session, organization_id: int, file_fields: list[str]):
    """The registry's items streamed, each with its values of the file's fields in the same
    order as each row's: most rows of a re-load are equal as a whole, and only the others are
    compared field by field."""
    head = (
        Equipment.id,
        Equipment.inventory_no,
        Equipment.inventory_key,
        Equipment.facility_id,
        Equipment.name.label("current_name"),
        Equipment.status.label("current_status"),
    )
    stmt = select(*head, *[getattr(Equipment, f) for f in file_fields]).where(
        Equipment.organization_id == organization_id
    )
    if session.get_bind().dialect.name == "sqlite":
        # SQLite then reads the rows through the (organization, inventory key) key, mostly
        # in their stored order: 0.3 s for 100,000 instead of 0.55 through a covering index.
        # PostgreSQL would only sort them (+0.09 s).
        stmt = stmt.order_by(Equipment.organization_id, Equipment.inventory_key)
    return session.connection().execute(stmt.execution_options(yield_per=STREAM_CHUNK))


def _compare_with_registry(
    session: Session,
    organization_id: int,
    parsed: ParseResult,
    rows: list[RowPlan],
    planning: _Planning,
) -> _Compared:
    """Rows of known items become updates (field by field) or stay to be found unchanged;
    items of the file's facilities that it does not list are absent."""
    file_fields, partial = _file_fields(parsed)
    # inventory numbers match case- and whitespace-insensitively («ин-1» is «ИН-1»)
    by_inventory = {inventory_key(r.inventory_no): r for r in rows}
    # an item whose row is invalid is still in the file: neither missing nor changed
    listed_invalid = {
        inventory_key(f["inventory_no"]) for f in planning.failed.values() if f["inventory_no"]
    }
    named = {int(r.facility_key[1]) for r in rows if r.facility_key[0] == "id"}
    codes = planning.facilities.codes
    by_id: dict[int, RowPlan] = {}
    absent: list[tuple] = []
    moved_to_new = 0
    facility_keys: dict[int, tuple[str, str]] = {}  # a facility id as a row's facility_key
    registry = _registry_rows(session, organization_id, file_fields)
    for item_id, number, key, facility_id, item_name, status, *current in registry:
        plan = by_inventory.get(key)  # the stored key: the fold the file's rows are keyed by
        if plan is None:
            if (
                facility_id in named
                and key not in listed_invalid
                and status != EquipmentStatus.DECOMMISSIONED
            ):
                absent.append((item_id, number, item_name, facility_id, status))
            continue
        plan.action, plan.equipment_id = "update", item_id
        if plan.inventory_no != number:
            plan.inventory_no = number  # the registry's spelling stays
        by_id[item_id] = plan
        given = list(map(plan.values.get, file_fields))
        if current != given:
            lacking = partial.get(plan.sheet) if partial else None
            _field_changes(plan, file_fields, current, given, lacking)
        own = facility_keys.get(facility_id)
        if own is None:
            own = facility_keys[facility_id] = ("id", str(facility_id))
        if plan.facility_key != own:
            kind, value = plan.facility_key
            moved_to_new += kind == "new"
            plan.changes["facility"] = [
                codes.get(facility_id),
                value if kind == "new" else codes.get(int(value)),
            ]
    return _Compared(by_id, absent, moved_to_new)


def _field_changes(plan: RowPlan, file_fields, current, given, lacking) -> None:
    for name, old_value, new_value in zip(file_fields, current, given, strict=True):
        if lacking and name in lacking:
            continue
        if new_value is None and name in ("device_type", "name", "status"):
            continue  # a blank cell never erases a required value
        if not _same(old_value, new_value):
            plan.changes[name] = [old_value, new_value]


def _verdicts(rows, known_rows, history: RegistryHistory, as_of: date, planning: _Planning):
    """The rows kept, each with its new wear and examination and its action; a new item
    without a device type is invalid. The latest wear on record and the examinations are
    fetched only when the file's known items have some."""
    latest_wear = (
        history.latest_wear()
        if any(p.values.get("wear_pct") is not None for p in known_rows)
        else {}
    )
    done_exams = (
        history.examinations()
        if any(p.values.get("last_inspection_on") is not None for p in known_rows)
        else {}
    )
    kept: list[RowPlan] = []
    for plan in rows:
        values = plan.values
        if plan.equipment_id is None and not values.get("device_type"):
            facility = planning.facilities.label(values, planning.default_facility)
            message = _(
                "state the device type (for example, «котел паровой», «кран мостовой», "
                "«сосуд под давлением»)"
            )
            planning.refuse_row(
                plan.sheet, plan.excel_row, plan.inventory_no, facility, "Вид ТУ", message
            )
            continue
        wear = values.get("wear_pct")
        if wear is not None:
            last = latest_wear.get(plan.equipment_id)
            if last is None or abs(last[0] - wear) > WEAR_TOLERANCE:
                plan.assessment = (float(wear), values.get("assessed_on") or as_of)
                if plan.equipment_id is not None:
                    plan.changes["wear_pct"] = [last[0] if last else None, float(wear)]
        last_exam = values.get("last_inspection_on")
        next_exam = values.get("next_inspection_on")
        known = done_exams.get((plan.equipment_id, last_exam)) if last_exam else None
        if last_exam is not None and known is None:
            plan.inspection = (last_exam, next_exam)
            if plan.equipment_id is not None:
                plan.changes["last_inspection_on"] = [None, last_exam]
        elif known is not None and next_exam is not None and known[1] != next_exam:
            # the examination is on record: the file moves its next date (a blank never erases)
            plan.inspection_due = (known[0], next_exam)
            plan.changes["next_inspection_on"] = [known[1], next_exam]
        if plan.equipment_id is not None and not plan.changes:
            plan.action = "unchanged"
        kept.append(plan)
    return kept


def _missing(absent: list[tuple], kept: list[RowPlan], facilities: _Facilities):
    """The absent items of the facilities the kept rows cover, and the status of each."""
    covered = {int(r.facility_key[1]) for r in kept if r.facility_key[0] == "id"}
    missing = [
        {"id": i, "inventory_no": inv, "name": name, "facility": facilities.codes.get(fac)}
        for i, inv, name, fac, _status in sorted(absent, key=lambda a: a[1])
        if fac in covered
    ]
    return missing, {a[0]: a[4] for a in absent if a[3] in covered}


def _in_file_order(errors: list[dict], parsed: ParseResult) -> list[dict]:
    sheet_order = {s.name: i for i, s in enumerate(parsed.sheets)}
    errors.sort(key=lambda e: (sheet_order.get(e.get("sheet", ""), 0), e["row"], e["column"]))
    return errors


def _notes(parsed: ParseResult, kept: list[RowPlan], as_of: date) -> list[str]:
    notes = list(parsed.notes)
    if parsed.as_of and any(r.assessment and not r.values.get("assessed_on") for r in kept):
        notes.append(
            _(
                "Wear without a date of its own is recorded on the list's date: %(date)s "
                "(from the file's title «as of…»).",
                date=f"{as_of:%d.%m.%Y}",
            )
        )
    return notes


def _moved_to_new_warning(moved: int, new_facilities: dict[str, str]) -> str:
    # never silently: a facility spelt differently would take the items out of theirs
    return _(
        "%(n)s item(s) of the registry will be moved to facilities that are not in the "
        "registry (%(names)s). Check that these are not existing facilities spelt differently.",
        n=moved,
        names="«" + "», «".join(new_facilities.values()) + "»",
    )


def _bin_warnings(session: Session, organization_id: int, bins: list[str]) -> list[str]:
    """A BIN named in the title rows that is not the importing organization's."""
    if not bins:
        return []
    from accounts.models import Organization

    own = session.execute(
        select(Organization.bin).where(Organization.id == organization_id)
    ).scalar_one_or_none()
    other = [b for b in bins if b != own]
    if not other:
        return []
    return [
        _(
            "The file's title names the BIN %(other)s, but the list is being loaded into the "
            "organization with the BIN %(own)s. Check that this is this organization's list.",
            other=", ".join(other),
            own=own,
        )
    ]


def _error_dict(error) -> dict:
    return {
        "row": error.excel_row,
        "sheet": error.sheet,
        "column": error.column,
        "value": "" if error.value is None else str(error.value),
        "message": str(error.message),  # in the language of the preview (older reports: only this)
        # the msgid and its parameters, so that the report reads in each reader's language
        "message_id": error.message.to_json(),
    }
