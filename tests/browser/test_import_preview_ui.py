"""The import preview in a real browser at an office laptop's 1366×768 and a 390 px phone: the
summary fits the first screen, every section says how many rows it has, a list cut to its
first rows says so («показаны 500 из 750»), and the phone never scrolls sideways."""

from __future__ import annotations

import json
import os
import re
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Role
from core.extensions import db
from equipment.catalog import DeviceType
from equipment.models import Equipment
from equipment.services import refresh_curves
from tests.helpers.browser import log_in

pytestmark = pytest.mark.browser

SAMPLES = Path(__file__).parents[1] / "samples"
ONE_C = "asset_list_1c_export"
NOT_IN_FILE = 750  # the registry holds 750 more items than the 1C export lists
SHOTS = os.environ.get("PREVIEW_SCREENSHOTS")  # a folder: save what the tests saw


@pytest.fixture(autouse=True)
def _samples_as_of(monkeypatch):
    # the samples hold examination dates up to 27.12.2026 (see test_import_ui)
    monkeypatch.setattr("equipment.imports.excel.validate.current_date", lambda: date(2027, 1, 31))


@pytest.fixture
def engineer(make):
    """The samples' organization and facilities, with 750 items at OPO-01 the file does not
    list, and its engineer."""
    org = make.org("ТОО «Павлодарэнергосервис»", "040540526019", "PAV")
    names = ["Котельная №1", "Котельная №2", "Компрессорная станция", "Склад ГСМ"]
    names.append("Цех подъёмных сооружений")
    facilities = [
        make.facility(org, f"OPO-0{n}", name=name) for n, name in enumerate(names, start=1)
    ]
    items = [
        Equipment(
            organization_id=org.id,
            facility_id=facilities[n % 5].id,
            inventory_no=f"СТАР-{n:04}",
            name=f"Сосуд В-{n}",
            device_type=DeviceType.PRESSURE_VESSEL,
            commissioned_on=date(2001, 1, 1),
            manufacture_year=2000,
            service_life_years=20.0,
        )
        for n in range(NOT_IN_FILE)
    ]
    db.session.add_all(items)
    db.session.flush()
    refresh_curves(db.session, [i.id for i in items], {})
    db.session.commit()
    return make.user("eng.preview@example.kz", Role.ENGINEER, org)


def _upload(page: Page, email: str) -> None:
    page.goto("/imports")
    log_in(page, email)
    page.goto("/imports")
    page.locator("#upload-form input[type=file]").set_input_files(str(SAMPLES / f"{ONE_C}.xlsx"))
    page.locator("#upload-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/imports/\d+$"))


def _shot(page: Page, name: str, full_page: bool = True) -> None:
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=full_page)


def _count(page: Page, key: str) -> int:
    return int(page.locator(f'#counts [data-count="{key}"] .n').inner_text().replace("\xa0", ""))


WIDER_THAN_THE_PAGE = """() => {
  const width = document.documentElement.clientWidth;
  return [...document.querySelectorAll("body *")]
    .filter(el => el.getBoundingClientRect().right > width + 1 && !el.closest(".table-wrap"))
    .slice(0, 8).map(el => `${el.tagName}#${el.id}.${el.className}`);
}"""


def _no_sideways_scroll(page: Page) -> None:
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], (widths, page.evaluate(WIDER_THAN_THE_PAGE))


def test_the_preview_summary_sections_and_cut_list_at_1366(page: Page, engineer):
    expected = json.loads((SAMPLES / f"{ONE_C}.expected.json").read_text(encoding="utf-8"))
    page.set_viewport_size({"width": 1366, "height": 768})
    _upload(page, engineer.email)
    _shot(page, "preview-1366")

    # the summary (file, organization, date, counts, what loading does) is on the first screen
    summary = page.locator("#summary")
    expect(summary).to_be_visible()
    box = summary.bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= 768, box
    expect(summary).to_contain_text(f"{ONE_C}.xlsx")
    expect(summary).to_contain_text("Павлодарэнергосервис")
    expect(summary.locator("#as-of")).to_be_visible()
    assert _count(page, "created") == expected["valid"]
    assert _count(page, "invalid") == expected["invalid"]
    assert _count(page, "missing") == NOT_IN_FILE
    assert _count(page, "new_facilities") == 0
    expect(page.locator("#on-commit")).to_contain_text("будет создано устройств — 175")
    expect(page.locator("#on-commit")).to_contain_text("остаются как есть")

    # each section says its count, in the links on top and in its own heading
    nav = page.locator("#section-nav")
    for title, n in [
        ("Строки с ошибками", expected["invalid"]),
        ("Изменения", expected["valid"]),
        ("нет в файле", NOT_IN_FILE),
    ]:
        link = nav.locator("a", has_text=title)
        expect(link).to_be_visible()
        assert link.locator(".count").inner_text().replace("\xa0", "") == str(n)
    missing = page.locator("#section-missing")
    expect(missing.locator("summary .count")).to_have_text("750")

    # the errors are open; the list of 750 starts folded and opens from its link
    expect(page.locator("#errors")).to_be_visible()
    expect(page.locator("#missing")).to_be_hidden()
    nav.locator("a", has_text="нет в файле").click()
    expect(page.locator("#missing")).to_be_visible()
    expect(page.locator("#missing tr:has(td)")).to_have_count(500)
    cut = missing.locator(".shown-of")
    expect(cut).to_be_visible()
    expect(cut).to_have_text("показаны 500 из 750")
    # the lists that are whole say nothing of the kind
    expect(page.locator("#section-errors .shown-of")).to_have_count(0)
    expect(page.locator("#section-changes .shown-of")).to_have_count(0)

    # the commit area is still where it was, with its choices
    expect(page.locator("#commit-form input[name=commit_valid_only]")).to_be_visible()


def test_the_preview_on_a_phone_never_scrolls_sideways(page: Page, engineer):
    page.set_viewport_size({"width": 390, "height": 844})
    _upload(page, engineer.email)
    _shot(page, "preview-390-first-screen", full_page=False)
    _no_sideways_scroll(page)
    expect(page.locator("#counts")).to_be_visible()
    assert _count(page, "missing") == NOT_IN_FILE
    # with every section open, wide tables scroll inside their frame, not the page
    page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")
    expect(page.locator("#missing")).to_be_visible()
    _no_sideways_scroll(page)
    expect(page.locator("#section-missing .shown-of")).to_have_text("показаны 500 из 750")


def test_a_file_without_its_required_columns_shows_the_mapping_at_the_top(page: Page, make):
    """The message and the form that solves it are together, on the first screen."""
    org = make.org("ТОО «Альфа-Сервис»", "040540526019", "PAV")
    make.facility(org, "OPO-01", name="Котельная №1")
    user = make.user("eng.mapping@example.kz", Role.ENGINEER, org)
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["Код ОПО", "Шифр ТУ", "Наименование", "Вид устройства"])
    sheet.append(["OPO-01", "Ш-1", "Котел ДЕ-25", "котел паровой"])
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"codes-{os.getpid()}.xlsx"
    book.save(path)
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto("/imports")
    log_in(page, user.email)
    page.goto("/imports")
    page.locator("#upload-form input[type=file]").set_input_files(str(path))
    page.locator("#upload-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/imports/\d+$"))
    _shot(page, "preview-missing-columns")
    expect(page.locator("#missing-columns")).to_contain_text("Инвентарный номер")
    form = page.locator("#mapping-form")
    expect(form).to_be_visible()
    assert form.bounding_box()["y"] < 768  # it starts on the first screen
    form.locator("select[name='col:Шифр ТУ']").select_option("inventory_no")
    form.locator("button[type=submit]").click()
    expect(page.locator('#counts [data-count="created"] .n')).to_have_text("1")
