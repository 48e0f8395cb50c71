"""Excel import: the shared samples and the messy lists engineers really send (pure, no app)."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest

from core import clock
from equipment.imports.excel import FileRejected, Limits, open_sheet_rows, parse_asset_list, xmlscan
from equipment.imports.excel.field_parsers import PLAIN_FIELDS
from equipment.imports.excel.headers import find_header, match_title
from equipment.imports.excel.validate import NOTES_MAX_LENGTH, text_limits
from equipment.imports.excel.values import (
    parse_date,
    parse_date_ex,
    parse_device_type,
    parse_number,
    parse_percent,
    parse_status,
    parse_text,
    parse_year,
)
from tests.helpers.workbooks import HEADER_RU, SAMPLE_NAMES, SAMPLES, row_ru, xlsx


def sample(name: str) -> tuple[bytes, dict]:
    data = (SAMPLES / f"{name}.xlsx").read_bytes()
    expected = json.loads((SAMPLES / f"{name}.expected.json").read_text(encoding="utf-8"))
    return data, expected


# ---------------------------------------------------------------------------- the samples


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_sample_counts_match_expected(name):
    data, expected = sample(name)
    result = parse_asset_list(data, f"{name}.xlsx")
    assert result.rows_read == expected["rows"]
    assert result.valid_count == expected["valid"]
    assert result.invalid_count == expected["invalid"]
    assert result.valid_count + result.invalid_count == result.rows_read


def test_1c_export_reports_the_five_errors_where_they_are():
    data, expected = sample("asset_list_1c_export")
    result = parse_asset_list(data, "asset_list_1c_export.xlsx")
    found = [(e.excel_row, e.column) for e in result.errors]
    assert found == [(e["excel_row"], e["column"]) for e in expected["errors"]]
    by_row = {e.excel_row: e for e in result.errors}
    assert by_row[14].message.startswith("не указан инвентарный номер")
    assert by_row[26].message == "нет такой даты: 31.02.2015"
    assert by_row[26].value == "31.02.2015"
    assert by_row[49].message == "износ должен быть от 0 до 100 %"
    assert by_row[49].value == "130 %"
    assert by_row[85].value == "двадцать" and "от 0,5 до 100" in by_row[85].message
    duplicate = by_row[110].value
    first = next(r.excel_row for r in result.rows if r.values["inventory_no"] == duplicate)
    assert first < 110
    assert by_row[110].message == f"инвентарный номер повторяется (см. строку {first})"


def test_1c_export_header_group_rows_and_text_values():
    data, _ = sample("asset_list_1c_export")
    result = parse_asset_list(data, "asset_list_1c_export.xlsx")
    assert result.header_row == 5
    assert result.mapping["Инв. №"] == "inventory_no"
    assert result.mapping["Посл. тех. освидетельствование"] == "last_inspection_on"
    assert result.ignored_columns == ["№ п/п"]
    first = result.rows[0]
    assert first.excel_row == 8  # after the column-number line and the first group row
    assert first.values["inventory_no"] == "0000100000"  # leading zeros kept
    assert first.values["device_type"] == "pressure_vessel"
    assert first.values["commissioned_on"] == date(1979, 12, 26)
    assert first.values["wear_pct"] == pytest.approx(81.8)
    assert first.values["service_life_years"] == 20
    assert first.values["facility_name"] == "Котельная №2"
    assert result.facility_labels == [
        "Котельная №2",
        "Цех подъёмных сооружений",
        "Склад ГСМ",
        "Компрессорная станция",
        "Котельная №1",
    ]
    assert result.rows[-1].values["facility_name"] == "Котельная №1"


def test_clean_sample_facilities_and_native_types():
    data, expected = sample("asset_list_clean_ru")
    result = parse_asset_list(data, "asset_list_clean_ru.xlsx")
    assert sorted(result.facility_labels) == expected["facilities"]
    assert result.ignored_columns == []
    first = result.rows[0].values
    assert first["manufacture_year"] == 2008 and isinstance(first["manufacture_year"], int)
    assert first["commissioned_on"] == date(2009, 2, 16)
    assert first["pressure_mpa"] == 1.4
    assert first["facility_code"] == "OPO-02"


def test_english_sample_fraction_wear_becomes_percent():
    data, _ = sample("asset_list_en")
    result = parse_asset_list(data, "asset_list_en.xlsx")
    wear = [row.values["wear_pct"] for row in result.rows]
    assert wear[0] == pytest.approx(60.2)
    assert all(0 <= w <= 100 for w in wear) and max(wear) > 1
    assert any("долями единицы" in note for note in result.notes)
    assert result.rows[0].values["last_inspection_on"] == date(2026, 10, 1)  # ISO text


# ---------------------------------------------------------------------------- messy layouts


def test_title_rows_empty_first_column_and_units_row(tmp_path):
    rows = [
        [None, "Перечень технических устройств"],
        [None, "ТОО «Пример», на 01.01.2026"],
        [],
        [None, "Инв. №", "Наименование", "Износ", "Рабочее давление", "Срок службы"],
        [None, None, None, "%", "МПа", "лет"],
        [None, "A-1", "Котел ДЕ-6", 45, "1,4", 20],
        [None, "A-2", "Котел ДЕ-10", "50,5 %", "1.3", "24"],
    ]
    result = parse_asset_list(xlsx(tmp_path, ("Лист1", rows)), "list.xlsx")
    assert result.header_row == 4
    assert result.rows_read == 2
    assert [r.excel_row for r in result.rows] == [6, 7]
    assert result.rows[0].values == {
        "inventory_no": "A-1",
        "name": "Котел ДЕ-6",
        "wear_pct": 45.0,
        "pressure_mpa": 1.4,
        "service_life_years": 20,
    }
    assert result.rows[1].values["wear_pct"] == 50.5
    assert result.errors == []


def test_reader_keeps_excel_columns_and_row_numbers(tmp_path):
    data = xlsx(tmp_path, ("S", [[], [], [None, None, "x"], [None, "a", None, 3.5]]))
    sheet = open_sheet_rows(data, "s.xlsx", Limits())
    rows = dict(sheet.rows())
    assert rows[3][2] == "x" and rows[3][0] is None
    assert rows[4][1] == "a" and rows[4][3] == 3.5


def test_merged_facility_cells_reach_every_row(tmp_path):
    rows = [
        ["ОПО", "Инвентарный номер", "Наименование"],
        ["OPO-01", "1", "Лифт ПП-10"],
        [None, "2", "Лифт ПП-16"],
        [None, "3", "Лифт ГП-5"],
        ["Котельная №2", "4", "Котел КВ-ГМ-50"],
        [None, "5", "Котел КВ-ГМ-30"],
    ]
    data = xlsx(tmp_path, ("Реестр", rows), merges=("A2:A4", "A5:A6"))
    result = parse_asset_list(data, "list.xlsx")
    assert result.errors == []
    facilities = [
        (r.values.get("facility_code"), r.values.get("facility_name")) for r in result.rows
    ]
    assert facilities == [("OPO-01", None)] * 3 + [(None, "Котельная №2")] * 2
    assert result.facility_labels == ["OPO-01", "Котельная №2"]


def test_group_rows_merged_across_the_width_carry_the_facility(tmp_path):
    rows = [
        ["№ п/п", "Инв. №", "Наименование ТУ", "Вид ТУ"],
        ["ОПО: OPO-03 Компрессорная станция"],
        [1, "100", "Ресивер В-10", "ресивер"],
        ["Объект: Склад ГСМ"],
        [2, "101", "РВС-1000", "РВС"],
        [None, "Итого по объекту:", "1 ед."],
        ["Цех подъёмных сооружений"],
        [3, "102", "Кран мостовой 10 т", "Кран мостовой"],
    ]
    data = xlsx(tmp_path, ("Лист", rows), merges=("A2:D2", "A4:D4", "A7:D7"))
    result = parse_asset_list(data, "list.xlsx")
    assert result.errors == []
    assert result.rows_read == 3
    values = [r.values for r in result.rows]
    assert (values[0]["facility_code"], values[0]["facility_name"]) == (
        "OPO-03",
        "Компрессорная станция",
    )
    assert values[1]["facility_name"] == "Склад ГСМ" and "facility_code" not in values[1]
    assert values[2]["facility_name"] == "Цех подъёмных сооружений"
    assert [v["device_type"] for v in values] == ["pressure_vessel", "tank", "crane"]
    assert result.facility_labels == ["OPO-03", "Склад ГСМ", "Цех подъёмных сооружений"]


def test_a_lone_name_is_a_data_row_without_a_number_and_a_lone_note_too(tmp_path):
    # a lone text in the name column may be a device without its number: never a silent group
    rows = [
        ["Инв. №", "Наименование", "Примечание"],
        [None, "Котельная №1"],
        ["1", "Котел ДЕ-6", None],
        [None, None, "списать в 2027"],
        ["ОПО: Котельная №2", None, None],
        ["2", "Котел ДЕ-10", None],
    ]
    result = parse_asset_list(xlsx(tmp_path, ("Лист", rows)), "list.xlsx")
    assert "facility_name" not in result.rows[0].values
    assert result.rows[1].values["facility_name"] == "Котельная №2"
    assert result.rows_read == 4
    assert [(e.excel_row, e.column) for e in result.errors] == [
        (2, "Инв. №"),
        (4, "Инв. №"),
        (4, "Наименование"),
    ]
    assert "начните строку с «ОПО:»" in result.errors[0].message


def test_kazakh_headers(tmp_path):
    rows = [
        ["Инвентарлық нөмірі", "Атауы", "Түрі", "Дайындалған жылы", "Тозу, %", "ҚӨО коды"],
        ["ИН-1", "Бу қазаны ДЕ-6", "бу қазаны", 1985, 70, "OPO-01"],
        ["ИН-2", "Лифт", "лифт", 2001, 35.5, "OPO-02"],
    ]
    result = parse_asset_list(xlsx(tmp_path, ("Тізім", rows)), "list.xlsx")
    assert result.errors == []
    assert result.mapping == {
        "Инвентарлық нөмірі": "inventory_no",
        "Атауы": "name",
        "Түрі": "device_type",
        "Дайындалған жылы": "manufacture_year",
        "Тозу, %": "wear_pct",
        "ҚӨО коды": "facility_code",
    }
    assert result.rows[0].values["device_type"] == "steam_boiler"
    assert result.rows[1].values["wear_pct"] == 35.5


def test_thousands_separators_short_years_and_decimal_commas(tmp_path):
    rows = [
        ["Инв. №", "Наименование", "Наработка, циклов", "Предельное число циклов",
         "Ввод в эксплуатацию", "След. тех. освидетельствование", "Рабочая температура"],
        ["1", "Сосуд В-1", "12\u00a0500", "1 000 000", "26.12.79", "15.01.30", "−5,5"],
        ["2", "Сосуд В-2", "7\u202f000", 20000, "1.2.2015", "2030-05-01", "115 °C"],
    ]  # fmt: skip
    result = parse_asset_list(xlsx(tmp_path, ("Лист", rows)), "list.xlsx")
    assert result.errors == []
    first, second = (r.values for r in result.rows)
    assert first["cycle_count"] == 12500 and first["cycle_limit"] == 1_000_000
    assert first["commissioned_on"] == date(1979, 12, 26)
    assert first["next_inspection_on"] == date(2030, 1, 15)
    assert first["temperature_c"] == -5.5
    assert second["cycle_count"] == 7000 and second["cycle_limit"] == 20000
    assert second["commissioned_on"] == date(2015, 2, 1)
    assert second["temperature_c"] == 115


def test_percent_formatted_fractions_are_read_as_percent(tmp_path):
    rows = [["Инв. №", "Наименование", "Физический износ"]]
    rows += [[f"N{i}", f"Таль {i}", fraction] for i, fraction in enumerate((0.45, 0.07, 1, 0.9))]
    formats = {f"C{r}": "0%" for r in range(2, 6)}
    result = parse_asset_list(xlsx(tmp_path, ("Лист", rows), formats=formats), "list.xlsx")
    assert [r.values["wear_pct"] for r in result.rows] == [45.0, 7.0, 100.0, 90.0]
    assert result.notes


def test_whole_percents_are_not_multiplied(tmp_path):
    rows = [["Инв. №", "Наименование", "Износ, %"], ["1", "Таль", 5], ["2", "Таль", 55]]
    result = parse_asset_list(xlsx(tmp_path, ("Лист", rows)), "list.xlsx")
    assert [r.values["wear_pct"] for r in result.rows] == [5.0, 55.0]
    assert result.notes == []


def test_mixed_fractions_and_percents_are_kept_with_a_warning(tmp_path):
    rows = [["Инв. №", "Наименование", "Износ, %"], ["1", "Таль", 0.5], ["2", "Таль", 55]]
    result = parse_asset_list(xlsx(tmp_path, ("Лист", rows)), "list.xlsx")
    assert [r.values["wear_pct"] for r in result.rows] == [0.5, 55.0]
    assert len(result.notes) == 1 and "доли единицы" in result.notes[0]


def test_totals_row_and_signatures_are_not_data(tmp_path):
    rows = [
        HEADER_RU,
        row_ru("1"),
        row_ru("2"),
        [],
        ["Итого:", "2 ед."],
        [],
        [None, "Главный инженер", None, "Иванов И. И."],
    ]
    result = parse_asset_list(xlsx(tmp_path, ("Лист", rows)), "list.xlsx")
    assert result.rows_read == 2
    assert result.valid_count == 2 and result.errors == []


def test_repeated_page_headers_and_column_numbers_are_skipped(tmp_path):
    rows = [HEADER_RU, [1, 2, 3, 4, 5], row_ru("1"), HEADER_RU, ["1", "2", "3", "4", "5"]]
    rows += [row_ru("2")]
    result = parse_asset_list(xlsx(tmp_path, ("Лист", rows)), "list.xlsx")
    assert result.rows_read == 2
    assert [r.excel_row for r in result.rows] == [3, 6]


def test_duplicate_inventory_numbers_are_reported_on_later_rows(tmp_path):
    rows = [HEADER_RU, row_ru("0000100"), row_ru("0000200"), row_ru("0000100"), row_ru("0000100")]
    result = parse_asset_list(xlsx(tmp_path, ("Лист", rows)), "list.xlsx")
    assert [r.excel_row for r in result.rows] == [2, 3]
    assert [(e.excel_row, e.column, e.value, e.message) for e in result.errors] == [
        (4, "Инв. №", "0000100", "инвентарный номер повторяется (см. строку 2)"),
        (5, "Инв. №", "0000100", "инвентарный номер повторяется (см. строку 2)"),
    ]


def test_numeric_inventory_numbers_lose_the_trailing_zero_fraction(tmp_path):
    rows = [HEADER_RU, row_ru(100000), row_ru("0000100000")]
    result = parse_asset_list(xlsx(tmp_path, ("Лист", rows)), "list.xlsx")
    assert [r.values["inventory_no"] for r in result.rows] == ["100000", "0000100000"]


def test_several_bad_cells_give_one_error_each(tmp_path):
    rows = [
        ["Инв. №", "Наименование", "Вид ТУ", "Год выпуска", "Ввод в эксплуатацию", "Износ",
         "Срок службы", "Статус"],
        [None, "Насос", "Насос", 1850, "30.02.2010", "-3", 150, "сломан"],
        ["7", "Котел", "котел паровой", 2010, "01.01.2005", "10", 20, "в работе"],
    ]  # fmt: skip
    result = parse_asset_list(xlsx(tmp_path, ("Лист", rows)), "list.xlsx")
    assert result.rows == [] and result.rows_read == 2
    errors = {(e.excel_row, e.column): e for e in result.errors}
    assert set(errors) == {
        (2, "Инв. №"),
        (2, "Вид ТУ"),
        (2, "Год выпуска"),
        (2, "Ввод в эксплуатацию"),
        (2, "Износ"),
        (2, "Срок службы"),
        (2, "Статус"),
        (3, "Ввод в эксплуатацию"),
    }
    assert "сосуд под давлением" in errors[2, "Вид ТУ"].message  # says what is expected
    assert errors[2, "Год выпуска"].value == "1850"
    assert "от 1900 до" in errors[2, "Год выпуска"].message
    assert errors[2, "Ввод в эксплуатацию"].message == "нет такой даты: 30.02.2010"
    assert errors[2, "Износ"].message == "износ должен быть от 0 до 100 %"
    assert errors[2, "Срок службы"].message == "срок службы должен быть от 0,5 до 100 лет"
    assert "в эксплуатации" in errors[2, "Статус"].message
    assert "раньше года изготовления (2010)" in errors[3, "Ввод в эксплуатацию"].message
    assert errors[3, "Ввод в эксплуатацию"].value == "01.01.2005"


def test_unknown_columns_are_reported_as_ignored(tmp_path):
    rows = [
        ["Инв. №", "Стоимость, тенге", "Наименование", "Ответственный", "Статус"],
        ["1", "1 000 000", "Лифт", "Петров", "в эксплуатации"],
    ]
    result = parse_asset_list(xlsx(tmp_path, ("Лист", rows)), "list.xlsx")
    assert result.ignored_columns == ["Стоимость, тенге", "Ответственный"]
    assert result.rows[0].values == {"inventory_no": "1", "name": "Лифт", "status": "in_service"}


def test_year_only_dates_are_flagged(tmp_path):
    rows = [HEADER_RU, row_ru("1", year=1980, start="1981 г."), row_ru("2", start=2015)]
    result = parse_asset_list(xlsx(tmp_path, ("Лист", rows)), "list.xlsx")
    assert [r.values["commissioned_on"] for r in result.rows] == [
        date(1981, 1, 1),
        date(2015, 1, 1),
    ]
    assert all(r.approximate == frozenset({"commissioned_on"}) for r in result.rows)
    assert any("только год" in note for note in result.notes)


def test_excel_dates_serials_and_datetimes(tmp_path):
    rows = [
        ["Инв. №", "Наименование", "Дата ввода", "Дата оценки износа", "Дата последнего ТО"],
        ["1", "Лифт", date(2001, 5, 6), datetime(2024, 3, 1, 10, 30), 45292],
    ]
    result = parse_asset_list(xlsx(tmp_path, ("Лист", rows)), "list.xlsx")
    values = result.rows[0].values
    assert values["commissioned_on"] == date(2001, 5, 6)
    assert values["assessed_on"] == date(2024, 3, 1)
    assert values["last_inspection_on"] == date(2024, 1, 1)  # serial number 45292


def test_two_level_header(tmp_path):
    rows = [
        ["Инв. №", "Наименование", "Техническое освидетельствование", None],
        [None, None, "последнее", "следующее"],
        ["1", "Котел", "10.02.2024", "10.02.2028"],
    ]
    data = xlsx(tmp_path, ("Лист", rows), merges=("A1:A2", "B1:B2", "C1:D1"))
    result = parse_asset_list(data, "list.xlsx")
    assert result.header_row == 2
    assert result.rows[0].values["last_inspection_on"] == date(2024, 2, 10)
    assert result.rows[0].values["next_inspection_on"] == date(2028, 2, 10)


def test_second_sheet_holds_the_data(tmp_path):
    cover = [["Инструкция"], ["Заполните лист «Реестр»"], ["Версия 3"]]
    data = xlsx(tmp_path, ("Титул", cover), ("Реестр", [HEADER_RU, row_ru("1"), row_ru("2")]))
    result = parse_asset_list(data, "list.xlsx")
    assert result.sheet_name == "Реестр"
    assert result.valid_count == 2


def test_explicit_mapping_overrides_detection(tmp_path):
    rows = [["Код", "Что", "Примечание"], ["K-1", "Кран", "на ремонте"]]
    data = xlsx(tmp_path, ("Лист", rows))
    with pytest.raises(FileRejected, match="строка заголовков"):
        parse_asset_list(data, "list.xlsx")
    result = parse_asset_list(
        data, "list.xlsx", mapping={"код": "inventory_no", 1: "name", "Примечание": None}
    )
    assert result.mapping == {"Код": "inventory_no", "Что": "name"}
    assert result.ignored_columns == ["Примечание"]
    assert result.rows[0].values == {"inventory_no": "K-1", "name": "Кран"}
    with pytest.raises(ValueError, match="неизвестное поле"):
        parse_asset_list(data, "list.xlsx", mapping={"Код": "serial"})


def test_unused_numbered_template_lines_are_not_rows(tmp_path):
    rows = [["№ п/п", *HEADER_RU], [1, *row_ru("A")], [2], [3], [4, None, None, None, None, None]]
    rows += [[None] * 7 + ["стоимость 1 000 000"]]
    result = parse_asset_list(xlsx(tmp_path, ("Лист", rows)), "list.xlsx")
    assert result.rows_read == 1 and result.errors == []
    # listed, never silently dropped
    assert [(s.excel_row, s.reason) for s in result.skipped_rows] == [
        (3, "пустая строка шаблона (только номер по порядку)"),
        (4, "пустая строка шаблона (только номер по порядку)"),
        (5, "пустая строка шаблона (только номер по порядку)"),
        (6, "значения только в нераспознанных столбцах"),
    ]


def test_facility_column_with_code_and_name(tmp_path):
    rows = [
        ["Инв. №", "Наименование", "Объект"],
        ["1", "Кран", "OPO-05 Цех подъёмных сооружений"],
        ["2", "Лифт", "Компрессорная станция"],
    ]
    result = parse_asset_list(xlsx(tmp_path, ("Лист", rows)), "list.xlsx")
    first, second = (r.values for r in result.rows)
    assert (first["facility_code"], first["facility_name"]) == (
        "OPO-05",
        "Цех подъёмных сооружений",
    )
    assert second["facility_name"] == "Компрессорная станция" and "facility_code" not in second
    assert result.facility_labels == ["OPO-05", "Компрессорная станция"]


def test_ods_spreadsheet(tmp_path):
    def cell(value):
        if value is None:
            return "<table:table-cell/>"
        if isinstance(value, int | float):
            return (
                f'<table:table-cell office:value-type="float" office:value="{value}">'
                f"<text:p>{value}</text:p></table:table-cell>"
            )
        return (
            '<table:table-cell office:value-type="string">'
            f"<text:p>{value}</text:p></table:table-cell>"
        )

    rows = [[], [None, "Инв. №", "Наименование", "Износ, %"], [None, "1", "Кран", 45]]
    body = "".join(f"<table:table-row>{''.join(map(cell, r))}</table:table-row>" for r in rows)
    ns = (
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
    )
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ns} '
        'office:version="1.2"><office:body><office:spreadsheet><table:table table:name="Лист1">'
        f"{body}</table:table></office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest='
        '"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("META-INF/manifest.xml", manifest)
        archive.writestr("content.xml", content)
    result = parse_asset_list(buffer.getvalue(), "list.ods")
    assert result.header_row == 2
    assert [(r.excel_row, r.values) for r in result.rows] == [
        (3, {"inventory_no": "1", "name": "Кран", "wear_pct": 45.0})
    ]


def test_missing_required_column_says_what_was_found(tmp_path):
    rows = [["Наименование", "Вид ТУ", "Склад"], ["Кран", "кран", "1"]]
    with pytest.raises(FileRejected) as caught:
        parse_asset_list(xlsx(tmp_path, ("Лист", rows)), "list.xlsx")
    message = caught.value.message
    assert "«Инвентарный номер»" in message
    assert "«Наименование»" in message and "«Склад»" in message


# ---------------------------------------------------------------------------- bad files


def test_pdf_renamed_to_xlsx_is_rejected():
    with pytest.raises(FileRejected, match="PDF"):
        parse_asset_list(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "list.xlsx")


def test_csv_renamed_to_xlsx_is_rejected():
    with pytest.raises(FileRejected, match="текстовый файл"):
        parse_asset_list("Инв. №;Наименование\n1;Кран\n".encode(), "list.xlsx")


def test_html_saved_as_xls_is_rejected():
    data = b"<html><body><table><tr><td>1</td></tr></table></body></html>"
    with pytest.raises(FileRejected, match="HTML"):
        parse_asset_list(data, "export.xls")


def test_word_document_is_rejected(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    with pytest.raises(FileRejected, match="документ Word"):
        parse_asset_list(buffer.getvalue(), "list.xlsx")


def test_encrypted_xlsx_is_rejected():
    ole2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    data = ole2 + "EncryptionInfo".encode("utf-16-le") + "EncryptedPackage".encode("utf-16-le")
    with pytest.raises(FileRejected, match="зашифрован паролем"):
        parse_asset_list(data, "list.xlsx")


def test_truncated_xlsx_is_rejected(tmp_path):
    data = xlsx(tmp_path, ("Лист", [HEADER_RU, row_ru("1")]))
    with pytest.raises(FileRejected, match="повреждён"):
        parse_asset_list(data[: len(data) // 2], "list.xlsx")


def test_empty_file_and_empty_workbook(tmp_path):
    with pytest.raises(FileRejected, match="пустой"):
        parse_asset_list(b"", "list.xlsx")
    with pytest.raises(FileRejected, match="нет данных"):
        parse_asset_list(xlsx(tmp_path, ("Лист1", []), ("Лист2", [])), "list.xlsx")


def test_workbook_without_a_recognisable_header(tmp_path):
    rows = [["Отчёт о продажах"], ["Январь", 100, 200], ["Февраль", 150, 250]]
    with pytest.raises(FileRejected, match="не найдена строка заголовков"):
        parse_asset_list(xlsx(tmp_path, ("Лист", rows)), "list.xlsx")


def test_zip_bomb_is_rejected_before_parsing():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", bytes(8 * 1024 * 1024))
    data = buffer.getvalue()
    assert len(data) < 100_000
    with pytest.raises(FileRejected, match="сжата в .* раз"):
        parse_asset_list(data, "bomb.xlsx")
    small = Limits(max_uncompressed_bytes=4 * 1024 * 1024, max_compression_ratio=10_000)
    with pytest.raises(FileRejected, match="после распаковки"):
        parse_asset_list(data, "bomb.xlsx", limits=small)


def test_too_many_rows_and_too_many_bytes(tmp_path):
    data = xlsx(tmp_path, ("Лист", [HEADER_RU] + [row_ru(str(i)) for i in range(60)]))
    with pytest.raises(FileRejected, match="Слишком много строк"):
        parse_asset_list(data, "list.xlsx", limits=Limits(max_rows=50))
    with pytest.raises(FileRejected, match="слишком большой"):
        parse_asset_list(data, "list.xlsx", limits=Limits(max_bytes=1000))
    assert parse_asset_list(data, "list.xlsx", limits=Limits(max_rows=61)).valid_count == 60


# ---------------------------------------------------------------------------- pieces


@pytest.mark.parametrize(
    ("title", "field"),
    [
        ("Износ, %", "wear_pct"),
        ("Срок службы (лет)", "service_life_years"),
        ("Рабочее давление, МПа", "pressure_mpa"),
        ("ЗАВ.  №", "factory_no"),
        ("Дата ввода\nв эксплуатацию", "commissioned_on"),
        ("Физический износ на 01.01.2025, %", "wear_pct"),
        ("Year of manufacture", "manufacture_year"),
        ("Қызмет ету мерзімі, жыл", "service_life_years"),
        ("Стоимость", None),
        # «ТУ» (технического устройства) qualifies the field; alone it is the device's name
        ("ТУ", "name"),
        ("Марка ТУ", "model"),
        ("Зав. № ТУ", "factory_no"),
        ("Рег. № ТУ", "registration_no"),
        ("Заводской номер оборудования", "factory_no"),
        ("Шифр ТУ", None),
        ("№ ТУ", None),  # a number of the device, not the running number: mapped by hand
        ("№ оборудования", None),
        # a quantity is not a count of load cycles
        ("Кол-во", None),
        ("Количество, шт", None),
        ("Наработка, циклов", "cycle_count"),
        ("Допустимое количество, циклов", "cycle_limit"),
    ],
)
def test_header_titles(title, field):
    assert match_title(title) == field


def test_find_header_skips_titles_and_units():
    peek = [
        (1, ["Ведомость оборудования", None, None]),
        (2, [None, None, None]),
        (3, ["Инвентарный номер", "Наименование", "Износ"]),
        (4, [None, None, "%"]),
        (5, ["1", "Кран", "40"]),
    ]
    match = find_header(peek)
    assert match.header_row == 3
    assert match.columns == {0: "inventory_no", 1: "name", 2: "wear_pct"}
    assert match.skip_rows == {4}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1 234,5", 1234.5),
        ("1\u00a0234,5", 1234.5),
        ("1.234,5", 1234.5),
        ("1,234.5", 1234.5),
        ("1,4 МПа", 1.4),
        (20.0, 20.0),
        ("двадцать", None),
        ("12.5.2015", None),
        ("nan", None),
    ],
)
def test_parse_number(raw, expected):
    value, error = parse_number(raw)
    assert value == expected
    assert (error is None) == (expected is not None)


@pytest.mark.parametrize(
    ("raw", "fraction", "expected"),
    [("45 %", False, 45.0), ("45,5%", True, 45.5), (0.45, True, 45.0), ("0,3", True, 30.0)],
)
def test_parse_percent(raw, fraction, expected):
    assert parse_percent(raw, fraction=fraction) == (expected, None)


def test_parse_percent_rejects_out_of_range():
    assert parse_percent("101") == (None, "износ должен быть от 0 до 100 %")


@pytest.mark.parametrize(
    ("raw", "expected", "approximate"),
    [
        ("26.12.1979", date(1979, 12, 26), False),
        ("1.2.2015", date(2015, 2, 1), False),
        ("26.12.79", date(1979, 12, 26), False),
        ("2015-07-01", date(2015, 7, 1), False),
        ("2015 г.", date(2015, 1, 1), True),
        (2015, date(2015, 1, 1), True),
        (43831.0, date(2020, 1, 1), False),
        (datetime(2020, 5, 1, 8, 0), date(2020, 5, 1), False),
        ("26 декабря 1979 г.", date(1979, 12, 26), False),
    ],
)
def test_parse_dates(raw, expected, approximate):
    assert parse_date_ex(raw) == (expected, None, approximate)


def test_impossible_and_unreadable_dates():
    assert parse_date("31.02.2015") == (None, "нет такой даты: 31.02.2015")
    value, error = parse_date("вчера")
    assert value is None and "ДД.ММ.ГГГГ" in error
    assert parse_date("01.01.1850")[1].startswith("дата вне допустимого диапазона")


def test_parse_year_and_text():
    assert parse_year("1985 г.") == (1985, None)
    assert parse_year(1985.0) == (1985, None)
    assert parse_year("79")[0] is None
    assert parse_text("  Котел \n КВ-ГМ  ") == ("Котел КВ-ГМ", None)
    assert parse_text(100000.0) == ("100000", None)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("кран мостовой", "crane"),
        ("кран козловой", "crane"),
        ("автокран", "crane"),
        ("сосуд под давлением", "pressure_vessel"),
        ("сосуд, работающий под давлением", "pressure_vessel"),
        ("ресивер", "pressure_vessel"),
        ("котел паровой", "steam_boiler"),
        ("котёл водогрейный", "hot_water_boiler"),
        ("водогрейный котёл", "hot_water_boiler"),
        ("паропровод", "steam_pipeline"),
        ("трубопровод пара и горячей воды", "steam_pipeline"),
        ("технологический трубопровод", "process_pipeline"),
        ("газовое оборудование", "gas_equipment"),
        ("ГРП", "gas_equipment"),
        ("таль", "hoist"),
        ("тельфер", "hoist"),
        ("лебёдка", "hoist"),
        ("лифт пассажирский", "lift"),
        ("лифт грузовой", "lift"),
        ("эскалатор", "escalator"),
        ("резервуар", "tank"),
        ("РВС", "tank"),
        ("горно-шахтное оборудование", "mining"),
        ("steam boiler", "steam_boiler"),
        ("hot water boiler", "hot_water_boiler"),
        ("crane", "crane"),
        ("tank", "tank"),
        ("lift", "lift"),
        ("process pipeline", "process_pipeline"),
        ("steam pipeline", "steam_pipeline"),
        ("gas equipment", "gas_equipment"),
        ("pressure vessel", "pressure_vessel"),
        ("прочее", "other"),
    ],
)
def test_device_types(raw, code):
    assert parse_device_type(raw) == (code, None)


def test_unknown_or_ambiguous_device_type_is_an_error_not_other():
    value, error = parse_device_type("Насос центробежный")
    assert value is None and "неизвестный вид устройства" in error and "лифт" in error
    value, error = parse_device_type("Котел")
    assert value is None and "паровой или водогрейный" in error


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("в эксплуатации", "in_service"),
        ("на консервации", "conserved"),
        ("законсервирован", "conserved"),
        ("списан", "decommissioned"),
        ("выведен из эксплуатации", "decommissioned"),
        ("временно выведен из эксплуатации", "suspended"),
        ("in service", "in_service"),
    ],
)
def test_statuses(raw, code):
    assert parse_status(raw) == (code, None)


# ---------------------------------------------------------------------------- remembered mapping


def test_a_mapping_applies_only_to_the_columns_present_in_the_file():
    remembered = {"Наименование": "name", "Разновидность": "device_type", 7: None}
    peek = [(1, ["Инвентарный номер", "Наименование технического устройства", "Вид ТУ"])]
    match = find_header(peek, remembered)
    assert match.columns == {0: "inventory_no", 1: "name", 2: "device_type"}
    # a mapped column that is in the file still wins over a recognised one
    peek = [(1, ["Инвентарный номер", "Наименование ТУ", "Разновидность", "Вид ТУ"])]
    match = find_header(peek, {"Разновидность": "device_type"})
    assert match.columns == {0: "inventory_no", 1: "name", 2: "device_type"}
    assert match.ignored == ["Вид ТУ"]
    # so does a column given by its index, with a title or without
    match = find_header(peek, {3: "device_type"})
    assert match.columns == {0: "inventory_no", 1: "name", 3: "device_type"}
    match = find_header([(1, ["Инв. №", "Наименование", "Вид ТУ"])], {5: "device_type"})
    assert match.columns == {0: "inventory_no", 1: "name", 5: "device_type"}


# ---------------------------------------------------------------------------- bounds


def test_text_limits_come_from_the_registry_columns():
    from equipment.models import Equipment, Facility

    limits = text_limits()
    assert limits["inventory_no"] == Equipment.__table__.c.inventory_no.type.length == 60
    assert limits["name"] == Equipment.__table__.c.name.type.length == 300
    assert limits["model"] == Equipment.__table__.c.model.type.length == 120
    assert limits["facility_code"] == Facility.__table__.c.code.type.length == 40
    assert limits["notes"] == NOTES_MAX_LENGTH  # a Text column: the item form's limit
    assert set(limits) == PLAIN_FIELDS


def test_text_longer_than_the_registry_column_is_an_error(tmp_path):
    header = ["Инв. №", "Наименование", "Марка", "Код ОПО", "Примечание", "Заводской №"]
    rows = [
        header,
        ["И" * 60, "Н" * 300, "М" * 120, "К" * 40, "П" * NOTES_MAX_LENGTH, 1e59],
        ["И" * 61, "Котел", None, None, None, None],
        ["3", "Котел " * 60, "М" * 121, "К" * 41, "П" * (NOTES_MAX_LENGTH + 1), 1e60],
    ]
    result = parse_asset_list(xlsx(tmp_path, ("Лист", rows)), "list.xlsx")
    assert [r.excel_row for r in result.rows] == [2]
    assert len(result.rows[0].values["name"]) == 300
    errors = {(e.excel_row, e.column): e for e in result.errors}
    assert set(errors) == {
        (3, "Инв. №"),
        (4, "Наименование"),
        (4, "Марка"),
        (4, "Код ОПО"),
        (4, "Примечание"),
    }
    assert errors[3, "Инв. №"].message == (
        "слишком длинное значение в поле «Инвентарный номер» (длина 61); "
        "ожидается не длиннее 60 символов"
    )
    assert errors[3, "Инв. №"].value == "И" * 61  # no «не указан инвентарный номер» as well
    assert "не длиннее 300 символов" in errors[4, "Наименование"].message
    assert "«Марка (модель)»" in errors[4, "Марка"].message
    assert "не длиннее 40 символов" in errors[4, "Код ОПО"].message


def test_whitespace_does_not_count_towards_the_length(tmp_path):
    rows = [HEADER_RU[:2], ["  A-1  ", "Котел" + " " * 400 + "ДЕ-25"]]
    result = parse_asset_list(xlsx(tmp_path, ("Лист", rows)), "list.xlsx")
    assert result.rows[0].values == {"inventory_no": "A-1", "name": "Котел ДЕ-25"}


def test_cycle_counts_fit_the_integer_column(tmp_path):
    rows = [
        ["Инв. №", "Наименование", "Наработка, циклов", "Предельное число циклов"],
        ["1", "Кран", 2_147_483_647, "2 147 483 647"],
        ["2", "Кран", 2_147_483_648, 10_000],
        ["3", "Кран", 0, "1e20"],
        ["4", "Кран", -1, "100000000000000000000 циклов"],
    ]
    result = parse_asset_list(xlsx(tmp_path, ("Лист", rows)), "list.xlsx")
    assert [r.excel_row for r in result.rows] == [2]
    assert result.rows[0].values["cycle_count"] == 2_147_483_647
    errors = {(e.excel_row, e.column): e.message for e in result.errors}
    assert set(errors) == {
        (3, "Наработка, циклов"),
        (4, "Предельное число циклов"),
        (5, "Наработка, циклов"),
        (5, "Предельное число циклов"),
    }
    expected = "ожидается целое число от 0 до 2 147 483 647"
    assert all(message.endswith(expected) for message in errors.values()), errors
    assert errors[3, "Наработка, циклов"].startswith("слишком большое число циклов")
    assert errors[5, "Наработка, циклов"].startswith("число циклов не может быть отрицательным")


def test_pressure_and_temperature_have_physical_bounds(tmp_path):
    rows = [
        ["Инв. №", "Наименование", "Рабочее давление, МПа", "Рабочая температура, °C"],
        ["1", "Сосуд", "1000", "-196"],
        ["2", "Сосуд", "0", "2000 °C"],
        ["3", "Сосуд", "-0,5", "-300"],
        ["4", "Сосуд", 1e300, 5000],
        ["5", "Сосуд", "9" * 400 + " МПа", "-" + "9" * 400 + " °C"],
    ]
    result = parse_asset_list(xlsx(tmp_path, ("Лист", rows)), "list.xlsx")
    assert [r.excel_row for r in result.rows] == [2, 3]
    assert result.rows[0].values["temperature_c"] == -196.0
    errors = {(e.excel_row, e.column): e.message for e in result.errors}
    pressure, temperature = "Рабочее давление, МПа", "Рабочая температура, °C"
    assert set(errors) == {(row, column) for row in (4, 5, 6) for column in (pressure, temperature)}
    assert errors[4, pressure] == "давление должно быть от 0 до 1000 МПа"
    assert errors[5, pressure] == "давление должно быть от 0 до 1000 МПа"
    assert errors[4, temperature] == "температура должна быть от −273 до 2000 °C"
    assert errors[6, pressure].startswith("не число:") and "давление в МПа" in errors[6, pressure]
    assert errors[6, temperature].startswith("не число:")


@pytest.mark.parametrize(
    "raw",
    [
        "9" * 400 + " МПа",
        "-" + "9" * 400,
        "9" * 400 + ",5",
        "1e400",
        float("inf"),
        float("-inf"),
        float("nan"),
        10**400,
    ],
    ids=["digits with a unit", "negative digits", "decimal comma", "exponent", "inf", "-inf",
         "nan", "huge int"],
)  # fmt: skip
def test_numbers_beyond_a_float_are_errors_not_infinity(raw):
    assert parse_number(raw)[0] is None and parse_number(raw)[1].startswith("не число")
    assert parse_percent(raw)[0] is None
    assert parse_year(raw)[0] is None
    assert parse_date(raw)[0] is None


@pytest.mark.parametrize(
    "raw",
    [
        "01.01.0000",
        "0000-01-01",
        "00.00.0000",
        "5 января 0000",
        "01.2015.0000",
        "31.12.10000",
        "10000-01-01",
        "9999-12-31",
        "31.12.9999",
        datetime(9999, 12, 31),
        date(1, 1, 1),
        2958466,  # the day after 31.12.9999 as an Excel serial number
        10**400,
        -1,
        1899,
    ],
)
def test_dates_outside_the_calendar_or_the_range_are_errors(raw):
    value, error, approximate = parse_date_ex(raw)
    assert value is None and error and not approximate


def test_manufacture_year_zero_or_far_ahead_is_an_error(tmp_path):
    rows = [
        ["Инв. №", "Наименование", "Год выпуска"],
        ["1", "Котел", "0000"],
        ["2", "Котел", "1899"],
        ["3", "Котел", "9999 г."],
        ["4", "Котел", 10**18],
        ["5", "Котел", clock.today().year],
    ]
    result = parse_asset_list(xlsx(tmp_path, ("Лист", rows)), "list.xlsx")
    assert [r.excel_row for r in result.rows] == [6]
    assert [e.excel_row for e in result.errors] == [2, 3, 4, 5]
    for error in result.errors[:3]:
        assert error.message.startswith("год изготовления должен быть от 1900 до ")
    assert result.errors[3].message.startswith("не год:")


def test_nul_characters_in_text_are_dropped(tmp_path):
    """«_x0000_» in the file reads as a NUL, which PostgreSQL text and JSON cannot store."""
    rows = [
        ["Инв._x0000_ №", "Наименование", "Примечание"],
        ["A_x0000_-1", "Котел_x0000_ ДЕ-25", "_x0000_"],
    ]
    result = parse_asset_list(xlsx(tmp_path, ("Лист", rows)), "list.xlsx")
    assert result.mapping == {
        "Инв. №": "inventory_no",
        "Наименование": "name",
        "Примечание": "notes",
    }
    assert result.rows[0].values == {"inventory_no": "A-1", "name": "Котел ДЕ-25"}


# ---------------------------------------------------------------------------- adversarial files
# The recipes of the adversarial review, each with variations. Files are real .xlsx (openpyxl).

H = ["№ п/п", "Инвентарный номер", "Наименование", "Вид ТУ", "Код ОПО"]


def book(path, rows, merges=(), sheets=None, *, far=None, formats=None) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    for cell_range in merges:
        sheet.merge_cells(cell_range)
    if far is not None:
        sheet.cell(*far)
    for ref, number_format in (formats or {}).items():
        sheet[ref].number_format = number_format
    for title, more in sheets or []:
        extra = workbook.create_sheet(title)
        for row in more:
            extra.append(row)
    workbook.save(path)
    return Path(path).read_bytes()


def items(prefix: str, count: int, facility="OPO-01", kind="кран мостовой") -> list[list]:
    return [
        [i + 1, f"{prefix}-{i + 1}", f"Кран {prefix}{i + 1}", kind, facility] for i in range(count)
    ]


_GUARDED = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (1_500_000_000, 1_500_000_000))
from equipment.imports.excel import FileRejected, parse_asset_list
try:
    parse_asset_list(open(sys.argv[1], "rb").read(), sys.argv[1])
except FileRejected as err:
    print("REJECTED", err.message)
else:
    print("READ")
"""


def _parse_in_a_subprocess(path: Path) -> str:
    """The risky read runs in a child with 1.5 GB of address space: a regression kills the
    child (calamine aborts), never the test process."""
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", _GUARDED, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).parents[2],
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip()


@pytest.mark.parametrize("far", [(150000, 16384), (20000, 16384), (3000, 16384), (1048576, 60)])
def test_a_far_cell_with_a_value_is_refused_before_calamine_reads_it(tmp_path, far):
    path = tmp_path / "far.xlsx"
    book(path, [H, *items("A", 3)], far=(*far, "x"))
    assert path.stat().st_size < 20_000
    answer = _parse_in_a_subprocess(path)
    ref = f"{xmlscan.column_letter(far[1] - 1)}{far[0]}"
    assert answer.startswith("REJECTED") and f"заполнена ячейка {ref}" in answer
    assert "на листе «Sheet»" in answer and "уберите лишнее" in answer.lower()


@pytest.mark.parametrize("far", [(150000, 16384, " "), (250000, 3, " "), (5000, 900, "\u00a0")])
def test_far_cells_with_only_spaces_are_cut_out_and_the_table_is_read(tmp_path, far):
    path = tmp_path / "spaces.xlsx"
    book(path, [H, *items("A", 3)], far=far)
    assert _parse_in_a_subprocess(path) == "READ"
    result = parse_asset_list(path.read_bytes(), "spaces.xlsx")
    assert result.rows_read == 3 and result.errors == []


def test_the_xml_scan_counts_cells_without_references(tmp_path):
    """A writer may leave out the cell references: positions are then implicit."""
    cells = "".join("<c><v>1</v></c>" for _ in range(2000))
    sheet = (
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'<sheetData><row r="1">{cells}</row><row r="60000"><c><v>2</v></c></row>'
        "</sheetData></worksheet>"
    )
    path = tmp_path / "implicit.xlsx"
    book(path, [["x"]])
    data = xmlscan.replace_members(path.read_bytes(), {"xl/worksheets/sheet1.xml": sheet.encode()})
    path.write_bytes(data)
    answer = _parse_in_a_subprocess(path)
    assert answer.startswith("REJECTED") and "BXX1" in answer  # 2000 columns wide


def test_an_ods_with_a_far_repeated_cell_is_refused(tmp_path):
    body = (
        '<table:table-row><table:table-cell office:value-type="string"><text:p>Инв. №</text:p>'
        "</table:table-cell></table:table-row>"
        '<table:table-row table:number-rows-repeated="6000"><table:table-cell '
        'table:number-columns-repeated="16000" office:value-type="string"><text:p>x</text:p>'
        "</table:table-cell></table:table-row>"
    )
    path = tmp_path / "far.ods"
    path.write_bytes(_ods(body))
    answer = _parse_in_a_subprocess(path)
    assert answer.startswith("REJECTED") and "заполнена ячейка" in answer


def _ods(body: str, sheet="Лист1") -> bytes:
    ns = (
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
        'xmlns:calcext="urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0"'
    )
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ns} '
        f'office:version="1.2"><office:body><office:spreadsheet><table:table table:name="{sheet}">'
        f"{body}</table:table></office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest='
        '"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("META-INF/manifest.xml", manifest)
        archive.writestr("content.xml", content)
    return buffer.getvalue()


def _ods_cell(value, **attrs) -> str:
    extra = "".join(f' table:{k.replace("_", "-")}="{v}"' for k, v in attrs.items())
    if value is None:
        return f"<table:table-cell{extra}/>"
    if isinstance(value, int | float):
        return (
            f'<table:table-cell{extra} office:value-type="float" office:value="{value}">'
            f"<text:p>{value}</text:p></table:table-cell>"
        )
    return (
        f'<table:table-cell{extra} office:value-type="string"><text:p>{value}</text:p>'
        "</table:table-cell>"
    )


def test_ods_merged_cells_reach_the_covered_rows_and_error_cells_are_errors():
    c = _ods_cell
    rows = [
        [c("Код ОПО"), c("Инв. №"), c("Наименование"), c("Год выпуска")],
        [c("OPO-01", number_rows_spanned=2), c("1"), c("Кран"), c(1990)],
        ["<table:covered-table-cell/>", _ods_cell("2"), _ods_cell("Таль"),
         '<table:table-cell table:formula="of:=1/0" office:value-type="float" office:value="0" '
         'calcext:value-type="error"><text:p>#DIV/0!</text:p></table:table-cell>'],
    ]  # fmt: skip
    body = "".join(f"<table:table-row>{''.join(r)}</table:table-row>" for r in rows)
    result = parse_asset_list(_ods(body), "list.ods")
    assert [r.values["facility_code"] for r in result.rows] == ["OPO-01"]
    assert result.invalid_values[("Лист1", 3)]["facility_code"] == "OPO-01"
    assert [(e.excel_row, e.column, e.message.split(";")[0]) for e in result.errors] == [
        (3, "Год выпуска", "ошибка в формуле: #DIV/0!")
    ]


def test_every_list_sheet_is_read_and_the_others_are_reported(tmp_path):
    first, second = items("A", 32), items("B", 68, facility="OPO-02")
    sheets = [
        ("Прочие ТУ", [H, *second]),
        ("Справочник", [["Вид ТУ", "Наименование"], ["кран", "Кран мостовой"]]),
        ("Титул", [["Ведомость"]]),
    ]
    result = parse_asset_list(book(tmp_path / "two.xlsx", [H, *first], sheets=sheets), "x.xlsx")
    assert result.rows_read == 100 and len(result.rows) == 100
    assert result.sheets_read == ["Sheet", "Прочие ТУ"]
    skipped = [s for s in result.sheets if not s.read]
    assert [(s.name, s.reason) for s in skipped] == [
        ("Справочник", "нет столбцов «Инвентарный номер»"),
        ("Титул", "нет строки заголовков списка оборудования"),
    ]
    assert {r.sheet for r in result.rows} == {"Sheet", "Прочие ТУ"}
    assert result.rows[32].excel_row == 2 and result.rows[32].sheet == "Прочие ТУ"
    assert any("не прочитаны" in note for note in result.notes)


def test_sheets_with_their_own_headers_errors_name_the_sheet(tmp_path):
    other = [["Реестр ТУ участка"], ["Инв. №", "Наименование ТУ", "Вид"], ["A-5", "Таль", "таль"],
             ["A-1", "Кран", "кран"], [None, "Лифт", "лифт"]]  # fmt: skip
    data = book(tmp_path / "two.xlsx", [H, *items("A", 2)], sheets=[("Участок", other)])
    result = parse_asset_list(data, "x.xlsx")
    assert [s.header_row for s in result.sheets] == [1, 2]
    errors = [(e.sheet, e.excel_row, e.message) for e in result.errors]
    assert errors == [
        ("Участок", 4, "инвентарный номер повторяется (см. лист «Sheet», строку 2)"),
        ("Участок", 5, errors[1][2]),
    ]
    assert errors[1][2].startswith("не указан инвентарный номер")


def test_a_group_row_under_the_header_is_no_second_header_line(tmp_path):
    rows = [
        ["№ п/п", "Инв. №", "Наименование", "Вид ТУ"],
        ["ОПО: Котельная №1"],
        [1, "GQ-1", "Котел ДЕ-10", "котел паровой"],
        [2, "GQ-2", "Котел ДЕ-16", "котел паровой"],
        ["ОПО: Котельная №2"],
        [3, "GQ-3", "Котел КВГМ-10", "котел водогрейный"],
    ]
    for merges in ((), ("A2:D2", "A5:D5")):
        result = parse_asset_list(book(tmp_path / "g.xlsx", rows, merges), "g.xlsx")
        assert result.header_row == 1
        assert "facility_code" not in result.mapping.values()
        assert [r.values["facility_name"] for r in result.rows] == ["Котельная №1"] * 2 + [
            "Котельная №2"
        ]
        assert result.facility_labels == ["Котельная №1", "Котельная №2"]


def test_sections_page_marks_and_lone_texts_are_not_facilities(tmp_path):
    header = ["№ п/п", "Инвентарный номер", "Наименование", "Вид ТУ"]
    rows = [
        header,
        ["ОПО: Цех подъёмных сооружений"],
        ["1. Грузоподъёмные краны"],
        [1, "K-1", "Кран мостовой 10 т", "кран мостовой"],
        ["2. Подъёмники и тали"],
        [2, "K-2", "Таль электрическая", "таль"],
        ["Страница 2"],
        header,
        ["Сосуды, работающие под давлением"],
        [3, "K-3", "Ресивер", "сосуд"],
        ["- 3 -"],
        [4, "K-4", "Таль ручная", "таль"],
    ]
    result = parse_asset_list(book(tmp_path / "s.xlsx", rows), "s.xlsx")
    assert result.errors == [] and result.rows_read == 4
    assert {r.values["facility_name"] for r in result.rows} == {"Цех подъёмных сооружений"}
    assert result.facility_labels == ["Цех подъёмных сооружений"]
    reasons = [(s.excel_row, s.reason) for s in result.skipped_rows]
    assert reasons == [
        (3, "заголовок раздела"),
        (5, "заголовок раздела"),
        (7, "отметка страницы"),
        (8, "повтор строки заголовков"),
        (9, "заголовок раздела"),
        (11, "отметка страницы"),
    ]


def test_incomplete_data_rows_are_reported_never_dropped(tmp_path):
    rows = [
        ["Инвентарный номер", "Наименование", "Вид ТУ", "Код ОПО"],
        ["S-1", "Кран", "кран", "OPO-05"],
        [None, "Кран козловой", None, None],
        ["S-3", None, None, None],
        ["S-4", "Таль", "таль", "OPO-05"],
        ["S-5", "Таль 2", "таль", None],
        ["Итого по OPO-05: 1"],
        [None, "Таль 3", "таль", "OPO-05"],
        [None, "Главный механик", None, "Петров П. П."],
    ]
    result = parse_asset_list(book(tmp_path / "r.xlsx", rows), "r.xlsx")
    assert result.rows_read == 6
    assert [r.values["inventory_no"] for r in result.rows] == ["S-1", "S-4", "S-5"]
    assert "facility_code" not in result.rows[2].values  # not «S-3»
    assert result.facility_labels == ["OPO-05"]
    errors = {(e.excel_row, e.column): e.message for e in result.errors}
    assert set(errors) == {(3, "Инвентарный номер"), (4, "Наименование"), (8, "Инвентарный номер")}
    assert errors[3, "Инвентарный номер"].startswith("не указан инвентарный номер")
    assert errors[4, "Наименование"].startswith("не указано наименование")
    assert [(s.excel_row, s.reason) for s in result.skipped_rows] == [
        (7, "итоговая строка"),
        (9, "подписи после итогов"),
    ]


def test_1c_group_rows_with_subtotals_or_numbers_and_merged_group_rows(tmp_path):
    rows = [
        ["№ п/п", "Инв. №", "Наименование", "Вид ТУ", "Кол-во", "Стоимость"],
        ["ОПО: Котельная №1", None, None, None, 2, 1500000],
        [1, "K-1", "Котел ДЕ-10", "котел паровой", 1, 750000],
        [2, "K-2", "Котел ДЕ-16", "котел паровой", 1, 750000],
        [3, "ОПО: Котельная №2"],
        [4, "K-3", "Котел КВГМ", "котел водогрейный", 1, 10],
        ["ОПО: Склад ГСМ"],
        [5, "K-4", "РВС-1000", "резервуар", 1, 10],
    ]
    data = book(tmp_path / "1c.xlsx", rows, merges=("B5:D5", "A7:F7"))
    result = parse_asset_list(data, "1c.xlsx")
    assert result.errors == []
    assert [r.values["facility_name"] for r in result.rows] == [
        "Котельная №1", "Котельная №1", "Котельная №2", "Склад ГСМ"
    ]  # fmt: skip


def test_wear_in_percent_format_is_a_fraction_whatever_the_other_cells(tmp_path):
    header = [["Инв. №", "Наименование", "Износ"]]
    wear = [0.45, 0.6, 0.82, 0.375, 1.2]
    rows = header + [[str(i), "Таль", w] for i, w in enumerate(wear)]
    formats = {f"C{r}": "0%" for r in range(2, 7)}
    result = parse_asset_list(book(tmp_path / "w.xlsx", rows, formats=formats), "w.xlsx")
    assert [r.values["wear_pct"] for r in result.rows] == [45.0, 60.0, 82.0, 37.5]
    assert [(e.excel_row, e.message) for e in result.errors] == [
        (6, "износ должен быть от 0 до 100 %")
    ]
    rows = header + [[str(i), "Таль", w] for i, w in enumerate([1, 1, 0])]
    formats = {f"C{r}": "0.0%" for r in range(2, 5)}
    result = parse_asset_list(book(tmp_path / "w.xlsx", rows, formats=formats), "w.xlsx")
    assert [r.values["wear_pct"] for r in result.rows] == [100.0, 100.0, 0.0]
    assert any("процентном формате" in note for note in result.notes)
    # only some cells in percent format: those are fractions, the others percents
    rows = header + [["1", "Таль", 0.5], ["2", "Таль", 55]]
    result = parse_asset_list(book(tmp_path / "w.xlsx", rows, formats={"C2": "0%"}), "w.xlsx")
    assert [r.values["wear_pct"] for r in result.rows] == [50.0, 55.0]


def test_plain_fractions_in_xlsx_are_kept_with_a_note(tmp_path):
    rows = [["Инв. №", "Наименование", "Износ"], ["1", "Таль", 0.45], ["2", "Таль", 0.6]]
    result = parse_asset_list(book(tmp_path / "w.xlsx", rows), "w.xlsx")
    assert [r.values["wear_pct"] for r in result.rows] == [0.45, 0.6]
    assert any("процентный формат" in note for note in result.notes)


@pytest.mark.parametrize(
    "code", ["#N/A", "#REF!", "#DIV/0!", "#VALUE!", "#NAME?", "#NUM!", "#NULL!"]
)
def test_excel_error_cells_are_invalid_not_empty(tmp_path, code):
    rows = [["Инв. №", "Наименование", "Марка", "Год изготовления", "Износ, %"],
            ["1", "Котел", code, code, code], ["2", "Котел", "#Н/Д", "1997", "40"]]  # fmt: skip
    result = parse_asset_list(book(tmp_path / "e.xlsx", rows), "e.xlsx")
    messages = {(e.excel_row, e.column): e.message for e in result.errors}
    expected = f"ошибка в формуле: {code}"
    assert all(
        messages[1 + 1, column].startswith(expected)
        for column in ("Марка", "Год изготовления", "Износ, %")
    )
    assert messages[3, "Марка"].startswith("ошибка в формуле: #Н/Д")  # typed as text too
    assert result.rows == []


def test_formula_cells_with_error_results_in_the_xml(tmp_path):
    path = tmp_path / "f.xlsx"
    book(path, [["Инв. №", "Наименование", "Модель"], ["1", "Котел", "М-860"]])
    xml = zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml").decode()
    xml = xml.replace(
        '<c r="C2" t="inlineStr"><is><t>М-860</t></is></c>',
        '<c r="C2" s="0" t="e"><f>VLOOKUP(A2,X!A:B,2,0)</f><v>#N/A</v></c>',
    )
    path.write_bytes(
        xmlscan.replace_members(path.read_bytes(), {"xl/worksheets/sheet1.xml": xml.encode()})
    )
    result = parse_asset_list(path.read_bytes(), "f.xlsx")
    assert [(e.excel_row, e.column, e.value) for e in result.errors] == [(2, "Модель", "#N/A")]


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("Эксплуатация запрещена", "suspended"),
        ("эксплуатация запрещена предписанием", "suspended"),
        ("Вывод из эксплуатации", "decommissioned"),
        ("выведено из эксплуатации", "decommissioned"),
        ("Выведен в резерв", "in_service"),
        ("в резерве", "in_service"),
        ("резерв, законсервирован", "conserved"),
        ("Ожидает списания", "suspended"),
        ("подготовлен к списанию", "suspended"),
        ("не эксплуатируется", "suspended"),
        ("не работает", "suspended"),
        ("в работе", "in_service"),
        ("out of service", "suspended"),
        ("списан", "decommissioned"),
    ],
)
def test_statuses_with_negations_and_phrases(raw, code):
    assert parse_status(raw) == (code, None)


@pytest.mark.parametrize("raw", ["выведен", "не списан", "сломан", "?"])
def test_unknown_or_ambiguous_status_lists_the_accepted_values(raw):
    value, error = parse_status(raw)
    assert value is None and "в эксплуатации" in error and "законсервировано" in error


def test_units_of_pressure_life_and_cycles(tmp_path):
    rows = [
        ["Инв. №", "Наименование", "Рабочее давление, кгс/см²", "Срок службы, лет",
         "Предельное число циклов"],
        ["1", "Сосуд", 13, "18 мес.", "10 тыс."],
        ["2", "Сосуд", "14 кгс/см2", 20, "2 млн"],
        ["3", "Сосуд", "500 кПа", "240 месяцев", "1 000 000"],
        ["4", "Сосуд", "0,6 бар", 20, 20000],
        ["5", "Сосуд", "1,4 МПа", 20, 10],
        ["6", "Сосуд", "5 мм", "18 штук", "10,000"],
    ]  # fmt: skip
    result = parse_asset_list(book(tmp_path / "u.xlsx", rows), "u.xlsx")
    got = [(r.values["pressure_mpa"], r.values["service_life_years"], r.values["cycle_limit"])
           for r in result.rows]  # fmt: skip
    assert got == [
        (1.274865, 1.5, 10_000),
        (1.372931, 20.0, 2_000_000),
        (0.5, 20.0, 1_000_000),
        (0.06, 20.0, 20_000),
        (1.4, 20.0, 10),
    ]
    messages = {e.column: e.message for e in result.errors if e.excel_row == 7}
    assert "ожидается давление в МПа" in messages["Рабочее давление, кгс/см²"]
    assert "неизвестная единица «штук»" in messages["Срок службы, лет"]
    assert messages["Предельное число циклов"].startswith("неоднозначное число «10,000»")


def test_a_life_in_months_header_and_thousand_cycles_header(tmp_path):
    rows = [["Инв. №", "Наименование", "Срок службы, мес.", "Наработка, тыс. циклов"],
            ["1", "Кран", 240, "1,5"]]  # fmt: skip
    result = parse_asset_list(book(tmp_path / "m.xlsx", rows), "m.xlsx")
    assert result.rows[0].values["service_life_years"] == 20.0
    assert result.rows[0].values["cycle_count"] == 1500


@pytest.mark.parametrize(
    ("titles", "mapping", "ignored"),
    [
        (["Инв. № (старый)", "Инвентарный номер", "Наименование"],
         {"Инвентарный номер": "inventory_no", "Наименование": "name"}, ["Инв. № (старый)"]),
        (["Инвентарный номер", "Прежний инв. №", "Наименование"],
         {"Инвентарный номер": "inventory_no", "Наименование": "name"}, ["Прежний инв. №"]),
        (["Инв. №", "Наименование", "Срок службы (остаточный), лет"],
         {"Инв. №": "inventory_no", "Наименование": "name"}, ["Срок службы (остаточный), лет"]),
        (["Инв. №", "Наименование", "Остаточный срок службы, лет", "Срок службы, лет"],
         {"Инв. №": "inventory_no", "Наименование": "name",
          "Срок службы, лет": "service_life_years"},
         ["Остаточный срок службы, лет"]),
        (["Инв. №", "Наименование", "Фактический срок службы", "Нормативный срок службы"],
         {"Инв. №": "inventory_no", "Наименование": "name",
          "Нормативный срок службы": "service_life_years"}, ["Фактический срок службы"]),
        (["Инв. №", "Наименование", "Наименование ТУ"],
         {"Инв. №": "inventory_no", "Наименование": "name"}, ["Наименование ТУ"]),
    ],
)  # fmt: skip
def test_qualified_titles_and_two_columns_for_one_field(titles, mapping, ignored):
    match = find_header([(1, titles)])
    assert match.mapping == mapping
    assert match.ignored == ignored
    assert set(match.ignored_reasons) == set(ignored)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("Технологический трубопровод резервуарного парка", "process_pipeline"),
        ("Трубопровод горячего мазута", "process_pipeline"),
        ("Трубопровод", "process_pipeline"),
        ("Трубопровод пара", "steam_pipeline"),
        ("Трубопровод паровой Ду100", "steam_pipeline"),
        ("Трубопровод горячей воды", "steam_pipeline"),
        ("Парковый кран мостовой", "crane"),
        ("Кран мостовой", "crane"),
    ],
)
def test_device_types_match_whole_words(raw, code):
    assert parse_device_type(raw) == (code, None)


@pytest.mark.parametrize(
    "raw", ["Кран шаровой", "Кран шаровый Ду50", "Задвижка клиновая", "Клапан предохранительный"]
)
def test_valves_are_not_cranes(raw):
    value, error = parse_device_type(raw)
    assert value is None and error.startswith("не техническое устройство из перечня?")


def test_dates_the_item_form_refuses_are_row_errors(tmp_path):
    today = clock.today()
    rows = [
        ["Инв. №", "Наименование", "Дата ввода в эксплуатацию", "Дата последнего ТО",
         "Дата следующего ТО", "Дата оценки износа", "Износ, %"],
        ["1", "Кран", "2031-01-01", None, None, None, None],
        ["2", "Кран", "01.01.35", None, None, None, None],
        ["3", "Кран", None, "2029-01-01", None, None, None],
        ["4", "Кран", None, "01.03.2020", "01.03.2019", None, None],
        ["5", "Кран", None, None, None, "2030-01-01", 40],
        ["6", "Кран", None, "10.10.20", "10.10.24", None, None],
    ]  # fmt: skip
    result = parse_asset_list(book(tmp_path / "d.xlsx", rows), "d.xlsx")
    assert [r.values.get("commissioned_on") for r in result.rows if r.excel_row == 3] == [
        date(1935, 1, 1)
    ]
    errors = {(e.excel_row, e.column): e.message for e in result.errors}
    assert set(errors) == {
        (2, "Дата ввода в эксплуатацию"),
        (4, "Дата последнего ТО"),
        (5, "Дата следующего ТО"),
        (6, "Дата оценки износа"),
    }
    assert "в будущем" in errors[2, "Дата ввода в эксплуатацию"]
    assert f"не позже сегодняшней ({today:%d.%m.%Y})" in errors[2, "Дата ввода в эксплуатацию"]
    ahead = today + timedelta(days=90)
    assert f"не позже {ahead:%d.%m.%Y} (не более 90 дней вперёд)" in errors[4, "Дата последнего ТО"]
    assert "не позже последнего" in errors[5, "Дата следующего ТО"]
    assert [r.values["next_inspection_on"] for r in result.rows if r.excel_row == 7] == [
        date(2024, 10, 10)
    ]


def test_a_last_examination_a_few_weeks_ahead_is_taken_with_a_note(tmp_path):
    """Registers are written ahead of an examination already agreed (the shared samples hold
    such dates): up to 90 days ahead the date is kept and the rows are named in a note."""
    soon = clock.today() + timedelta(days=26)
    rows = [
        ["Инв. №", "Наименование", "Дата последнего ТО", "Дата следующего ТО"],
        ["1", "Кран", soon.strftime("%d.%m.%Y"), None],
        ["2", "Кран", "01.03.2020", "01.03.2024"],
    ]
    result = parse_asset_list(book(tmp_path / "a.xlsx", rows), "a.xlsx")
    assert result.errors == []
    assert result.rows[0].values["last_inspection_on"] == soon
    note = next(n for n in result.notes if "позже сегодняшней" in n)
    assert "В 1 строк(ах)" in note and "строки 2)" in note


def test_inventory_numbers_in_other_forms_are_one_number(tmp_path):
    rows = [["Инв. №", "Наименование"], [1001, "Кран"], ["1001.0", "Кран"], ["ин-16", "Таль"],
            ["ИН-16", "Таль"], ["ИН 17", "Таль"], ["ин17", "Таль"], [100200, "Лифт"]]  # fmt: skip
    data = book(tmp_path / "i.xlsx", rows, formats={"A8": "0000000000"})
    result = parse_asset_list(data, "i.xlsx")
    assert [r.values["inventory_no"] for r in result.rows] == [
        "1001",
        "ин-16",
        "ИН 17",
        "0000100200",
    ]
    assert [(e.excel_row, e.message) for e in result.errors] == [
        (3, "инвентарный номер повторяется (см. строку 2)"),
        (5, "инвентарный номер повторяется (см. строку 4)"),
        (7, "инвентарный номер повторяется (см. строку 6)"),
    ]


@pytest.mark.parametrize(
    ("title", "field"),
    [
        ("Год изготов-\nления", "manufacture_year"),
        ("Дата ввода в эксплуа-\nтацию", "commissioned_on"),
        ("Срок служ-\nбы", "service_life_years"),
        ("Наимено-\nвание", "name"),
        ("Инвентарлық нөмiрi", "inventory_no"),
        ("Құрылғы түрi", "device_type"),
        ("Очередное ТО", "next_inspection_on"),
        ("Наименование объекта ОС", "name"),
        ("Объект ОС", "name"),
        ("Наименование ОПО", "facility_name"),
    ],
)
def test_more_header_spellings(title, field):
    assert match_title(title) == field


def test_two_row_header_keeps_both_examination_dates(tmp_path):
    rows = [
        ["Инв. №", "Наименование", "Техническое освидетельствование", None],
        [None, None, "дата проведения", "дата следующего"],
        ["1", "Котел", "10.02.2024", "10.02.2028"],
    ]
    data = book(tmp_path / "h.xlsx", rows, merges=("A1:A2", "B1:B2", "C1:D1"))
    result = parse_asset_list(data, "h.xlsx")
    assert result.rows[0].values["last_inspection_on"] == date(2024, 2, 10)
    assert result.rows[0].values["next_inspection_on"] == date(2028, 2, 10)


def test_a_1c_name_column_with_the_facility_word(tmp_path):
    rows = [["Инв. №", "Наименование объекта ОС", "ОПО"], ["1", "Кран", "Котельная №1"]]
    result = parse_asset_list(book(tmp_path / "n.xlsx", rows), "n.xlsx")
    assert result.mapping == {"Инв. №": "inventory_no", "Наименование объекта ОС": "name",
                              "ОПО": "facility_name"}  # fmt: skip


@pytest.mark.parametrize(
    "units",
    [
        [None, None, None, "тонн", "кгс/см²", "лет"],
        [None, "", None, "т", "МПа", "лет"],
        [None, None, None, "тс", "ат", "г."],
    ],  # fmt: skip
)
def test_units_lines_under_the_header(tmp_path, units):
    rows = [["Инв. №", "Наименование", "Вид ТУ", "Грузоподъёмность", "Давление", "Срок службы"],
            units, ["1", "Кран", "кран", "10", "1,4", 20]]  # fmt: skip
    result = parse_asset_list(book(tmp_path / "u.xlsx", rows), "u.xlsx")
    assert result.rows_read == 1 and result.errors == []


def test_title_rows_give_the_bin_and_the_date_of_the_list(tmp_path):
    rows = [["Ведомость ТУ по состоянию на 03.11.2026"],
            ["Организация: ТОО «Павлодарэнергосервис», БИН 040540526019"],
            ["Инв. №", "Наименование"], ["1", "Кран"]]  # fmt: skip
    result = parse_asset_list(book(tmp_path / "t.xlsx", rows), "t.xlsx")
    assert result.bins == ["040540526019"] and result.as_of == date(2026, 11, 3)
    rows[0] = ["Дата формирования: 01.02.2025"]
    result = parse_asset_list(book(tmp_path / "t.xlsx", rows), "t.xlsx")
    assert result.as_of == date(2025, 2, 1)


def test_limits_count_data_rows_and_show_the_real_size(tmp_path):
    data = book(tmp_path / "l.xlsx", [H, *items("A", 3)], far=(250000, 3, " "))
    assert parse_asset_list(data, "l.xlsx", limits=Limits(max_rows=3)).rows_read == 3
    data = book(tmp_path / "l.xlsx", [H, *items("A", 5)])
    with pytest.raises(
        FileRejected, match="Слишком много строк с данными: 5, допускается не более 4"
    ):
        parse_asset_list(data, "l.xlsx", limits=Limits(max_rows=4))
    assert parse_asset_list(data, "l.xlsx", limits=Limits(max_rows=5)).rows_read == 5
    big = data + b"\0" * (55 * 1024 * 1024 - len(data))
    with pytest.raises(FileRejected) as caught:
        parse_asset_list(big, "l.xlsx")
    assert caught.value.message == "Файл слишком большой: 55,0 МБ, допускается не более 50 МБ."
    with pytest.raises(FileRejected, match="55,5 МБ"):
        parse_asset_list(big + b"\0" * (512 * 1024), "l.xlsx")


def test_a_units_line_gives_the_unit_of_its_column(tmp_path):
    rows = [
        ["Инв. №", "Наименование", "Рабочее давление", "Наработка", "Срок службы"],
        [None, None, "кгс/см²", "тыс. циклов", "мес."],
        ["1", "Сосуд", 10, 2, 240],
    ]
    result = parse_asset_list(book(tmp_path / "u.xlsx", rows), "u.xlsx")
    assert result.header_row == 1 and result.errors == []
    values = result.rows[0].values
    assert values["pressure_mpa"] == 0.980665
    assert values["cycle_count"] == 2000 and values["service_life_years"] == 20.0


def test_group_rows_with_a_quoted_name_and_the_hint_on_lone_names(tmp_path):
    rows = [
        ["Инвентарный номер", "Наименование", "Вид ТУ"],
        ["ОПО «Котельная №2»"],
        ["G-1", "Кран", "кран"],
        ["Опасный производственный объект «Склад ГСМ»"],
        ["G-2", "Кран", "кран"],
        ["Котельная № 3"],
        ["G-3", "Кран", "кран"],
    ]
    result = parse_asset_list(book(tmp_path / "q.xlsx", rows), "q.xlsx")
    # «Котельная № 3» is reported, and G-3 is not silently left in «Склад ГСМ»
    assert [r.values.get("facility_name") for r in result.rows] == [
        "«Котельная №2»",
        "«Склад ГСМ»",
        None,
    ]
    assert [(e.excel_row, e.column) for e in result.errors] == [(6, "Наименование")]
    assert "начните строку с «ОПО:»" in result.errors[0].message


# ---------------------------------------------------------------------------- .xls


def test_xls_error_cells_percent_formats_and_the_used_range():
    from tests.unit.xlsfile import minimal_xls

    cells = {
        (0, 0): "Инв. №",
        (0, 1): "Наименование",
        (0, 2): "Износ",
        (0, 3): "Марка",
        (1, 0): "1",
        (1, 1): "Кран",
        (1, 2): 0.45,
        (2, 0): "2",
        (2, 1): "Таль",
        (2, 3): ("error", "#N/A"),
        (3, 0): "3",
        (3, 1): "Лифт",
        (3, 2): 55,
    }
    result = parse_asset_list(minimal_xls(cells, percent={(1, 2)}), "list.xls")
    assert [r.values.get("wear_pct") for r in result.rows] == [45.0, 55.0]
    assert [(e.excel_row, e.column, e.value) for e in result.errors] == [(3, "Марка", "#N/A")]
    # calamine skips blank (formatted) cells, so they do not count; a far value does
    far_blank = {**cells, (65535, 255): ("blank",)}
    assert parse_asset_list(minimal_xls(far_blank), "list.xls").rows_read == 3
    far_value = {**cells, (65535, 255): " "}
    with pytest.raises(FileRejected, match="заполнена ячейка IV65536"):
        parse_asset_list(minimal_xls(far_value), "list.xls")


def test_hidden_sheets_are_reported_not_read(tmp_path):
    path = tmp_path / "hidden.xlsx"
    workbook = openpyxl.Workbook()
    workbook.active.append(H)
    workbook.active.append([1, "V-1", "Кран", "кран", "OPO-01"])
    old = workbook.create_sheet("Старый")
    old.append(H)
    old.append([1, "V-1", "Кран", "кран", "OPO-01"])
    old.sheet_state = "hidden"
    workbook.save(path)
    result = parse_asset_list(path.read_bytes(), "hidden.xlsx")
    assert result.errors == [] and result.rows_read == 1
    assert [(s.name, s.read, s.reason) for s in result.sheets] == [
        ("Sheet", True, None),
        ("Старый", False, "скрытый лист"),
    ]


def test_a_facility_code_with_a_dash_is_a_code_not_a_prefix(tmp_path):
    rows = [
        ["№ п/п", "Инв. №", "Наименование"],
        ["ОПО-01"],
        [1, "C-1", "Кран"],
        ["ОПО - Котельная №2"],
        [2, "C-2", "Таль"],
    ]
    result = parse_asset_list(book(tmp_path / "c.xlsx", rows), "c.xlsx")
    assert [
        (r.values.get("facility_code"), r.values.get("facility_name")) for r in result.rows
    ] == [
        ("ОПО-01", None),
        (None, "Котельная №2"),
    ]


def test_a_sheet_part_named_oddly_is_scanned_all_the_same(tmp_path):
    path = tmp_path / "odd.xlsx"
    book(path, [H, *items("A", 3)], far=(150000, 16384, "x"))
    rels = zipfile.ZipFile(path).read("xl/_rels/workbook.xml.rels").decode()
    odd = rels.replace("worksheets/sheet1.xml", "/xl/worksheets/SHEET1.xml")
    path.write_bytes(
        xmlscan.replace_members(path.read_bytes(), {"xl/_rels/workbook.xml.rels": odd.encode()})
    )
    assert _parse_in_a_subprocess(path).startswith("REJECTED")


def test_work_beside_runs_once_in_the_callers_thread_while_the_sheet_loads(tmp_path):
    """An import fetches the registry's history (through its session, so in its own thread)
    while calamine loads the sheet in another."""
    import threading

    calls = []
    parsed = parse_asset_list(
        xlsx(
            tmp_path,
            ("Лист1", [HEADER_RU, row_ru("ИН-1"), row_ru("ИН-2")]),
            ("Лист2", [HEADER_RU, row_ru("ИН-3")]),
        ),
        "list.xlsx",
        beside=lambda: calls.append(threading.current_thread()),
    )
    assert calls == [threading.current_thread()]
    assert [r.values["inventory_no"] for r in parsed.rows] == ["ИН-1", "ИН-2", "ИН-3"]


def test_work_beside_that_fails_fails_the_parse(tmp_path):
    def broken():
        raise RuntimeError("the registry is unreachable")

    with pytest.raises(RuntimeError, match="unreachable"):
        parse_asset_list(
            xlsx(tmp_path, ("Лист1", [HEADER_RU, row_ru("ИН-1")])), "list.xlsx", beside=broken
        )
