"""The import preview page: the summary on top, one section per list with its count, «показаны
500 из 750» under every cut list, and the column mapping where the problem is reported."""

from __future__ import annotations

import html
import re
from datetime import date

import pytest
from flask import render_template_string

from core.extensions import db
from equipment.catalog import DeviceType
from equipment.models import Equipment
from equipment.services import refresh_curves
from tests.helpers.imports import SAMPLE_FACILITIES, row, upload, xlsx


@pytest.fixture
def fac(world, make):
    return {
        code: make.facility(world.org_a, code, name=name)
        for code, name in SAMPLE_FACILITIES.items()
    }


def _registry_items(facility, n: int, prefix: str = "СТАР") -> None:
    items = [
        Equipment(
            organization_id=facility.organization_id,
            facility_id=facility.id,
            inventory_no=f"{prefix}-{i:04}",
            name=f"Сосуд {i}",
            device_type=DeviceType.PRESSURE_VESSEL,
            commissioned_on=date(2001, 1, 1),
            service_life_years=20.0,
        )
        for i in range(n)
    ]
    db.session.add_all(items)
    db.session.flush()
    refresh_curves(db.session, [i.id for i in items], {})
    db.session.commit()


def _preview(client, data: bytes, lang: str | None = None) -> str:
    response = upload(client, data, "реестр.xlsx")
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    url = response.headers["Location"] + (f"?lang={lang}" if lang else "")
    return html.unescape(client.get(url).get_data(as_text=True))


def _section(page: str, key: str) -> str:
    start = page.index(f'id="section-{key}"')
    end = page.find("</details>", start)
    return page[start : end if end != -1 else len(page)]


def _count_of(part: str) -> str:
    return re.search(r'<span class="count" data-n="(\d+)">', part)[1]


def test_a_list_cut_on_the_page_says_how_much_of_it_is_shown(fac, world, client, login_as):
    _registry_items(fac["OPO-01"], 750)
    login_as(world.eng_a)
    page = _preview(client, xlsx([row("OPO-01", "Н-1", "Котел новый")]))

    summary = page[page.index('id="summary"') : page.index("</section>")]
    assert 'data-count="missing"' in summary and 'href="#section-missing"' in summary
    nav = summary[summary.index('id="section-nav"') :]
    assert re.search(
        r'href="#section-missing">[^<]*нет в файле <span class="count" data-n="750"', nav
    )
    assert re.search(r'href="#section-changes">Изменения <span class="count" data-n="1"', nav)

    missing = _section(page, "missing")
    assert _count_of(missing) == "750"
    assert " open" not in missing[: missing.index(">")]  # a long list starts folded
    assert missing.count("<tr><td>") == 500
    assert "показаны 500 из 750" in missing
    changes = _section(page, "changes")
    assert _count_of(changes) == "1" and "показаны" not in changes  # whole: nothing said
    assert " open" in changes[: changes.index(">")]  # a short list is open

    english = _preview(client, xlsx([row("OPO-01", "Н-1", "Котел новый")]), lang="en")
    assert "shown 500 of 750" in _section(english, "missing")


def test_the_errors_say_how_many_of_them_are_shown(fac, world, client, login_as):
    login_as(world.eng_a)
    rows = [row("OPO-01", f"Е-{i}", f"Котел {i}", wear=130) for i in range(520)]
    rows.append(row("OPO-01", "Е-ок", "Котел исправный"))
    page = _preview(client, xlsx(rows))
    errors = _section(page, "errors")
    assert " open" in errors[: errors.index(">")]  # what must be acted on is open
    assert _count_of(errors) == "520"
    assert errors.count('<td class="num">') == 500
    assert "показаны 500 из 520" in errors
    assert "/errors.xlsx" in errors  # the download is in the section


def test_the_summary_tells_the_file_the_organization_the_date_and_what_loading_does(
    fac, world, client, login_as
):
    _registry_items(fac["OPO-02"], 3)
    login_as(world.eng_a)
    data = xlsx(
        [
            row("OPO-02", "Н-1", "Котел новый"),
            row("OPO-09", "Н-2", "Кран на новой площадке", "кран мостовой"),
            row("OPO-02", "Н-3", "Котел с ошибкой", wear=180),
        ],
        title="Перечень технических устройств по состоянию на 01.10.2026",
    )
    page = _preview(client, data)
    summary = page[page.index('id="summary"') : page.index("</section>")]
    assert "реестр.xlsx" in summary and world.org_a.name in summary
    assert re.search(r'id="as-of">01\.10\.2026', summary)
    counts = dict(re.findall(r'data-count="(\w+)"><div>[^<]*</div><div class="n">(\d+)<', summary))
    assert counts == {
        "rows": "3",
        "created": "2",
        "updated": "0",
        "unchanged": "0",
        "invalid": "1",
        "missing": "3",
        "new_facilities": "1",
    }
    on_commit = summary[summary.index('id="on-commit"') :]
    assert "будет создано устройств — 2, обновлено — 0" in on_commit
    assert "строки с ошибками (1) не загружаются" in on_commit
    assert "которых нет в файле (3), остаются как есть" in on_commit
    assert "ОПО, которых нет в реестре (1)" in on_commit
    # the summary comes first, then the commit area, then the sections
    assert page.index('id="summary"') < page.index('id="commit-form"')
    assert page.index('id="commit-form"') < page.index('id="section-errors"')

    undated = _preview(client, xlsx([row("OPO-02", "Н-1", "Котел новый")]))
    assert "в файле даты нет" in undated[undated.index('id="as-of"') :][:200]


def test_missing_columns_show_the_mapping_at_the_top(fac, world, client, login_as):
    login_as(world.eng_a)
    data = xlsx(
        [["OPO-01", "Ш-1", "Котел ДЕ-25", "котел паровой"]],
        header=["Код ОПО", "Шифр ТУ", "Наименование", "Вид устройства"],
    )
    page = _preview(client, data)
    message = page.index('id="missing-columns"')
    form = page.index('id="mapping-form"')
    assert message < form < page.index("</main>")
    between = page[message:form]
    assert "<details" not in between  # right under the message, not folded below
    assert "Неучтённые столбцы: «Шифр ТУ»" in between  # what was ignored, next to the form
    assert page.count('id="mapping-form"') == 1  # once, there


def test_an_unrecognised_column_is_pointed_to_from_the_errors(fac, world, client, login_as):
    """«Разновидность» holds the device types, but no alias names it: the rows ask for the
    type, and the errors section points to the mapping, which is open."""
    login_as(world.eng_a)
    data = xlsx(
        [
            [1, "OPO-01", "K-1", "Котел ДЕ-25", "котел паровой"],
            [2, "OPO-05", "K-2", "Кран мостовой", "кран мостовой"],
        ],
        header=["№ п/п", "Код ОПО", "Инвентарный номер", "Наименование", "Разновидность"],
    )
    page = _preview(client, data)
    errors = _section(page, "errors")
    assert "укажите вид технического устройства" in errors
    hint = errors[errors.index('id="errors-columns-hint"') :]
    hint = hint[: hint.index("</p>")]
    assert "«Разновидность»" in hint and "№ п/п" not in hint  # a running number is no riddle
    assert 'href="#section-columns"' in hint
    columns = _section(page, "columns")
    assert " open" in columns[: columns.index(">")] and 'id="mapping-form"' in columns


def test_a_clean_file_has_no_hint_and_folds_its_columns(fac, world, client, login_as):
    login_as(world.eng_a)
    data = xlsx(
        [[1, "OPO-01", "K-1", "Котел ДЕ-25", "котел паровой"]],
        header=["№ п/п", "Код ОПО", "Инвентарный номер", "Наименование", "Вид устройства"],
    )
    page = _preview(client, data)
    assert "errors-columns-hint" not in page
    columns = _section(page, "columns")
    assert " open" not in columns[: columns.index(">")]


def test_the_shown_of_macro(app):
    macro = '{% from "_ui.html" import shown_of %}{{ shown_of(shown, total) }}'
    with app.test_request_context("/"):
        assert render_template_string(macro, shown=500, total=750).endswith(
            ">показаны 500 из 750</p>"
        )
        assert render_template_string(macro, shown=12, total=12) == ""
        assert "показаны 500 из 12\xa0000" in render_template_string(macro, shown=500, total=12000)
