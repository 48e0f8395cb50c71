"""The deadlines page at 1366 px (an office laptop) in a real browser: the counts link to the
list, an overdue examination is a strong red state there and on the list; the region filter
narrows the organization and facility choices as soon as it changes."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from core import clock
from core.extensions import db
from equipment.catalog import InspectionKind, InspectionResult
from equipment.models import Inspection
from equipment.services import refresh_curves
from tests.helpers.browser import open_as

pytestmark = pytest.mark.browser

RED = "rgb(176, 0, 32)"
WHITE = "rgb(255, 255, 255)"


@pytest.fixture
def late(world, make):
    """Org A: LATE's examination was due yesterday, SOON's is due in 20 days."""
    today = clock.today()
    items = {}
    for number, due in (("LATE", -1), ("SOON", 20)):
        item = make.equipment(world.fac_a, number, commissioned_on=today - timedelta(days=300))
        db.session.add(
            Inspection(
                equipment_id=item.id,
                kind=InspectionKind.EXAMINATION,
                done_on=today - timedelta(days=300),
                next_due_on=today + timedelta(days=due),
                result=InspectionResult.PASSED,
            )
        )
        db.session.commit()
        refresh_curves(db.session, [item.id], {})
        db.session.commit()
        items[number] = item.id
    return items


def test_the_deadlines_page_at_1366_px_and_the_red_overdue_state(page: Page, world, late):
    page.set_viewport_size({"width": 1366, "height": 768})
    open_as(page, world.eng_a.email, "/equipment/deadlines")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1366, f"the page is {width} px wide: a horizontal scroll at 1366 px"
    overdue = page.locator("#deadline-counts tr[data-kind=examination] td[data-horizon=overdue] a")
    expect(overdue).to_have_text("1")
    badge = page.locator(f"#nearest-examination tr[data-id='{late['LATE']}'] .due-overdue")
    expect(badge).to_be_visible()
    assert badge.evaluate("e => getComputedStyle(e).backgroundColor") == RED
    assert badge.evaluate("e => getComputedStyle(e).color") == WHITE
    soon = page.locator(f"#nearest-examination tr[data-id='{late['SOON']}'] .due")
    assert soon.evaluate("e => getComputedStyle(e).backgroundColor") != RED
    page.screenshot(path="/tmp/i10-deadlines-1366.png", full_page=True)

    overdue.click()
    expect(page).to_have_url(re.compile(r"/equipment\?due=overdue&due_kind=examination$"))
    rows = page.locator("#registry tbody tr[data-id]")
    expect(rows).to_have_count(1)
    cell = rows.first.locator(".due-overdue")
    expect(cell).to_be_visible()
    assert cell.evaluate("e => getComputedStyle(e).backgroundColor") == RED
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366

    page.goto(f"/equipment/{late['LATE']}")
    card = page.locator("#card-due .due-overdue")
    expect(card).to_be_visible()
    assert card.evaluate("e => getComputedStyle(e).backgroundColor") == RED


def test_choosing_a_region_narrows_the_organizations_and_facilities(page: Page, world, make):
    page.set_viewport_size({"width": 1366, "height": 768})
    open_as(page, world.national.email, "/equipment")
    organizations = page.locator("#filter-organization option[value]:not([value=''])")
    expect(organizations).to_have_count(2)
    page.locator("#filter-region").select_option(label="Павлодарская область")
    expect(page).to_have_url(re.compile(rf"region_id={make.region('PAV').id}"))
    expect(organizations).to_have_count(1)
    facilities = page.locator("#filter-facility option[value]:not([value=''])")
    expect(facilities).to_have_text(["A-01 — Котельная Альфа (ТОО «Альфа»)"])
    expect(page.locator("#registry tbody tr[data-id]")).to_have_count(1)
