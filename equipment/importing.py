"""Asset-list import: plan (dry run) and apply, all or nothing, set-based.

``read_and_plan`` reads the file (``equipment.excel``), matches rows to the organization's registry
with a handful of queries (never one per row) and returns an ``ImportPlan``: what would be
created, updated (field by field), left unchanged, which rows are invalid and which items of the
covered facilities the file no longer lists. ``commit_batch`` plans again, from the file as the
preview parsed it (``equipment.excel.snapshot``) against the registry as it is then, and applies
the plan only if it is still exactly the previewed one.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from operator import attrgetter
from typing import IO, Any

import orjson
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import clock
from core.audit import AuditEvent, jsonable
from core.audit import record as audit_record
from core.audit import snapshot as snapshot_of
from core.db import BulkWriter, bulk_update, reserve_ids, utcnow
from core.memory import paused_gc
from equipment.catalog import (
    AssessmentMethod,
    DeviceType,
    EquipmentStatus,
    InspectionKind,
    InspectionResult,
    LifeSource,
)
from equipment.explain import UNDATED_IMPORT_NOTE
from equipment.imports.excel import (
    CellError,
    FileRejected,
    Limits,
    Message,
    MissingColumns,
    ParseResult,
    parse_asset_list,
    snapshot,
)
from equipment.inventory import inventory_key
from equipment.models import (
    ColumnMapping,
    ConditionAssessment,
    Equipment,
    Facility,
    ImportBatch,
    Inspection,
)
from equipment.search import search_text
from equipment.services import (
    CURVE_FIELDS,
    _only,
    iter_latest_assessments,
    lock_registry,
    refresh_curves,
)
from equipment.wear import WearInputs, thresholds_for, wear_curve

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


class ImportRefused(Exception):
    """The import cannot go ahead; ``message`` is for the user (Russian)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class ImportOptions:
    create_facilities: bool = False
    decommission_missing: bool = False
    commit_valid_only: bool = False
    default_facility_id: int | None = None
    mapping: dict | None = None
    # the preview warned (a BIN of another organization in the title) and the user agreed
    confirm_warnings: bool = False

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


# ---------------------------------------------------------------------------- planning


def _key(text: str | None) -> str:
    return " ".join(str(text or "").replace("ё", "е").replace("Ё", "Е").split()).casefold()


# Cyrillic letters that look like Latin ones: «ОПО-01» typed in Cyrillic is the code OPO-01
_LOOKALIKE_CODES = str.maketrans("АВЕКМНОРСТУХІЁ", "ABEKMHOPCTYXIE")
_CODE_SEPARATORS = re.compile(r"[\s\-‐‑‒–—―_/.№#:]+")


_TRANSLIT = str.maketrans(
    {
        **dict(
            zip("АБВГДЕЁЗИЙКЛМНОПРСТУФЫЭІӘҒҚҢӨҰҮҺ", "ABVGDEEZIYKLMNOPRSTUFYEIAGKNOUUH", strict=True)
        ),
        "Ж": "ZH", "Х": "KH", "Ц": "TS", "Ч": "CH", "Ш": "SH", "Щ": "SCH", "Ю": "YU", "Я": "YA",
        "Ъ": "", "Ь": "",
    }
)  # fmt: skip


def facility_code_key(text: str | None) -> str:
    """How facility codes are compared: case, look-alike letters and separators do not count."""
    upper = str(text or "").upper().translate(_LOOKALIKE_CODES)
    return _CODE_SEPARATORS.sub("", upper)


def facility_code_keys(text: str | None) -> tuple[str, str]:
    """The code with Cyrillic letters read as their Latin look-alikes («ВК-01» is BK-01) and
    transliterated («ОПО-01» is OPO-01): a code matches when either reading does."""
    upper = str(text or "").upper()
    return (
        _CODE_SEPARATORS.sub("", upper.translate(_LOOKALIKE_CODES)),
        _CODE_SEPARATORS.sub("", upper.translate(_TRANSLIT)),
    )


_QUOTES = re.compile(r"[«»\"“”„‟'’`‘]")
_REGISTRATION = re.compile(r"\((?=[^)]*(?:рег|\d{2,}-\d{3,}))[^)]*\)|,?\s*рег\.?\s*№\s*\S+$")
_NUMBERING = re.compile(r"^\s*\d{1,3}(?:\.\d{1,3})*\s*[.)]\s+")
_FACILITY_WORD = re.compile(
    r"^\s*(?:опасный\s+производственный\s+объект|объект\s+опо|опо|қөо|объект|facility)"
    r"\s*[:\-–—]?\s*"
)
_NUMBER_SIGN = re.compile(r"(?:№|(?<![a-zа-я])n\.?|(?<![a-zа-я])no\.?|#)\s*(?=\d)")


def facility_name_key(text: str | None) -> str:
    """How facility names are compared: «ОПО «Котельная № 2» (рег. № А12-00001-0002)», «1.
    Котельная N2» and «Котельная №2» are one name. The registration number in brackets is left
    out (facilities do not record one)."""
    name = " ".join(str(text or "").replace("ё", "е").replace("Ё", "Е").split()).casefold()
    name = _REGISTRATION.sub(" ", name)
    name = _QUOTES.sub(" ", name)
    name = _NUMBERING.sub("", name)
    for _ in range(2):  # «ОПО: объект «…»»
        name = _FACILITY_WORD.sub("", name).strip()
    name = _NUMBER_SIGN.sub(" №", name)
    return " ".join(name.split()).strip(" .,:;-")


def _same(a, b) -> bool:
    if a == b:  # most cells of a re-loaded list (str enums compare equal to their values)
        return True
    if isinstance(a, float | int) and isinstance(b, float | int):
        return abs(float(a) - float(b)) < 1e-9
    if hasattr(a, "value"):
        a = a.value
    if hasattr(b, "value"):
        b = b.value
    return a == b


class _Facilities:
    """The organization's facilities, matched by code or by name: case, spacing, quotes,
    look-alike letters, «№ 1» / «N1», a leading «ОПО» or numbering do not count."""

    def __init__(self, session: Session, org_id: int):
        rows = session.execute(
            select(Facility.id, Facility.code, Facility.name).where(
                Facility.organization_id == org_id
            )
        ).all()
        self.ids = {r.id for r in rows}
        self.codes = {r.id: r.code for r in rows}
        self.names = {r.id: r.name for r in rows}
        self.by_code: dict[str, int] = {}
        self.by_name: dict[str, int] = {}
        for r in sorted(rows, key=lambda r: r.id):
            self.by_code.setdefault(facility_code_key(r.code), r.id)
        for r in sorted(rows, key=lambda r: r.id):  # exact readings first, then transliterated
            self.by_code.setdefault(facility_code_keys(r.code)[1], r.id)
            self.by_name.setdefault(facility_name_key(r.name), r.id)
        self.taken_codes = {r.code.casefold() for r in rows}
        self.resolved: dict[str, int | None] = {}

    def resolve(self, label: str | None) -> int | None:
        if not label:
            return None
        try:
            return self.resolved[label]  # a list names its few facilities on every row
        except KeyError:
            found = self.resolved[label] = self._resolve(label)
            return found

    def _resolve(self, label: str) -> int | None:
        alike, transliterated = facility_code_keys(label)
        found = self.by_code.get(alike)
        if found is None:
            found = self.by_code.get(transliterated)
        if found is None:
            found = self.by_name.get(facility_name_key(label))
        return found

    def resolve_values(self, values: dict[str, Any]) -> int | None:
        return self.resolve(values.get("facility_code")) or self.resolve(
            values.get("facility_name")
        )

    def label(self, values: dict[str, Any], default: int | None) -> str | None:
        """The facility of a row as the file should state it: the registry's code when known."""
        label = values.get("facility_code") or values.get("facility_name")
        if not label:
            return self.codes.get(default)
        facility_id = self.resolve_values(values)
        return self.codes[facility_id] if facility_id else " ".join(str(label).split())

    def new_code(self, label: str) -> str:
        """A code for a new facility, unique in the organization (40 characters at most):
        the label itself when it fits, else its start with «-2», «-3»… as needed."""
        base = label if len(label) <= 40 else label[:40].rsplit(" ", 1)[0].rstrip(" ,.;:-–—")
        base = base[:40] or "ОПО"
        code, n = base, 1
        while code.casefold() in self.taken_codes:
            n += 1
            suffix = f"-{n}"
            code = base[: 40 - len(suffix)].rstrip() + suffix
        self.taken_codes.add(code.casefold())
        return code


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
                for item_id, wear, assessed_on, _ in iter_latest_assessments(
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
    facilities = _Facilities(session, organization_id)
    present = set(parsed.mapping.values())
    file_fields = [f for f in EQUIPMENT_FIELDS if f in present]
    # a field that only some sheets have is compared only for their rows (never erased)
    partial = {
        sheet: frozenset(f for f in file_fields if f not in fields)
        for sheet, fields in parsed.sheet_fields.items()
    }
    partial = {sheet: lacking for sheet, lacking in partial.items() if lacking}
    errors = [_error_dict(e) for e in parsed.errors]
    # what the invalid rows hold, for `missing` and errors.xlsx, by (sheet, Excel row)
    failed: dict[tuple[str, int], dict] = {}

    default_facility = (
        options.default_facility_id if options.default_facility_id in facilities.ids else None
    )
    if default_facility is None and len(facilities.ids) == 1:
        default_facility = next(iter(facilities.ids))
    for where, values in parsed.invalid_values.items():
        failed[where] = {
            "inventory_no": values.get("inventory_no"),
            "facility": facilities.label(values, default_facility),
        }

    # 1. The file's rows, in file order, each with its facility.
    rows: list[RowPlan] = []
    new_facilities: dict[str, str] = {}  # key (case and spacing ignored) -> label as first written
    for parsed_row in parsed.rows:
        values = parsed_row.values
        label = values.get("facility_code") or values.get("facility_name")
        facility_id = facilities.resolve_values(values) if label else default_facility
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
            failed[(parsed_row.sheet, parsed_row.excel_row)] = {
                "inventory_no": values["inventory_no"],
                "facility": None,
            }
            errors.append(
                {
                    "row": parsed_row.excel_row,
                    "sheet": parsed_row.sheet,
                    "column": "ОПО",
                    "value": "",
                    "message": "не указан ОПО: добавьте столбец «Код ОПО» или строку-группу "
                    "«ОПО: название», либо выберите ОПО по умолчанию",
                }
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
    # inventory numbers match case- and whitespace-insensitively («ин-1» is «ИН-1»)
    by_inventory = {inventory_key(r.inventory_no): r for r in rows}
    # an item whose row is invalid is still in the file: neither missing nor changed
    listed_invalid = {
        inventory_key(f["inventory_no"]) for f in failed.values() if f["inventory_no"]
    }
    named = {int(r.facility_key[1]) for r in rows if r.facility_key[0] == "id"}

    # 2. The registry streamed past them: updates field by field, and the missing items.
    by_id: dict[int, RowPlan] = {}
    absent: list[tuple] = []  # items of the file's facilities that the file does not list
    # the registry's values of the file's fields, in the same order as each row's: most rows
    # of a re-load are equal as a whole, and only the others are compared field by field
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
    moved_to_new = 0
    facility_keys: dict[int, tuple[str, str]] = {}  # a facility id as a row's facility_key
    registry = session.connection().execute(stmt.execution_options(yield_per=STREAM_CHUNK))
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
            for name, old_value, new_value in zip(file_fields, current, given, strict=True):
                if lacking and name in lacking:
                    continue
                if new_value is None and name in ("device_type", "name", "status"):
                    continue  # a blank cell never erases a required value
                if not _same(old_value, new_value):
                    plan.changes[name] = [old_value, new_value]
        own = facility_keys.get(facility_id)
        if own is None:
            own = facility_keys[facility_id] = ("id", str(facility_id))
        if plan.facility_key != own:
            kind, value = plan.facility_key
            moved_to_new += kind == "new"
            plan.changes["facility"] = [
                facilities.codes.get(facility_id),
                value if kind == "new" else facilities.codes.get(int(value)),
            ]

    # 3. The latest wear on record and the examinations the file names, for its items only.
    history = history or RegistryHistory(session, organization_id)
    by_plan = by_id.values()
    latest_wear = (
        history.latest_wear() if any(p.values.get("wear_pct") is not None for p in by_plan) else {}
    )
    done_exams = (
        history.examinations()
        if any(p.values.get("last_inspection_on") is not None for p in by_plan)
        else {}
    )

    # 4. Each row's verdict, in file order.
    # wear without a date of its own is dated by the list («по состоянию на 03.11.2026»)
    as_of = parsed.as_of if parsed.as_of and parsed.as_of <= today else today
    kept: list[RowPlan] = []
    for plan in rows:
        values = plan.values
        if plan.equipment_id is None and not values.get("device_type"):
            failed[(plan.sheet, plan.excel_row)] = {
                "inventory_no": plan.inventory_no,
                "facility": facilities.label(values, default_facility),
            }
            errors.append(
                {
                    "row": plan.excel_row,
                    "sheet": plan.sheet,
                    "column": "Вид ТУ",
                    "value": "",
                    "message": "укажите вид технического устройства (например, «котел "
                    "паровой», «кран мостовой», «сосуд под давлением»)",
                }
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

    covered = {int(r.facility_key[1]) for r in kept if r.facility_key[0] == "id"}
    missing = [
        {"id": i, "inventory_no": inv, "name": name, "facility": facilities.codes.get(fac)}
        for i, inv, name, fac, _ in sorted(absent, key=lambda a: a[1])
        if fac in covered
    ]
    missing_status = {a[0]: a[4] for a in absent if a[3] in covered}
    sheet_order = {s.name: i for i, s in enumerate(parsed.sheets)}
    errors.sort(key=lambda e: (sheet_order.get(e.get("sheet", ""), 0), e["row"], e["column"]))
    notes = list(parsed.notes)
    if parsed.as_of and any(r.assessment and not r.values.get("assessed_on") for r in kept):
        notes.append(
            f"Износ без своей даты записан на дату списка: {as_of:%d.%m.%Y} (из заголовка "
            "файла «по состоянию на…»)."
        )
    warnings = _bin_warnings(session, organization_id, parsed.bins)
    if moved_to_new:
        # never silently: a facility spelt differently would take the items out of theirs
        warnings.append(
            f"{moved_to_new} устройств(а) из реестра будут перенесены в ОПО, которых нет в "
            "реестре («" + "», «".join(new_facilities.values()) + "»). Проверьте, что это не "
            "иначе написанные существующие ОПО."
        )
    planned = [
        {"label": label, "code": facilities.new_code(label), "name": label[:300]}
        for label in new_facilities.values()
    ]
    return ImportPlan(
        sheet_name=parsed.sheet_name,
        header_row=parsed.header_row,
        mapping=dict(parsed.mapping),
        ignored_columns=list(parsed.ignored_columns),
        rows_read=parsed.rows_read,
        rows=kept,
        errors=errors,
        missing=missing,
        new_facilities=planned,
        failed=failed,
        missing_status=missing_status,
        sheets=[sheet.as_dict() for sheet in parsed.sheets],
        skipped_rows=[
            {"sheet": r.sheet, "row": r.excel_row, "reason": r.reason, "text": r.text}
            for r in parsed.skipped_rows
        ],
        notes=notes,
        warnings=warnings,
        as_of=as_of if parsed.as_of else None,
        ignored_reasons=dict(parsed.ignored_reasons),
        facility_codes=facilities.codes,
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
        f"В заголовке файла указан БИН {', '.join(other)}, а список загружается в организацию с "
        f"БИН {own}. Проверьте, что это список этой организации."
    ]


def _error_dict(error) -> dict:
    return {
        "row": error.excel_row,
        "sheet": error.sheet,
        "column": error.column,
        "value": "" if error.value is None else str(error.value),
        "message": str(error.message),  # in the language of the preview, for the page
        # the msgid and its parameters: shown in the reader's language (report_json)
        "message_id": error.message.to_json(),
    }


# ---------------------------------------------------------------------------- applying


def _check_can_apply(plan: ImportPlan, options: ImportOptions) -> None:
    if plan.errors and not options.commit_valid_only:
        raise ImportRefused(
            f"В файле {plan.counts()['invalid']} строк с ошибками. Исправьте их или явно "
            "разрешите загрузить только правильные строки."
        )
    if plan.new_facilities and not options.create_facilities:
        raise ImportRefused(
            "В файле есть ОПО, которых нет в реестре: "
            + ", ".join(f["label"] for f in plan.new_facilities[:10])
            + ". Разрешите их создание или исправьте коды ОПО в файле."
        )
    if plan.warnings and not options.confirm_warnings:
        raise ImportRefused(
            " ".join(plan.warnings) + " Подтвердите загрузку, если список всё же этой организации."
        )
    if not plan.rows:
        raise ImportRefused("В файле нет ни одной правильной строки: загружать нечего.")


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
    _check_can_apply(plan, options)
    now = utcnow()
    org_id = organization.id
    facility_ids = {}
    for new in plan.new_facilities:  # codes planned unique by plan_parsed
        facility = Facility(
            organization_id=org_id,
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
            organization_id=org_id,
        )

    def facility_of(row: RowPlan) -> int:
        kind, value = row.facility_key
        return facility_ids[value] if kind == "new" else int(value)

    creates = [r for r in plan.rows if r.action == "create"]
    updates = [r for r in plan.rows if r.action == "update"]
    file_fields = [f for f in EQUIPMENT_FIELDS if f in set(plan.mapping.values())]
    # The updates first, then every insert in one BulkWriter (PostgreSQL: one COPY after the
    # other, sent while the next rows are prepared): new items get their ids up front, so
    # their assessments, examinations and audit events need no query for them.
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
    decommissioned = []
    if options.decommission_missing and plan.missing:
        decommissioned = [m["id"] for m in plan.missing]
        bulk_update(
            session,
            Equipment,
            [
                {"id": i, "status": EquipmentStatus.DECOMMISSIONED, "updated_at": now}
                for i in decommissioned
            ],
        )
    for row, item_id in zip(creates, reserve_ids(session, Equipment, len(creates)), strict=True):
        row.equipment_id = item_id
    actor_id = getattr(actor, "id", None)
    with BulkWriter(session) as writer:
        if creates:
            thresholds_of = _thresholds_by_type(thresholds_config)
            writer.insert(
                Equipment,
                (_new_item(r, org_id, facility_of(r), now, thresholds_of) for r in creates),
            )
        document = f"Импорт №{batch_id}" if batch_id else "Импорт"
        writer.insert(
            ConditionAssessment,
            (
                {
                    "equipment_id": r.equipment_id,
                    "wear_pct": r.assessment[0],
                    "assessed_on": r.assessment[1],
                    "method": AssessmentMethod.IMPORT,
                    "created_by_id": actor_id,
                    "created_at": now,
                    "document_ref": document,
                    "notes": None if r.values.get("assessed_on") else UNDATED_IMPORT_NOTE,
                }
                for r in plan.rows
                if r.assessment
            ),
        )
        writer.insert(
            Inspection,
            (
                {
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
                for r in plan.rows
                if r.inspection
            ),
        )
        writer.insert(AuditEvent, _audit_events(actor, org_id, plan, decommissioned, batch_id, now))
    refresh_curves(session, [r.equipment_id for r in updates], thresholds_config)
    counts = plan.counts()
    counts["decommissioned"] = len(decommissioned)
    counts["facilities_created"] = len(facility_ids)
    return counts


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


# ---------------------------------------------------------------------------- batches


def limits_from_config(config) -> Limits:
    return Limits(max_bytes=config["IMPORT_MAX_BYTES"], max_rows=config["IMPORT_MAX_ROWS"])


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def default_facility_of(session: Session, organization_id: int, raw) -> int | None:
    """The facility chosen for rows that name none: blank for none, else the id of one of the
    organization's facilities. Raises ImportRefused (Russian) for anything else."""
    text = "" if raw is None else str(raw).strip()
    if not text:
        return None
    facility_id = int(text) if text.isdecimal() and len(text) <= 10 else None
    if facility_id is None or facility_id not in _Facilities(session, organization_id).ids:
        raise ImportRefused(
            f"ОПО по умолчанию «{text[:40]}» не найден среди ОПО организации: выберите ОПО "
            "из списка или оставьте поле пустым."
        )
    return facility_id


def remembered_mapping(session: Session, organization_id: int) -> dict | None:
    row = session.execute(
        select(ColumnMapping.mapping).where(ColumnMapping.organization_id == organization_id)
    ).scalar_one_or_none()
    return row or None


def _new_batch(organization, actor, data: bytes, filename: str, options, **fields) -> ImportBatch:
    """A stored upload: the original file and who sent it, with the plan's ``fields``."""
    return ImportBatch(
        organization_id=organization.id,
        user_id=getattr(actor, "id", None),
        filename=filename[:255] or "file.xlsx",
        sha256=sha256(data),
        size=len(data),
        content=data,
        options=options.as_dict(),
        **fields,
    )


def preview_batch(
    session: Session,
    actor,
    organization,
    data: bytes,
    filename: str,
    options: ImportOptions,
    limits: Limits | None = None,
) -> tuple[ImportBatch, ImportPlan]:
    """Dry run: plan the change and store the batch (file included) as 'previewed'."""
    if options.mapping is None:
        options.mapping = remembered_mapping(session, organization.id)
    with paused_gc():
        parsed, plan = read_and_plan(session, organization.id, data, filename, options, limits)
        batch = _new_batch(
            organization,
            actor,
            data,
            filename,
            options,
            parsed=snapshot.dump(parsed),
            plan_digest=plan.digest(),
            counts=plan.counts(),
            report=plan.report(),
        )
        del parsed
        session.add(batch)
        session.flush()
    return batch, plan


def preview_unmapped_batch(
    session: Session,
    actor,
    organization,
    data: bytes,
    filename: str,
    options: ImportOptions,
    rejected: MissingColumns,
) -> ImportBatch:
    """Store a file whose required columns were not recognised, with the header that was found,
    so the columns can be mapped by hand on its preview. It cannot be committed as it is: the
    commit reads the file again with the same mapping and is refused with the same message."""
    header = rejected.header
    counts = dict.fromkeys(
        ("rows", "created", "updated", "unchanged", "invalid", "missing", "new_facilities"), 0
    )
    batch = _new_batch(
        organization,
        actor,
        data,
        filename,
        options,
        plan_digest=None,
        counts=counts,
        report={
            "sheet": rejected.sheet_name,
            "header_row": header.header_row,
            "mapping": header.mapping,
            "ignored_columns": list(header.ignored),
            "counts": counts,
            "errors": [],
            "changes": [],
            "missing": [],
            "new_facilities": [],
            "missing_columns": list(rejected.missing),
            "message": rejected.message,
        },
    )
    session.add(batch)
    session.flush()
    return batch


def commit_batch(
    session: Session,
    actor,
    batch: ImportBatch,
    options: ImportOptions,
    thresholds_config,
    limits: Limits | None = None,
) -> dict[str, int]:
    """Apply a previewed batch exactly as previewed, in the caller's transaction.

    The organization's registry lock comes first (``lock_registry``): a second commit of the
    same organization waits for the first, then plans against what the first committed, so
    its digest check refuses a plan that the first one moved (and no audit «before» is stale)."""
    lock_registry(session, batch.organization_id)
    claimed = session.execute(
        update(ImportBatch)
        .where(ImportBatch.id == batch.id, ImportBatch.status == "previewed")
        .values(status="committing")
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        raise ImportRefused("Этот файл уже загружен или загружается сейчас.")
    stored = ImportOptions.from_dict(batch.options)
    options.mapping = stored.mapping
    options.default_facility_id = stored.default_facility_id
    with paused_gc():
        plan = plan_parsed(
            session, batch.organization_id, _parsed_of(batch, options, limits), options
        )
        if plan.digest() != batch.plan_digest:
            raise ImportRefused(
                "Реестр изменился после предпросмотра (кто-то правил оборудование или загрузил "
                "другой файл). Загрузите файл заново и проверьте изменения."
            )
        counts = apply_plan(
            session, actor, batch.organization, plan, options, thresholds_config, batch.id
        )
        mapped = bool(plan.mapping)
        del plan
    session.execute(
        update(ImportBatch)
        .where(ImportBatch.id == batch.id)
        .values(
            status="committed",
            committed_at=utcnow(),
            counts=counts,
            options=options.as_dict(),
            parsed=None,
        )
        .execution_options(synchronize_session=False)
    )
    if mapped and stored.mapping:
        _remember_mapping(session, batch.organization_id, stored.mapping)
    return counts


def _parsed_of(batch: ImportBatch, options: ImportOptions, limits: Limits | None) -> ParseResult:
    """The batch's file as the preview parsed it: from its stored snapshot, or read again
    (a batch previewed before snapshots were kept, or a snapshot that does not load)."""
    if batch.parsed is not None:
        try:
            return snapshot.load(batch.parsed)
        except ValueError:
            pass  # read the file again: the digest still guards the plan
    return parse_asset_list(
        batch.content, batch.filename, limits=limits or Limits(), mapping=options.mapping
    )


def _remember_mapping(session: Session, organization_id: int, mapping: dict) -> None:
    row = session.execute(
        select(ColumnMapping).where(ColumnMapping.organization_id == organization_id)
    ).scalar_one_or_none()
    if row is None:
        session.add(ColumnMapping(organization_id=organization_id, mapping=mapping))
    else:
        row.mapping = mapping


__all__ = [
    "FileRejected",
    "ImportOptions",
    "ImportPlan",
    "ImportRefused",
    "MissingColumns",
    "apply_plan",
    "read_and_plan",
    "commit_batch",
    "dry_run_batch",
    "failed_rows_workbook",
    "import_now",
    "limits_from_config",
    "preview_batch",
    "preview_unmapped_batch",
    "report_json",
]


def import_now(
    session: Session,
    actor,
    organization,
    data: bytes,
    filename: str,
    options: ImportOptions,
    thresholds_config,
    limits: Limits | None = None,
) -> tuple[ImportBatch, dict[str, int]]:
    """Preview and commit in one go (CLI and API without a dry run)."""
    commit_options = ImportOptions(
        create_facilities=options.create_facilities,
        decommission_missing=options.decommission_missing,
        commit_valid_only=options.commit_valid_only,
        confirm_warnings=options.confirm_warnings,
    )
    batch, plan = preview_batch(session, actor, organization, data, filename, options, limits)
    _check_can_apply(plan, commit_options)
    counts = commit_batch(session, actor, batch, commit_options, thresholds_config, limits)
    return batch, counts


def dry_run_batch(
    session: Session,
    organization,
    data: bytes,
    filename: str,
    options: ImportOptions,
    limits: Limits | None = None,
) -> tuple[ImportBatch, dict[str, int]]:
    """Plan only; the returned batch is not stored (nothing is written)."""
    if options.mapping is None:
        options.mapping = remembered_mapping(session, organization.id)
    with paused_gc():
        _, plan = read_and_plan(session, organization.id, data, filename, options, limits)
    batch = ImportBatch(
        status="dry_run",
        filename=filename,
        sha256=sha256(data),
        size=len(data),
        organization_id=organization.id,
        counts=plan.counts(),
        report=plan.report(),
    )
    return batch, plan.counts()


def failed_rows_workbook(
    data: bytes, filename: str, plan: ImportPlan, mapping: dict | None, limits: Limits
) -> IO[bytes]:
    """The file's invalid rows as they were, with an «Ошибка» column, to fix and re-upload:
    one sheet «Ошибки» for a one-sheet list, else one sheet per source sheet with errors,
    named after it.

    Each row keeps its facility: when it came from a group row above («ОПО: Котельная №2», the
    1C export) or from the default facility, it is written into the row's empty facility cell,
    or into an added «ОПО» column when the file has none, so the fixed rows load where they
    were meant to."""
    from equipment.exporting import SheetWriter, finish, new_workbook
    from equipment.imports.excel import FIELD_LABELS, find_header, open_workbook

    messages: dict[tuple[str, int], list[str]] = {}
    for err in plan.errors:
        messages.setdefault((err.get("sheet", ""), err["row"]), []).append(
            f"{err['column']}: {err['message']}" if err.get("column") else err["message"]
        )
    with_errors = list(dict.fromkeys(sheet for sheet, _ in messages))
    facilities = {where: f["facility"] for where, f in plan.failed.items() if f.get("facility")}
    workbook, out = new_workbook()
    written = False
    titles_used: set[str] = set()
    book = open_workbook(data, filename, limits)
    try:
        for sheet_name in with_errors:
            sheet_rows = book.load(sheet_name)
            if sheet_rows is None:
                continue
            header = find_header(sheet_rows.peek, mapping)
            if header is None:
                continue
            columns = {name: col for col, name in header.columns.items()}
            facility_col = columns.get("facility_code", columns.get("facility_name"))
            add_column = facility_col is None and any(
                where in facilities for where in messages if where[0] == sheet_name
            )
            title = "Ошибки" if len(with_errors) == 1 else _sheet_title(sheet_name, titles_used)
            titles: list[str] = []
            sheet = None
            for excel_row, values in sheet_rows.rows():
                where = (sheet_name, excel_row)
                if excel_row == header.header_row:
                    titles = [("" if v is None else str(v)) for v in values]
                    if add_column:
                        facility_col = len(titles)
                        titles.append(FIELD_LABELS["facility_name"])
                    widths = [18] * len(titles) + [60]
                    sheet = SheetWriter(workbook, title, [*titles, "Ошибка"], widths)
                    written = True
                elif where in messages and sheet is not None:
                    cells = (list(values) + [None] * len(titles))[: len(titles)]
                    cells = [str(v) if isinstance(v, CellError) else v for v in cells]
                    label = facilities.get(where)
                    if (
                        label
                        and facility_col is not None
                        and facility_col < len(cells)
                        and not str(cells[facility_col] or "").strip()
                    ):
                        cells[facility_col] = label
                    sheet.write_row([*cells, "; ".join(messages[where])])
    finally:
        book.close()
    if not written:
        SheetWriter(workbook, "Ошибки", ["Ошибка"], [60])
    return finish(workbook, out)


def _sheet_title(name: str, used: set[str]) -> str:
    """A sheet title Excel accepts (31 characters, no []:*?/\\), unique in the workbook."""
    base = re.sub(r"[\[\]:*?/\\]", " ", name).strip("' ")[:31] or "Ошибки"
    title, n = base, 1
    while title.casefold() in used:
        n += 1
        title = f"{base[: 31 - len(str(n)) - 1]}~{n}"
    used.add(title.casefold())
    return title


def report_json(batch: ImportBatch, counts: dict | None = None) -> dict:
    """The report of a batch for the API and the CLI's --json."""
    report = batch.report or {}
    counts = counts or batch.counts or {}
    return {
        "id": batch.id,
        "status": batch.status,
        "filename": batch.filename,
        "sha256": batch.sha256,
        **{
            k: counts.get(k, 0)
            for k in ("rows", "created", "updated", "unchanged", "invalid", "missing")
        },
        "decommissioned": counts.get("decommissioned", 0),
        "new_facilities": report.get("new_facilities", []),
        "ignored_columns": report.get("ignored_columns", []),
        "missing_columns": report.get("missing_columns", []),
        "mapping": report.get("mapping", {}),
        "errors": [
            {k: v for k, v in e.items() if k != "message_id"}
            | ({"message": str(Message.from_json(e["message_id"]))} if "message_id" in e else {})
            for e in report.get("errors", [])
        ],
        "changes": report.get("changes", []),
        "missing_items": report.get("missing", []),
        "new_facility_plan": report.get("new_facility_plan", []),
        "sheets": report.get("sheets", []),
        "skipped_rows": report.get("skipped_rows", []),
        "skipped_count": report.get("skipped_count", 0),
        "notes": report.get("notes", []),
        "warnings": report.get("warnings", []),
        "as_of": report.get("as_of"),
        "ignored_reasons": report.get("ignored_reasons", {}),
    }
