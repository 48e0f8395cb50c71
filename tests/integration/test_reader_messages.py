"""The Excel reader's messages are kept as msgids and shown in the reader's language."""

from __future__ import annotations

import io

import openpyxl
import pytest
from flask_babel import force_locale

from equipment.imports.excel import FileRejected, Message, parse_asset_list


def _list_with_a_bad_date() -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Инв. №", "Наименование", "Вид ТУ", "Год выпуска", "Ввод в эксплуатацию"])
    sheet.append(["100", "Котел КВ-ГМ-10", "Котел водогрейный", 1990, "31.02.2015"])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def test_a_row_error_renders_in_the_locale_it_is_shown_in(app):
    with app.app_context():
        (error,) = parse_asset_list(_list_with_a_bad_date(), "list.xlsx").errors
        with force_locale("en"):
            assert str(error.message) == "no such date: 31.02.2015"
        assert str(error.message) == "нет такой даты: 31.02.2015"
        stored = error.message.to_json()
    assert stored == {"msgid": "no such date: %(value)s", "params": {"value": "31.02.2015"}}
    with app.app_context(), force_locale("en"):
        assert str(Message.from_json(stored)) == "no such date: 31.02.2015"


def test_a_refusal_is_in_the_locale_of_the_request(app):
    with app.app_context(), force_locale("en"), pytest.raises(FileRejected) as refused:
        parse_asset_list(b"", "list.xlsx")
    assert refused.value.message == "The file is empty."
    with app.app_context(), pytest.raises(FileRejected) as refused:
        parse_asset_list(b"", "list.xlsx")
    assert refused.value.message == "Файл пустой."
