"""Human labels of the closed lists, translated (Russian first)."""

from __future__ import annotations

import sys
from datetime import date

from flask_babel import format_decimal
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from wtforms.fields.choices import SelectChoice

from core.audit import ACTION_LABELS
from equipment import glossary
from equipment.catalog import (
    BAND_LOWER_BOUNDS,
    AssessmentMethod,
    Band,
    Condition,
    DeviceType,
    EquipmentStatus,
    FacilityStatus,
    InspectionKind,
    InspectionResult,
    LifeSource,
    Sector,
)
from equipment.imports.excel.messages import Message

DEVICE_TYPES = {
    DeviceType.PRESSURE_VESSEL: _l("Pressure vessel"),
    DeviceType.STEAM_BOILER: _l("Steam boiler"),
    DeviceType.HOT_WATER_BOILER: _l("Hot-water boiler"),
    DeviceType.STEAM_PIPELINE: _l("Steam and hot-water pipeline"),
    DeviceType.PROCESS_PIPELINE: _l("Process pipeline"),
    DeviceType.GAS_EQUIPMENT: _l("Gas equipment"),
    DeviceType.CRANE: _l("Crane"),
    DeviceType.HOIST: _l("Hoist, winch"),
    DeviceType.LIFT: _l("Lift"),
    DeviceType.ESCALATOR: _l("Escalator"),
    DeviceType.TANK: _l("Tank"),
    DeviceType.MINING: _l("Mining equipment"),
    DeviceType.OTHER: _l("Other"),
}

EQUIPMENT_STATUSES = {
    EquipmentStatus.IN_SERVICE: _l("In service"),
    EquipmentStatus.SUSPENDED: _l("Suspended"),
    EquipmentStatus.CONSERVED: _l("Conserved"),
    EquipmentStatus.DECOMMISSIONED: _l("Decommissioned"),
}

LIFE_SOURCES = {
    LifeSource.MANUFACTURER: _l("Manufacturer's documentation"),
    LifeSource.NORM: _l("Industry norm"),
    LifeSource.UNKNOWN: _l("Unknown"),
}

SECTORS = {
    Sector.LIFTING: _l("Lifting equipment"),
    Sector.BOILERS: _l("Boilers and pressure equipment"),
    Sector.GAS: _l("Gas supply"),
    Sector.PETROCHEMICAL: _l("Petrochemical"),
    Sector.MINING: _l("Mining"),
    Sector.CHEMICAL: _l("Chemical"),
    Sector.OIL_GAS: _l("Oil and gas"),
    Sector.METALLURGY: _l("Metallurgy"),
    Sector.PIPELINES: _l("Main pipelines"),
    Sector.GRAIN: _l("Grain storage and processing"),
    Sector.ENERGY: _l("Power generation"),
    Sector.OTHER: _l("Other"),
}

FACILITY_STATUSES = {
    FacilityStatus.OPERATING: _l("Operating"),
    FacilityStatus.SUSPENDED: _l("Suspended"),
    FacilityStatus.CLOSED: _l("Closed"),
}

METHODS = {
    AssessmentMethod.DIAGNOSTICS: _l("Technical diagnostics"),
    AssessmentMethod.EXPERT: _l("Expert scale"),
    AssessmentMethod.CONDITION_INDEX: _l("Condition index"),
    AssessmentMethod.IMPORT: _l("Imported from a list"),
}

CONDITIONS = {
    Condition.SERVICEABLE: _l("Serviceable"),
    Condition.OPERABLE: _l("Operable"),
    Condition.LIMITED: _l("Limited operability"),
    Condition.INOPERABLE: _l("Inoperable"),
    Condition.LIMIT: _l("Limit state"),
}

INSPECTION_KINDS = {
    InspectionKind.EXAMINATION: _l("Technical examination"),
    InspectionKind.HYDRAULIC_TEST: _l("Hydraulic test"),
    InspectionKind.DIAGNOSTICS: _l("Technical diagnostics"),
    InspectionKind.EXPERTISE: _l("Industrial safety expertise"),
}

INSPECTION_RESULTS = {
    InspectionResult.PASSED: _l("Passed"),
    InspectionResult.PASSED_WITH_REMARKS: _l("Passed with remarks"),
    InspectionResult.FAILED: _l("Failed"),
    InspectionResult.EXTENDED: _l("Service life extended"),
    InspectionResult.REFUSED: _l("Further use refused"),
}

# The wear bands by name only; BANDS gives them with their ranges, «Ветхое (60–80 %)»
BAND_NAMES = {
    Band.GOOD: _l("Good"),
    Band.SATISFACTORY: _l("Satisfactory"),
    Band.UNSATISFACTORY: _l("Unsatisfactory"),
    Band.DILAPIDATED: _l("Dilapidated"),
    Band.UNFIT: _l("Unfit"),
    Band.UNKNOWN: _l("No data"),
}


def band_bounds(band: Band) -> tuple[float, float] | None:
    """(from, to) % of a band, from the bounds ``equipment.wear.band_of`` uses; None for
    «no data»."""
    upper = 100.0
    for code, lower in BAND_LOWER_BOUNDS:  # from the highest band down
        if code == band:
            return lower, upper
        upper = lower
    return None


class _Range:
    """«60–80 %» in the reader's number format, rendered when shown."""

    __slots__ = ("bounds",)

    def __init__(self, bounds: tuple[float, float]):
        self.bounds = bounds

    def __str__(self) -> str:
        lo, hi = (format_decimal(v, format="#,##0.#") for v in self.bounds)
        return f"{lo}–{hi}\u00a0%"


def _with_range(band: Band):
    bounds = band_bounds(band)
    if bounds is None:
        return BAND_NAMES[band]
    return Message("%(band)s (%(range)s)", band=BAND_NAMES[band], range=_Range(bounds))


BANDS = {band: _with_range(band) for band in BAND_NAMES}
# «60–80 %» of each band («» for no data): the list's narrow chip shows it beside the name
BAND_RANGES = {
    band: (_Range(b) if (b := band_bounds(band)) is not None else "") for band in BAND_NAMES
}

# The list's narrow column: the band's name, the long two shortened (with the range in the
# tooltip)
BANDS_SHORT = {
    **BAND_NAMES,
    Band.SATISFACTORY: _l("Satisf."),
    Band.UNSATISFACTORY: _l("Unsatisf."),
}

FLAGS = {
    "critical": _l("Critical wear"),
    "warning": _l("Wear warning"),
    "life_expired": _l("Service life expired"),
    "inspection_overdue": _l("Inspection overdue"),
    "must_plan": _l("Must be planned"),
}

# Short forms for the list's narrow column (the full label is the badge's tooltip)
FLAGS_SHORT = {
    "critical": _l("Critical"),
    "warning": _l("Worn"),
    "life_expired": _l("Life over"),
    "inspection_overdue": _l("Insp. overdue"),
    "must_plan": _l("To plan"),
}

# How a flag badge looks: "strong" (act now) or "mild" (watch); not by colour alone
FLAG_SEVERITY = {
    "critical": "strong",
    "life_expired": "strong",
    "must_plan": "strong",
    "warning": "mild",
    "inspection_overdue": "mild",
}

REASONS = {
    "critical": _l("wear has reached the critical threshold"),
    "life_expired": _l("the service life has expired"),
    "cycles_exhausted": _l("the load-cycle limit is exhausted"),
    "expertise_refused": _l("the expertise refused further use"),
    "limit_state": _l("the latest assessment found a limit state"),
}


def choices(labels: dict, blank: str | None = None) -> list[SelectChoice]:
    """Options of a select field: the enum's values with their labels, optionally a blank."""
    out = [SelectChoice("", blank)] if blank is not None else []
    return out + [SelectChoice(code.value, label) for code, label in labels.items()]


AUDIT_ACTIONS = {
    **ACTION_LABELS,
    "assessment_added": _l("Assessment added"),
    "inspection_added": _l("Inspection added"),
    "import_create": _l("Created by an Excel import"),
    "import_update": _l("Changed by an Excel import"),
    "import_decommission": _l("Decommissioned by an Excel import"),
    "import_revert": _l("Given back by reverting an Excel import"),
    "import_revert_delete": _l("Removed by reverting an Excel import"),
}

# The labels of the fields (the audit trail's, the forms' and the pages'): the glossary's
FIELDS = {
    **glossary.LABELS,
    "facility_id": glossary.label("facility"),
    "import_batch": _l("Import"),
    "import_row": _l("Row of the imported file"),
}

ENUM_LABELS = {
    "device_type": DEVICE_TYPES,
    "status": EQUIPMENT_STATUSES,
    "service_life_source": LIFE_SOURCES,
    "method": METHODS,
    "condition": CONDITIONS,
    "kind": INSPECTION_KINDS,
    "result": INSPECTION_RESULTS,
    "sector": SECTORS,
}

# The equipment list's query arguments, for messages about a bad filter
LIST_ARGS = {
    "q": _l("Search"),
    "facility_id": glossary.label("facility"),
    "organization_id": glossary.label("organization"),
    "device_type": glossary.label("device_type"),
    "status": glossary.label("status"),
    "band": glossary.label("band"),
    "flag": _l("Flag"),
    "sort": _l("Sort by"),
    "page": _l("Page"),
    "per_page": _l("Rows per page"),
}


# The equipment list's sort keys as its column titles (equipment.registry.sorting.SORT_KEYS)
SORT_KEYS = {
    "inventory_no": glossary.short("inventory_no"),
    "name": glossary.short("name"),
    "device_type": glossary.short("device_type"),
    "facility": glossary.short("facility"),
    "organization": glossary.short("organization"),
    "manufacture_year": glossary.short("manufacture_year"),
    "commissioned_on": glossary.short("commissioned_on"),
    "wear": glossary.short("wear_pct"),
    "life_end": glossary.short("life_end"),
    "next_inspection_due": glossary.short("next_inspection_due"),
    "critical_on": glossary.short("critical_on"),
    "status": glossary.short("status"),
}


GROUPED_INTS = ("cycle_limit", "cycle_count")  # not years or row numbers: «1 978» reads wrong


def audit_value(field: str, value, facility_codes: dict | None = None) -> str:
    """A value of the audit trail as a person reads it: labels, dd.mm.yyyy dates."""
    if value is None or value == "":
        return "—"
    if field == "facility_id" and facility_codes:
        return str(facility_codes.get(value, value))
    table = ENUM_LABELS.get(field)
    if table is not None:
        label = next((lbl for code, lbl in table.items() if code.value == value), None)
        return str(label) if label is not None else str(value)
    if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
        return f"{value[8:10]}.{value[5:7]}.{value[0:4]}"
    if isinstance(value, bool):
        return str(_l("yes") if value else _l("no"))
    if isinstance(value, float):
        return format_decimal(value, format="#,##0.###")
    if isinstance(value, int) and field in GROUPED_INTS:
        return format_decimal(value, format="#,##0")
    return str(value)


# ---------------------------------------------------------------------------- card sentences

# One sentence per key of equipment.explain; the values are formatted by explain_text.
EXPLANATIONS = {
    "wear_unknown": _l(
        "Wear cannot be estimated: neither a service life nor an assessment is recorded."
    ),
    "wear_assessed_no_life": _l(
        "Wear is %(wear)s %% as assessed on %(on)s; the service life is unknown, so it is not "
        "projected."
    ),
    "wear_assessed": _l(
        "Wear is %(wear)s %%: the assessment of %(on)s found %(assessed)s %%, plus %(added)s %% "
        "for the %(days)s days since (%(rate)s %% a year over a %(life)s-year service life)."
    ),
    "wear_by_age": _l(
        "Wear is %(wear)s %%: the share of the %(life)s-year normative service life that has "
        "passed since commissioning on %(start)s (%(rate)s %% a year)."
    ),
    "wear_by_age_from_year": _l(
        "Wear is %(wear)s %%: the share of the %(life)s-year normative service life that has "
        "passed since 1 January %(year)s, the manufacture year, as no commissioning date is "
        "recorded (%(rate)s %% a year)."
    ),
    "wear_import_undated": _l(
        "This wear value came from an Excel list loaded on %(on)s that gave no assessment "
        "date: the upload day is taken as its date."
    ),
    "thresholds": _l(
        "Thresholds for this device type: warning at %(warning)s %%, critical at %(critical)s %%."
    ),
    "critical_forecast": _l(
        "Thresholds for this device type: warning at %(warning)s %%, critical at %(critical)s "
        "%%. At the present rate wear becomes critical on %(on)s."
    ),
    "critical_since": _l(
        "Thresholds for this device type: warning at %(warning)s %%, critical at %(critical)s "
        "%%. Wear has been critical since %(on)s."
    ),
    "critical_at_assessment": _l(
        "Thresholds for this device type: warning at %(warning)s %%, critical at %(critical)s "
        "%%. The assessment of %(on)s already found wear at or above the critical threshold."
    ),
    "life_unknown": _l(
        "The end of the service life cannot be dated: neither the commissioning date nor the "
        "manufacture year is recorded."
    ),
    "life_normative": _l(
        "The normative service life ends on %(end)s: %(life)s years from commissioning on "
        "%(start)s."
    ),
    "life_normative_ended": _l(
        "The normative service life ended on %(end)s: %(life)s years from commissioning on "
        "%(start)s."
    ),
    "life_normative_from_year": _l(
        "The normative service life ends on %(end)s: %(life)s years from 1 January %(year)s, the "
        "manufacture year (no commissioning date is recorded)."
    ),
    "life_normative_from_year_ended": _l(
        "The normative service life ended on %(end)s: %(life)s years from 1 January %(year)s, "
        "the manufacture year (no commissioning date is recorded)."
    ),
    "life_default": _l(
        "No service life is recorded, so the rule for devices without one applies: 20 years "
        "from commissioning on %(start)s, until %(end)s."
    ),
    "life_default_ended": _l(
        "No service life is recorded, so the rule for devices without one applies: 20 years "
        "from commissioning on %(start)s, which ended on %(end)s."
    ),
    "life_default_from_year": _l(
        "No service life and no commissioning date are recorded, so the rule for devices without "
        "a stated life applies: 20 years from 1 January %(year)s, the manufacture year, until "
        "%(end)s."
    ),
    "life_default_from_year_ended": _l(
        "No service life and no commissioning date are recorded, so the rule for devices without "
        "a stated life applies: 20 years from 1 January %(year)s, the manufacture year, which "
        "ended on %(end)s."
    ),
    "life_extended": _l(
        "The industrial safety expertise%(document)s of %(on)s extended the service life until "
        "%(until)s."
    ),
    "life_extended_ended": _l(
        "The service life extended by the industrial safety expertise%(document)s of %(on)s "
        "ended on %(until)s."
    ),
    "life_refused": _l(
        "The industrial safety expertise%(document)s of %(on)s refused further use: the device "
        "must be taken out of service or restored and examined again."
    ),
    "cycles": _l("Load cycles: %(count)s of %(limit)s."),
    "cycles_exhausted": _l("Load cycles: %(count)s of %(limit)s: the limit is exhausted."),
    "inspection_due": _l("%(kind)s of %(done)s: the next one is due on %(due)s."),
    "inspection_overdue": _l(
        "%(kind)s of %(done)s: the next one was due on %(due)s and is overdue."
    ),
    "inspection_no_next": _l("%(kind)s of %(done)s: no next date is recorded."),
    "inspection_failed": _l(
        "%(kind)s of %(done)s was failed: the device may not be used until the defects are "
        "removed and it passes again."
    ),
    "must_plan": _l("Must be included in the renewal plan: %(reasons)s."),
}


def explain_text(line) -> str:
    """The sentence of an ``equipment.explain.Line`` with its values in the reader's format."""
    from core.template_helpers import fmt_date, fmt_number

    values = {}
    for name, value in line.values.items():
        if name == "document":
            values[name] = f" № {value}" if value else ""
        elif name == "kind":
            values[name] = str(INSPECTION_KINDS.get(value, value))
        elif name == "reasons":
            values[name] = "; ".join(str(REASONS.get(r, r)) for r in value)
        elif name == "year":
            values[name] = "—" if value is None else str(value)
        elif isinstance(value, date):
            values[name] = fmt_date(value)
        elif isinstance(value, bool) or value is None:
            values[name] = "—"
        elif isinstance(value, int):
            values[name] = fmt_number(value)
        else:
            values[name] = fmt_number(value, 1)
    return str(EXPLANATIONS[line.key]) % values


class _Translated:
    """This module for templates, each label table translated once per render: a list page
    reads several hundred labels (type, band, status, flags of every row), and a lazy label
    looks its translation up again each time it is shown."""

    def __init__(self):
        self._tables: dict[str, dict] = {}

    def __getattr__(self, name: str):
        value = getattr(sys.modules[__name__], name)
        if not isinstance(value, dict):
            return value  # functions (audit_value, choices) and the rest as they are
        if name not in self._tables:
            self._tables[name] = {
                k: str(v) if isinstance(v, LazyString | Message | _Range) else v
                for k, v in value.items()
            }
        return self._tables[name]


def for_templates() -> _Translated:
    return _Translated()


# ---- deadlines (issue 10): the list's deadline filters, region filter and search notes

# ``due``: equipment.registry.deadlines.DUE_VALUES
DUE_HORIZONS = {
    "overdue": _l("Overdue"),
    "30": _l("Within 30 days"),
    "60": _l("Within 60 days"),
    "90": _l("Within 90 days"),
    "none": _l("Never recorded"),
}
# ``due_kind``: equipment.registry.deadlines.DUE_KINDS
DUE_KINDS = {
    "examination": _l("Technical examination"),
    "hydraulic": _l("Hydraulic test"),
    "expertise": _l("Industrial-safety expertise"),
    "life": _l("End of service life"),
}
# Where a search found an item (equipment.search.matched_field)
MATCHED_FIELDS = {
    "inventory_no": _l("inventory number"),
    "factory_no": _l("factory number"),
    "registration_no": _l("registration number"),
    "name": _l("name"),
    "model": _l("model"),
    "manufacturer": _l("manufacturer"),
    "facility": _l("facility code"),
}
LIST_ARGS.update(
    {"region_id": _l("Region"), "due": _l("Deadline"), "due_kind": _l("Deadline kind")}
)
# The list's arguments the dashboard's figures link to (years in service) and the export's
LIST_ARGS["age"] = _l("Years in service")
LIST_ARGS["columns"] = _l("Columns")
