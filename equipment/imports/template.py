"""The import template: an .xlsx with the headers the import recognises, a device-type
drop-down, an example row and a sheet explaining each column (Russian)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import IO

from core.xlsx import SheetWriter, finish, new_workbook
from equipment import glossary
from equipment.imports.excel import FIELD_LABELS

# (field, the example row's value, column width)
TEMPLATE_FIELDS = (
    ("facility_code", "OPO-01", 12),
    ("inventory_no", "ИН-000123", 16),
    ("name", "Котел ДЕ-25-14ГМ", 30),
    ("device_type", "котел паровой", 26),
    ("model", "ДЕ-25-14ГМ", 14),
    ("manufacturer", "Бийский котельный завод", 24),
    ("factory_no", "10452", 12),
    ("registration_no", "1234-К", 12),
    ("manufacture_year", 1986, 10),
    ("commissioned_on", date(1987, 3, 15), 14),
    ("service_life_years", 24, 10),
    ("wear_pct", 72.5, 10),
    ("last_inspection_on", date(2024, 5, 20), 14),
    ("next_inspection_on", date(2028, 5, 20), 14),
    ("pressure_mpa", 1.4, 10),
    ("status", "в эксплуатации", 16),
)


def import_template(device_type_names: Sequence[str], explanations: dict[str, str]) -> IO[bytes]:
    """An .xlsx with the recognised headers, a device-type drop-down, an example row and a
    sheet explaining each column (Russian)."""
    workbook, out = new_workbook()
    sheet = SheetWriter(
        workbook,
        "Оборудование",
        [str(FIELD_LABELS[f]) for f, _v, _w in TEMPLATE_FIELDS],
        [w for _f, _v, w in TEMPLATE_FIELDS],
    )
    sheet.write_row(v for _f, v, _w in TEMPLATE_FIELDS)
    lists = workbook.add_worksheet("Списки")
    for i, name in enumerate(device_type_names):
        lists.write_string(i, 0, name)
    type_col = [f for f, _v, _w in TEMPLATE_FIELDS].index("device_type")
    sheet.ws.data_validation(
        1,
        type_col,
        5000,
        type_col,
        {
            "validate": "list",
            "source": f"='Списки'!$A$1:$A${len(device_type_names)}",
            "error_type": "warning",
            "error_title": str(FIELD_LABELS["device_type"]),
            "error_message": "Выберите вид устройства из списка.",
        },
    )
    help_titles = [str(glossary.OTHER["column"]), str(glossary.OTHER["what_to_enter"])]
    help_sheet = SheetWriter(workbook, "Пояснения", help_titles, [34, 90])
    for field_name, _v, _w in TEMPLATE_FIELDS:
        help_sheet.write_row((str(FIELD_LABELS[field_name]), explanations.get(field_name, "")))
    lists.hide()
    return finish(workbook, out)
