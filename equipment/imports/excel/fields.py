"""The fields a list's columns can fill, and what they are called.

``FIELD_LABELS`` are the glossary's labels (``equipment.glossary``): the names the registry's
template titles its columns with, which the header step recognises as well (its aliases begin
with them), in the reader's language.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from equipment import glossary  # the module (it imports this package's messages)
from equipment.imports.excel.messages import Message

FIELDS: tuple[str, ...] = (
    "inventory_no", "name", "device_type", "model", "manufacturer", "factory_no",
    "registration_no", "manufacture_year", "commissioned_on", "service_life_years",
    "cycle_limit", "cycle_count", "pressure_mpa", "temperature_c", "medium", "capacity",
    "status", "notes", "facility_code", "facility_name", "wear_pct", "assessed_on",
    "last_inspection_on", "next_inspection_on",
)  # fmt: skip
REQUIRED_FIELDS: tuple[str, ...] = ("inventory_no", "name")


class _GlossaryLabels(Mapping):
    """The fields' labels from the glossary (``equipment.glossary``), read when used: the
    glossary's labels are messages of this package, so it is imported after it."""

    def __getitem__(self, name: str) -> Message:
        return glossary.LABELS[name]

    def __iter__(self) -> Iterator[str]:
        return iter(FIELDS)

    def __len__(self) -> int:
        return len(FIELDS)


# How the fields are called: in messages, on the preview, as the template's column titles
FIELD_LABELS: Mapping[str, Message] = _GlossaryLabels()
