"""Excel output: the registry export, the import template and the failed-rows workbook.

Written with XlsxWriter in constant-memory mode into a temporary file, so a 100,000-row export
keeps memory flat. Every text cell is written as a string; text that Excel would read as a
formula (= + - @) gets the quote-prefix format, so it shows and stays text and is never run.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import IO, Any

import xlsxwriter

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class SheetWriter:
    """One worksheet with a bold frozen header, widths, dates as dates, safe text."""

    def __init__(self, workbook, title: str, headers: Sequence[str], widths: Sequence[int]):
        self.ws = workbook.add_worksheet(title[:31])
        self.header = workbook.add_format(
            {"bold": True, "text_wrap": True, "valign": "top", "bg_color": "#E8EEF4", "border": 1}
        )
        self.date = workbook.add_format({"num_format": "dd.mm.yyyy"})
        self.number = workbook.add_format({"num_format": "0.0"})
        self.text_safe = workbook.add_format({"quote_prefix": True})
        for col, (title_, width) in enumerate(zip(headers, widths, strict=True)):
            self.ws.write_string(0, col, str(title_), self.header)
            self.ws.set_column(col, col, width)
        self.ws.freeze_panes(1, 0)
        self.ws.set_landscape()
        self.ws.fit_to_pages(1, 0)
        self.ws.repeat_rows(0)
        self.row = 1

    def write_row(self, values: Iterable[Any]) -> None:
        for col, value in enumerate(values):
            write_cell(self, self.row, col, value)
        self.row += 1


def write_cell(sheet: SheetWriter, row: int, col: int, value: Any) -> None:
    ws = sheet.ws
    if value is None or value == "":
        return
    if isinstance(value, bool):
        ws.write_boolean(row, col, value)
    elif isinstance(value, datetime | date):
        # an Excel cell has no zone: the calendar day as a naive midnight
        day = datetime(value.year, value.month, value.day)  # noqa: DTZ001
        ws.write_datetime(row, col, day, sheet.date)
    elif isinstance(value, int):
        ws.write_number(row, col, value)
    elif isinstance(value, float):
        ws.write_number(row, col, value, sheet.number)
    else:
        text = str(getattr(value, "value", value))
        if text.startswith(FORMULA_STARTS):
            ws.write_string(row, col, text, sheet.text_safe)
        else:
            ws.write_string(row, col, text)


def new_workbook(out: IO[bytes] | None = None) -> tuple[xlsxwriter.Workbook, IO[bytes]]:
    """A workbook writing into ``out`` (a job's result file) or a temporary file."""
    if out is None:
        out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 - returned
    workbook = xlsxwriter.Workbook(
        out,
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
            "tmpdir": tempfile.gettempdir(),
        },
    )
    return workbook, out


def finish(workbook, out: IO[bytes]) -> IO[bytes]:
    workbook.close()
    out.seek(0)
    return out


# ---------------------------------------------------------------------------- registry export


PROGRESS_EVERY = 1000  # rows between two progress reports of a background export


def export_registry(
    session,
    statement,
    as_of: date,
    labels,
    out: IO[bytes] | None = None,
    progress: Callable[[int], None] | None = None,
) -> IO[bytes]:
    """The equipment of ``statement`` (already filtered and scoped) with today's indicators,
    into ``out`` or a temporary file; ``progress(rows written)`` every PROGRESS_EVERY rows
    and once at the end (a background job reports and beats with it)."""
    from equipment.registry import curve_of
    from equipment.wear import indicators

    columns = [
        (labels.get("inventory_no"), 16),
        (labels.get("name"), 36),
        (labels.get("device_type"), 24),
        (labels.get("facility"), 14),
        (labels.get("organization"), 30),
        (labels.get("bin"), 14),
        (labels.get("model"), 14),
        (labels.get("factory_no"), 12),
        (labels.get("registration_no"), 12),
        (labels.get("manufacture_year"), 8),
        (labels.get("commissioned_on"), 12),
        (labels.get("service_life_years"), 9),
        (labels.get("wear_pct"), 9),
        (labels.get("band"), 18),
        (labels.get("life_end"), 12),
        (labels.get("next_inspection_due"), 12),
        (labels.get("critical_on"), 12),
        (labels.get("flags"), 40),
        (labels.get("status"), 14),
    ]
    workbook, out = new_workbook(out)
    sheet = SheetWriter(
        workbook, labels.get("sheet"), [c[0] for c in columns], [c[1] for c in columns]
    )
    for item in session.scalars(statement.execution_options(yield_per=2000)):
        ind = indicators(curve_of(item), as_of)
        flags = [
            labels.flag(name)
            for name in ("critical", "life_expired", "inspection_overdue", "must_plan")
            if getattr(ind, name)
        ]
        sheet.write_row(
            (
                item.inventory_no,
                item.name,
                labels.device_type(item.device_type),
                item.facility.code,
                item.facility.organization.name,
                item.facility.organization.bin,  # text: 12 digits with leading zeros
                item.model,
                item.factory_no,
                item.registration_no,
                item.manufacture_year,
                item.commissioned_on,
                item.service_life_years,
                None if ind.wear_pct is None else round(ind.wear_pct, 1),
                labels.band(ind.band),
                ind.life_end,
                ind.next_inspection_due,
                ind.critical_forecast,
                ", ".join(flags),
                labels.status(item.status),
            )
        )
        if progress is not None and (sheet.row - 1) % PROGRESS_EVERY == 0:
            progress(sheet.row - 1)
    sheet.ws.autofilter(0, 0, max(sheet.row - 1, 1), len(columns) - 1)
    if progress is not None:
        progress(sheet.row - 1)  # every row is written
    return finish(workbook, out)


# ---------------------------------------------------------------------------- import template


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
    from equipment.imports.excel import FIELD_LABELS

    workbook, out = new_workbook()
    sheet = SheetWriter(
        workbook,
        "Оборудование",
        [FIELD_LABELS[f] for f, _v, _w in TEMPLATE_FIELDS],
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
            "error_title": "Вид устройства",
            "error_message": "Выберите вид устройства из списка.",
        },
    )
    help_sheet = SheetWriter(workbook, "Пояснения", ["Столбец", "Что указать"], [34, 90])
    for field_name, _v, _w in TEMPLATE_FIELDS:
        help_sheet.write_row((FIELD_LABELS[field_name], explanations.get(field_name, "")))
    lists.hide()
    return finish(workbook, out)
