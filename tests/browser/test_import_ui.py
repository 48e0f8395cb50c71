"""The Excel import as an engineer goes through it in a real browser: choose the file, read the
preview (counts, invalid rows), download the failed rows, load the valid rows, find the items in
the registry, and see the batch in the history. CSRF is on, as in production."""

from __future__ import annotations

import io
import json
import re
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from accounts.models import Role
from core.extensions import db
from equipment.imports.models import ImportBatch
from equipment.models import Equipment, Facility
from tests.helpers.browser import log_in

pytestmark = pytest.mark.browser

SAMPLES = Path(__file__).parents[1] / "samples"

# The shared samples hold last-examination dates up to 27.12.2026; a date after today is an
# error (as on the item form), so these tests check the lists as of a day after their last date.
SAMPLES_AS_OF = date(2027, 1, 31)


@pytest.fixture(autouse=True)
def _samples_as_of(monkeypatch):
    monkeypatch.setattr("equipment.imports.excel.validate.current_date", lambda: SAMPLES_AS_OF)


ONE_C = "asset_list_1c_export"


@pytest.fixture
def sample_org(make):
    """The organization the samples belong to, with their five facilities, and its engineer."""
    org = make.org("ТОО «Павлодарэнергосервис»", "040540526019", "PAV")
    names = ["Котельная №1", "Котельная №2", "Компрессорная станция", "Склад ГСМ"]
    names.append("Цех подъёмных сооружений")
    for number, name in enumerate(names, start=1):
        make.facility(org, f"OPO-0{number}", name=name)
    return make.user("eng.samples@example.kz", Role.ENGINEER, org)


def count_card(page: Page, key: str) -> int:
    return int(page.locator(f'#counts [data-count="{key}"] .n').inner_text())


def stored_items(org_id: int) -> int:
    db.session.rollback()  # see what the server committed
    return db.session.scalar(
        select(func.count()).select_from(Equipment).where(Equipment.organization_id == org_id)
    )


def test_an_engineer_previews_fixes_and_loads_a_1c_export(page: Page, sample_org):
    expected = json.loads((SAMPLES / f"{ONE_C}.expected.json").read_text(encoding="utf-8"))
    page.goto("/imports")
    log_in(page, sample_org.email)
    page.goto("/imports")
    page.locator("#upload-form input[type=file]").set_input_files(str(SAMPLES / f"{ONE_C}.xlsx"))
    page.locator("#upload-form button[type=submit]").click()

    # the preview: nothing stored yet, the counts and each invalid row with its row number
    expect(page).to_have_url(re.compile(r"/imports/\d+$"))
    assert count_card(page, "invalid") == expected["invalid"]
    assert count_card(page, "created") == expected["valid"]
    error_rows = page.locator("#errors tr:has(td)")
    expect(error_rows).to_have_count(expected["invalid"])
    assert stored_items(sample_org.organization_id) == 0

    # the failed rows come back as a workbook with an «Ошибка» column
    with page.expect_download() as download:
        page.locator("a[href$='/errors.xlsx']").click()
    book = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
    header = [c.value for c in next(book.worksheets[0].iter_rows(max_row=1))]
    assert header[-1] == "Ошибка"

    # load the valid rows, explicitly
    page.locator("#commit-form input[name=commit_valid_only]").check()
    with page.expect_navigation():
        page.locator("#commit-form button[type=submit]").click()
    expect(page.locator("#commit-form")).to_have_count(0)  # a committed batch offers no commit
    assert stored_items(sample_org.organization_id) == expected["valid"]
    batch = db.session.execute(select(ImportBatch)).scalar_one()
    assert batch.status == "committed"

    # the items are in the registry, at the facility of their group row
    page.goto("/equipment?q=" + "котел")
    assert page.locator("#registry tbody tr[data-id]").count() > 0
    facility_codes = set(
        db.session.scalars(
            select(Facility.code).join(Equipment, Equipment.facility_id == Facility.id)
        )
    )
    assert facility_codes <= {f"OPO-0{n}" for n in range(1, 6)}

    # and the batch is in the history
    page.goto("/imports")
    expect(page.locator("#batches")).to_contain_text(f"{ONE_C}.xlsx")
