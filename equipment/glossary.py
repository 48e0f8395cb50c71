"""The one glossary of the registry: one label per field, used by every page, form, the import
template's and the export's column titles and the API descriptions (docs/glossary.md, which
extends DESIGN §1).

A label is a ``Message`` (its English msgid, rendered in the reader's language when shown:
the request's locale in the app, Russian outside it, as in the CLI). ``SHORT`` gives the form of
a narrow table column, where the full label is its tooltip. The import recognises every label,
Russian and English, as a header alias (``equipment.imports.excel.headers``), beside the older
titles it always knew.

The two scales that the UI once both called «Состояние» are named apart here: the wear band
(``band``: «Степень износа», хорошее … негодное, from the wear %) and the technical condition
(``condition``: «Техническое состояние», исправное … предельное, the finding of an assessment).
"""

from __future__ import annotations

from equipment.imports.excel.messages import N_, Message

LABELS: dict[str, Message] = {
    # where the item is
    "organization": N_("Organization"),
    "region": N_("Region"),
    "bin": N_("BIN"),
    "facility": N_("Facility"),
    "facility_code": N_("Facility code"),
    "facility_name": N_("Facility name"),
    # the passport
    "inventory_no": N_("Inventory number"),
    "name": N_("Name"),
    "device_type": N_("Device type"),
    "model": N_("Model"),
    "manufacturer": N_("Manufacturer"),
    "factory_no": N_("Factory number"),
    "registration_no": N_("Registration number"),
    "manufacture_year": N_("Manufacture year"),
    "commissioned_on": N_("Commissioning date"),
    "service_life_years": N_("Normative service life, years"),
    "service_life_source": N_("Source of the service life"),
    "cycle_limit": N_("Load-cycle limit"),
    "cycle_count": N_("Load cycles so far"),
    "pressure_mpa": N_("Working pressure, MPa"),
    "temperature_c": N_("Working temperature, °C"),
    "medium": N_("Working medium"),
    "capacity": N_("Capacity / load"),
    "status": N_("Status"),
    "notes": N_("Notes"),
    # condition assessments
    "assessed_on": N_("Assessment date"),
    "wear_pct": N_("Physical wear, %"),
    "method": N_("Method"),
    "condition": N_("Technical condition"),
    "residual_life_years": N_("Residual life, years"),
    "document_ref": N_("Document"),
    # inspections and expertise
    "kind": N_("Kind of work"),
    "done_on": N_("Date done"),
    "result": N_("Result"),
    "next_due_on": N_("Next due date"),
    "extended_until": N_("Service life extended until"),
    "document_no": N_("Document number"),
    "organization_name": N_("Performed by"),
    # the import's inspection columns
    "last_inspection_on": N_("Last examination date"),
    "next_inspection_on": N_("Next examination date"),
    # computed on the day shown (equipment.wear)
    "band": N_("Wear band"),
    "life_end": N_("End of service life"),
    "next_inspection_due": N_("Next inspection due"),
    "critical_on": N_("Critical wear date"),
    "flags": N_("Flags"),
    # the latest records of the registry (the export's optional columns)
    "last_examined_on": N_("Last technical examination"),
    "last_assessed_on": N_("Last condition assessment"),
}

# Narrow table columns: the short form shows, the full label is the tooltip
SHORT: dict[str, Message] = {
    "organization": N_("Operator"),
    "inventory_no": N_("Inv. No"),
    "device_type": N_("Type"),
    "manufacture_year": N_("Year"),
    "wear_pct": N_("Wear, %"),
    "life_end": N_("Life ends"),
    "next_inspection_due": N_("Next insp."),
    "critical_on": N_("Critical wear on"),
}

# The other titles of the pages' tables and filters, which name no field of an item: listed
# so that the vocabulary test knows each title a page may show
OTHER: dict[str, Message] = {
    "search": N_("Search"),
    "when": N_("When"),
    "who": N_("Who"),
    "what": N_("What"),
    "changes": N_("Changes"),
    "sheet": N_("Sheet"),
    "row": N_("Row"),
    "column": N_("Column"),
    "value": N_("Value"),
    "what_is_wrong": N_("What is wrong"),
    "action": N_("Action"),
    "fields_changed": N_("Fields: before → after"),
    "why": N_("Why"),
    "row_holds": N_("What the row holds"),
    "file_column": N_("Column in the file"),
    "registry_field": N_("Field of the registry"),
    "what_to_enter": N_("What to enter"),
    "due": N_("Deadline"),  # the list's deadline filters
    "due_kind": N_("Deadline kind"),
    "columns": N_("Columns"),  # the export's column chooser
    "file": N_("File"),  # the import preview's summary
    # the confirmations of the danger blocks (what the user ticks before a revert or discard)
    "confirm_discard": N_("I understand: the file is deleted and cannot be loaded from this page"),
    "as_of": N_("As of"),
}

# «Износ, % (расчёт)»: a column the export computes, which the import never reads back
COMPUTED = "%(label)s (computed)"


def label(field: str) -> Message:
    return LABELS[field]


def short(field: str) -> Message:
    return SHORT.get(field, LABELS[field])


def computed(field: str) -> Message:
    return N_(COMPUTED, label=LABELS[field])


# «Последнее техническое освидетельствование (по реестру)»: the registry's latest record, which
# the import does not read back either
RECORDED = "%(label)s (registry)"


def recorded(field: str) -> Message:
    return N_(RECORDED, label=LABELS[field])


def english(field: str) -> str:
    """The label in English (the API's descriptions, which are English)."""
    return LABELS[field].msgid


def all_labels() -> set[str]:
    """Every label and short form in the current language (what a page may title a field
    with)."""
    return {str(m) for m in (*LABELS.values(), *SHORT.values())}
