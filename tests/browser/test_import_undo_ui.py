"""The import's destructive steps in a real browser at 1366 px (an office laptop): the danger
block that decommissions the items a file does not list (its red button stays disabled until
the number is typed; the server refuses a wrong number all the same), then the revert of the
batch, confirmed, which gives the registry back. CSRF is on, as in production."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook
from playwright.sync_api import Page, expect
from sqlalchemy import select

from accounts.models import Role
from core.extensions import db
from equipment.catalog import EquipmentStatus
from equipment.imports.models import ImportBatch
from equipment.models import Equipment
from tests.helpers.browser import log_in

pytestmark = pytest.mark.browser

HEADER = ["Код ОПО", "Инвентарный номер", "Наименование", "Вид устройства", "Год изготовления"]


@pytest.fixture
def registry(make):
    org = make.org("ТОО «Павлодарэнергосервис»", "040540526019", "PAV")
    boilers = make.facility(org, "OPO-01", name="Котельная №1")
    cranes = make.facility(org, "OPO-02", name="Цех подъёмных сооружений")
    for i in range(1, 4):
        make.equipment(boilers, f"K-{i}", name=f"Котел К-{i}")
    make.equipment(cranes, "C-1", name="Кран мостовой", device_type="crane")
    make.equipment(cranes, "C-2", name="Кран козловой", device_type="crane")
    engineer = make.user("eng.undo@example.kz", Role.ENGINEER, org)
    return org, engineer


def the_file(tmp_path) -> str:
    """K-1 renamed, K-9 new; K-2, K-3 (OPO-01) and C-2 (OPO-02) not in the file."""
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    sheet.append(["OPO-01", "K-1", "Котел К-1 после ремонта", "котел паровой", 1999])
    sheet.append(["OPO-01", "K-9", "Котел новый", "котел паровой", 2020])
    sheet.append(["OPO-02", "C-1", "Кран мостовой", "кран мостовой", 1999])
    out = io.BytesIO()
    book.save(out)
    path = tmp_path / "list.xlsx"
    path.write_bytes(out.getvalue())
    return str(path)


def items() -> dict[str, tuple[str, str]]:
    db.session.rollback()  # what the server committed
    rows = db.session.execute(select(Equipment.inventory_no, Equipment.name, Equipment.status))
    return {number: (name, str(status)) for number, name, status in rows}


def test_the_danger_block_and_the_revert_at_1366(page: Page, registry, tmp_path):
    _org, engineer = registry
    before = items()
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto("/imports")
    log_in(page, engineer.email)
    page.goto("/imports")
    page.locator("#upload-form input[type=file]").set_input_files(the_file(tmp_path))
    page.locator("#upload-form button[type=submit]").click()

    # the danger block: apart from the commit form, the count, the items by facility
    block = page.locator("#decommission")
    expect(block).to_be_visible()
    expect(block.locator("h2")).to_have_text("В реестре, но нет в файле: 3 ед.")
    expect(block.locator("details.missing-facility")).to_have_count(2)
    expect(block.locator('details[data-facility="OPO-02"]')).to_contain_text("C-2")
    expect(page.locator("#commit-form input[name=decommission_missing]")).to_have_count(0)
    button = block.locator("button.danger")
    expect(button).to_have_text("Загрузить и вывести из эксплуатации 3 ед.")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    box = block.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= 1366

    page.screenshot(path=str(tmp_path / "preview.png"), full_page=True)  # to look at

    # the red button waits for the number
    expect(button).to_be_disabled()
    confirm = block.locator("input[name=confirm_decommission]")
    confirm.fill("2")
    expect(button).to_be_disabled()
    confirm.press("Enter")  # neither this button nor the plain load
    assert page.locator("#commit-form").count() == 1 and items() == before

    # forced past the page's check, a wrong number is refused by the server
    page.evaluate(
        "() => { const b = document.querySelector('#decommission button.danger');"
        " b.disabled = false; b.click(); }"
    )
    expect(page.locator(".flash.error")).to_contain_text("в подтверждении указано 2")
    assert items() == before
    batch = db.session.execute(select(ImportBatch)).scalar_one()
    assert batch.status == "previewed"

    # the right number loads the file and decommissions the three items
    confirm = page.locator("#decommission input[name=confirm_decommission]")
    confirm.fill("3")
    expect(page.locator("#decommission button.danger")).to_be_enabled()
    with page.expect_navigation():
        page.locator("#decommission button.danger").click()
    expect(page.locator(".flash.success")).to_contain_text("Внесено в реестр")
    loaded = items()
    assert {n for n, (_name, s) in loaded.items() if s == EquipmentStatus.DECOMMISSIONED} == {
        "K-2",
        "K-3",
        "C-2",
    }
    assert loaded["K-1"][0] == "Котел К-1 после ремонта" and "K-9" in loaded
    page.screenshot(path=str(tmp_path / "committed.png"), full_page=True)

    # the revert: red, confirmed by a tick, then the registry is as before
    revert = page.locator("#revert")
    expect(revert).to_be_visible()
    revert_button = revert.locator("button.danger")
    expect(revert_button).to_be_disabled()
    revert.locator("input[name=confirm]").check()
    with page.expect_navigation():
        revert_button.click()
    expect(page.locator(".flash.success")).to_contain_text("Загрузка отменена")
    expect(page.locator("#reverted")).to_be_visible()
    expect(page.locator("#revert")).to_have_count(0)
    assert items() == before
    page.goto("/imports")
    expect(page.locator("#batches")).to_contain_text("отменена")
