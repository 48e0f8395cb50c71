"""Workbooks for the parser's tests: the sample lists and real .xlsx files built in tmp_path."""

from __future__ import annotations

from pathlib import Path

import openpyxl

SAMPLES = Path(__file__).parents[1] / "samples"
SAMPLE_NAMES = ("asset_list_clean_ru", "asset_list_1c_export", "asset_list_en")


def xlsx(tmp_path: Path, *sheets, merges=(), formats=None, name="list.xlsx") -> bytes:
    """A real .xlsx from ``(title, rows)`` pairs; rows are lists of cell values from column A."""
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets:
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(list(row))
    first = workbook.worksheets[0]
    for cell_range in merges:
        first.merge_cells(cell_range)
    for cell, number_format in (formats or {}).items():
        first[cell].number_format = number_format
    path = tmp_path / name
    workbook.save(path)
    return path.read_bytes()


HEADER_RU = ["Инв. №", "Наименование", "Вид ТУ", "Год выпуска", "Ввод в эксплуатацию"]


def row_ru(inv, name="Котел КВ-ГМ-10", kind="Котел водогрейный", year=1990, start="01.02.1991"):
    return [inv, name, kind, year, start]
