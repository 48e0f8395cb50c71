"""User journeys through the registry pages in a real browser: log in, read the dashboard,
filter, search and sort the equipment list, read a card, edit an item with the real CSRF path,
switch the language, and what a read-only regulator sees.

Selectors are ids and structure from the templates, not wording: the Russian catalog is still
being written, so only numbers, codes and data (inventory numbers, names) are asserted on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from core import clock
from core.audit import AuditEvent
from core.extensions import db
from equipment import services
from equipment.catalog import AssessmentMethod, Condition, DeviceType
from equipment.models import Equipment
from tests.helpers.browser import log_in, open_as

pytestmark = pytest.mark.browser

INVENTORY_CELLS = "#registry tbody tr[data-id] td:first-child a"
AUDIT_ROWS = "#audit tr:has(td)"


@dataclass
class Fleet:
    """Org A's five items as the engineer sees them (world's two plus three added here)."""

    engineer: str
    regulator: str  # Pavlodar: sees facility A-01 only, so not A-INV-2
    ids: dict[str, int]
    assessed_on: date


@pytest.fixture
def fleet(world, make, app) -> Fleet:
    """A-INV-1 (boiler) and A-INV-2 (tank) come from ``world``: commissioned in 2000 with a
    20-year life, so their life has expired and they must be planned. Added to facility A-01:

    * A-INV-3, a young boiler: good condition, nothing to plan;
    * A-INV-4, a boiler whose assessment found 85 % wear: critical, must be planned;
    * A-INV-5, a young gantry crane: good condition.
    """
    year = clock.today().year
    young = make.equipment(
        world.fac_a,
        "A-INV-3",
        name="Котел КВ-ГМ резервный",
        commissioned_on=date(year - 2, 3, 1),
        manufacture_year=year - 3,
        service_life_years=30.0,
    )
    worn = make.equipment(
        world.fac_a,
        "A-INV-4",
        name="Котел ДКВР-10 изношенный",
        commissioned_on=date(year - 5, 1, 15),
        manufacture_year=year - 6,
        service_life_years=30.0,
    )
    crane = make.equipment(
        world.fac_a,
        "A-INV-5",
        name="Кран козловой ККС-10",
        device_type=DeviceType.CRANE,
        commissioned_on=date(year - 1, 6, 1),
        manufacture_year=year - 2,
        service_life_years=25.0,
    )
    assessed_on = clock.today() - timedelta(days=60)
    services.add_assessment(  # through the service, so the card's history has a row
        db.session,
        world.eng_a,
        worn,
        {
            "assessed_on": assessed_on,
            "wear_pct": 85.0,
            "method": AssessmentMethod.DIAGNOSTICS,
            "condition": Condition.LIMITED,
            "residual_life_years": 1.0,
            "document_ref": "ЗЭПБ-17/2024",
        },
        app.config["WEAR_THRESHOLDS"],
    )
    db.session.commit()
    items = (world.item_a, world.item_a2, young, worn, crane)
    return Fleet(
        engineer=world.eng_a.email,
        regulator=world.reg_pav.email,
        ids={item.inventory_no: item.id for item in items},
        assessed_on=assessed_on,
    )


# ---------------------------------------------------------------------------- helpers


def expect_inventory(page: Page, numbers: list[str]) -> None:
    """The registry table shows exactly these inventory numbers, in this order."""
    expect(page.locator(INVENTORY_CELLS)).to_have_text(numbers)


def total(page: Page) -> int:
    return int(re.search(r"\d+", page.locator("#total").inner_text()).group())


def stored(item_id: int) -> tuple[str, int | None, int]:
    """(name, manufacture year, audit rows) as committed in the database right now."""
    db.session.rollback()  # end the test thread's transaction: see what the server committed
    item = db.session.get(Equipment, item_id)
    events = db.session.execute(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.entity_type == "equipment", AuditEvent.entity_id == item_id)
    ).scalar_one()
    return item.name, item.manufacture_year, events


# ---------------------------------------------------------------------------- journeys


def test_engineer_logs_in_and_reads_the_dashboard(page: Page, fleet: Fleet):
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next=%2F$"))
    expect(page.locator("html")).to_have_attribute("lang", "ru")

    log_in(page, fleet.engineer, "not-the-password")
    expect(page.locator(".flash.error")).to_be_visible()
    expect(page.locator("#password")).to_have_value("")  # never echoed back
    expect(page).to_have_url(re.compile(r"/login"))

    log_in(page, fleet.engineer)
    expect(page).to_have_url(re.compile(r"/$"))
    counters = page.locator("#bands .card .n, #flags .card .n")
    expect(counters).to_have_count(6 + 5)
    assert all(text.strip().isdigit() for text in counters.all_inner_texts())
    band_counts = [int(t) for t in page.locator("#bands .card .n").all_inner_texts()]
    assert sum(band_counts) == 5  # every item falls in exactly one band
    expect(page.locator("#bands [data-band=good] .n")).to_have_text("2")
    expect(page.locator("#bands [data-band=unfit] .n")).to_have_text("3")
    expect(page.locator("#flags [data-flag=must_plan] .n")).to_have_text("3")
    expect(page.locator("#flags [data-flag=critical] .n")).to_have_text("3")

    page.locator("#flags [data-flag=must_plan]").click()  # a counter opens its list
    expect_inventory(page, ["A-INV-1", "A-INV-2", "A-INV-4"])
    expect(page.locator("#filters input[name=flag][value=must_plan]")).to_be_checked()
    assert total(page) == 3


def test_list_filters_search_and_sort(page: Page, fleet: Fleet):
    open_as(page, fleet.engineer, "/equipment")
    filters = page.locator("#filters")
    expect_inventory(page, ["A-INV-1", "A-INV-2", "A-INV-3", "A-INV-4", "A-INV-5"])
    assert total(page) == 5

    filters.locator("select[name=device_type]").select_option("steam_boiler")
    filters.locator("button[type=submit]").click()
    expect_inventory(page, ["A-INV-1", "A-INV-3", "A-INV-4"])
    assert total(page) == 3
    expect(filters.locator("select[name=device_type]")).to_have_value("steam_boiler")

    filters.locator("input[name=flag][value=must_plan]").check()
    filters.locator("button[type=submit]").click()
    expect_inventory(page, ["A-INV-1", "A-INV-4"])
    assert total(page) == 2
    expect(filters.locator("input[name=flag][value=must_plan]")).to_be_checked()

    filters.locator("a[href='/equipment']").click()  # reset
    expect_inventory(page, ["A-INV-1", "A-INV-2", "A-INV-3", "A-INV-4", "A-INV-5"])
    search = filters.locator("input[name=q]")
    search.fill("Козлов")  # part of «Кран козловой», in another case
    search.press("Enter")
    expect_inventory(page, ["A-INV-5"])
    assert total(page) == 1
    search.fill("котел")
    search.press("Enter")
    expect_inventory(page, ["A-INV-1", "A-INV-3", "A-INV-4"])

    filters.locator("a[href='/equipment']").click()
    expect_inventory(page, ["A-INV-1", "A-INV-2", "A-INV-3", "A-INV-4", "A-INV-5"])
    # Years: A-INV-1 and -2 1999 (ties go by id), -4 six, -3 three, -5 two years ago.
    page.locator("a[data-sort=manufacture_year]").click()
    expect_inventory(page, ["A-INV-1", "A-INV-2", "A-INV-4", "A-INV-3", "A-INV-5"])
    page.locator("a[data-sort=manufacture_year]").click()  # again: descending
    expect_inventory(page, ["A-INV-5", "A-INV-3", "A-INV-4", "A-INV-2", "A-INV-1"])
    years = page.locator("#registry tbody tr[data-id] td:nth-child(5)").all_inner_texts()
    assert [int(y) for y in years] == sorted((int(y) for y in years), reverse=True)

    # Filtering keeps the chosen order.
    filters.locator("select[name=device_type]").select_option("steam_boiler")
    filters.locator("button[type=submit]").click()
    expect_inventory(page, ["A-INV-3", "A-INV-4", "A-INV-1"])
    expect(page).to_have_url(re.compile(r"sort=-manufacture_year"))


def test_card_explains_the_indicators_and_shows_the_history(page: Page, fleet: Fleet):
    open_as(page, fleet.engineer, "/equipment")
    page.locator(INVENTORY_CELLS, has_text=re.compile(r"^A-INV-4$")).click()
    expect(page).to_have_url(re.compile(rf"/equipment/{fleet.ids['A-INV-4']}$"))
    expect(page.locator("h1")).to_contain_text("A-INV-4")
    expect(page.locator("h1")).to_contain_text("Котел ДКВР-10 изношенный")
    expect(page.locator("main .band.band-unfit").first).to_be_visible()

    explain = page.locator("#explain")
    expect(explain).to_be_visible()
    assert explain.locator("li").count() >= 4  # wear, thresholds, life end, why to plan
    first = explain.locator("li").first
    expect(first).to_contain_text(fleet.assessed_on.strftime("%d.%m.%Y"))  # which assessment
    expect(first).to_contain_text("85")  # what it found
    # the conclusions stand out, the last one says why the item must be planned
    expect(explain.locator("li.strong").last).to_contain_text("Требует включения в план")
    expect(page.locator("#assessments")).to_contain_text("ЗЭПБ-17/2024")

    audit = page.locator(AUDIT_ROWS)
    expect(audit).to_have_count(1)
    expect(audit.first).to_contain_text(fleet.engineer)
    expect(audit.first).to_contain_text(fleet.assessed_on.strftime("%d.%m.%Y"))


def test_audit_time_is_shown_in_the_apps_time_zone(page: Page, fleet: Fleet, app):
    local_now = datetime.now(ZoneInfo(app.config["BABEL_DEFAULT_TIMEZONE"])).replace(tzinfo=None)
    open_as(page, fleet.engineer, f"/equipment/{fleet.ids['A-INV-4']}")
    shown = page.locator(AUDIT_ROWS).first.locator("td").first.inner_text()
    when = datetime.strptime(shown.strip(), "%d.%m.%Y %H:%M")
    assert abs(when - local_now) <= timedelta(minutes=2), f"shown {shown}, local {local_now}"


def test_edit_form_shows_errors_then_saves_with_an_audit_row(page: Page, fleet: Fleet):
    item_id = fleet.ids["A-INV-3"]
    name, year, events = stored(item_id)
    open_as(page, fleet.engineer, f"/equipment/{item_id}")
    expect(page.locator(AUDIT_ROWS)).to_have_count(events)
    page.locator(f"main .actions a[href='/equipment/{item_id}/edit']").click()
    form = page.locator("#equipment-form")
    expect(form.locator("#name")).to_have_value(name)
    expect(form.locator("input[name=csrf_token]")).to_have_count(1)

    form.locator("#name").fill("")
    form.locator("#manufacture_year").fill("1800")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        form.locator("button[type=submit]").click()
    assert answer.value.status == 400
    expect(form.locator(".field.has-error")).to_have_count(2)
    for field in ("name", "manufacture_year"):
        expect(form.locator(f".field.has-error:has(#{field})")).to_be_visible()
        expect(form.locator(f".field.has-error #{field}-error.error")).to_be_visible()
        expect(form.locator(f"#{field}")).to_have_attribute("aria-invalid", "true")
    expect(form.locator("#manufacture_year")).to_have_value("1800")  # kept for correcting
    assert stored(item_id) == (name, year, events)

    new_name = "Котел КВ-ГМ после ремонта"
    form.locator("#name").fill(new_name)
    form.locator("#manufacture_year").fill(str(year))
    form.locator("button[type=submit]").click()
    expect(page).to_have_url(re.compile(rf"/equipment/{item_id}$"))
    expect(page.locator(".flash.success")).to_be_visible()
    expect(page.locator("h1")).to_contain_text(new_name)
    audit = page.locator(AUDIT_ROWS)
    expect(audit).to_have_count(events + 1)
    expect(audit.first).to_contain_text(fleet.engineer)
    expect(audit.first).to_contain_text(new_name)
    assert stored(item_id) == (new_name, year, events + 1)

    # The same form without its CSRF token is refused and changes nothing.
    page.locator(f"main .actions a[href='/equipment/{item_id}/edit']").click()
    form.locator("input[name=csrf_token]").evaluate("input => input.remove()")
    form.locator("#name").fill("Подделка")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        form.locator("button[type=submit]").click()
    assert answer.value.status == 400
    assert stored(item_id) == (new_name, year, events + 1)


def test_language_switch_turns_the_ui_english_and_back(page: Page, fleet: Fleet):
    open_as(page, fleet.engineer)
    html = page.locator("html")
    switch = page.locator("header.top .right")
    expect(html).to_have_attribute("lang", "ru")
    expect(switch.locator("strong")).to_have_text("RU")

    switch.locator("a[href*='lang=en']").click()
    expect(html).to_have_attribute("lang", "en")
    expect(switch.locator("strong")).to_have_text("EN")
    expect(page.locator("h1")).to_have_text("Dashboard")  # English is the source language

    page.locator("header.top nav a[href='/equipment']").click()  # the choice is remembered
    expect(page).to_have_url(re.compile(r"/equipment$"))
    expect(html).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("Equipment")

    filters = page.locator("#filters")
    filters.locator("select[name=device_type]").select_option("steam_boiler")
    filters.locator("button[type=submit]").click()
    expect_inventory(page, ["A-INV-1", "A-INV-3", "A-INV-4"])
    switch.locator("a[href*='lang=ru']").click()  # switching keeps the filter
    expect(html).to_have_attribute("lang", "ru")
    expect(switch.locator("strong")).to_have_text("RU")
    expect(page).to_have_url(re.compile(r"device_type=steam_boiler"))
    expect_inventory(page, ["A-INV-1", "A-INV-3", "A-INV-4"])


def test_regulator_reads_but_sees_no_edit_buttons(page: Page, fleet: Fleet):
    open_as(page, fleet.regulator, "/equipment")
    expect_inventory(page, ["A-INV-1", "A-INV-3", "A-INV-4", "A-INV-5"])  # Pavlodar only
    expect(page.locator("main a[href^='/equipment/new']")).to_have_count(0)

    page.locator(INVENTORY_CELLS, has_text=re.compile(r"^A-INV-4$")).click()
    item_id = fleet.ids["A-INV-4"]
    expect(page).to_have_url(re.compile(rf"/equipment/{item_id}$"))
    expect(page.locator("#explain")).to_be_visible()
    expect(page.locator("#audit")).to_be_visible()
    for href in ("/edit", "/assessments/new", "/inspections/new"):
        expect(page.locator(f"main a[href$='{href}']")).to_have_count(0)

    assert page.goto(f"/equipment/{item_id}/edit").status == 403
    page.goto("/facilities")
    expect(page.locator("main a[href*='/facilities/new']")).to_have_count(0)
    expect(page.locator("main a[href$='/edit']")).to_have_count(0)


def test_unknown_address_shows_the_not_found_page(page: Page, fleet: Fleet):
    open_as(page, fleet.engineer)
    response = page.goto("/no-such-page")
    assert response.status == 404
    expect(page.locator("h1")).to_have_text("404")
    expect(page.locator("header.top nav")).to_be_visible()  # still inside the app's layout
