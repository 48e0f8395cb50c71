"""What the UI review found in a real browser: chromium's number inputs dropped the decimal
comma («1,6» saved as 16), the date picker followed the browser's language, the focus stayed on
the page after a failed submit, and the Russian equipment list overflowed a 1366 px screen."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from core.extensions import db
from equipment.demo import DEMO_PASSWORD, seed_demo
from equipment.models import Equipment
from tests.helpers.browser import log_in, open_as

pytestmark = pytest.mark.browser


def stored(item_id: int) -> Equipment:
    db.session.rollback()  # see what the server committed
    return db.session.get(Equipment, item_id)


def passport(page: Page, title: str) -> str:
    return page.locator(f"dl.props dt:text-is('{title}') + dd").inner_text().strip()


def test_a_decimal_comma_and_a_russian_date_are_saved_as_typed(page: Page, world):
    item_id = world.item_a.id
    open_as(page, world.eng_a.email, f"/equipment/{item_id}/edit")
    form = page.locator("#equipment-form")
    form.locator("#pressure_mpa").fill("1,6")
    form.locator("#temperature_c").fill("1 250,5")
    form.locator("#commissioned_on").fill("15.03.2001")
    expect(form.locator("#commissioned_on")).to_have_attribute("placeholder", "дд.мм.гггг")
    form.locator("button[type=submit]").click()
    expect(page).to_have_url(re.compile(rf"/equipment/{item_id}$"))
    expect(page.locator(".flash.success")).to_be_visible()
    assert passport(page, "Рабочее давление, МПа") == "1,6"
    assert passport(page, "Дата ввода в эксплуатацию") == "15.03.2001"
    item = stored(item_id)
    assert (item.pressure_mpa, item.temperature_c) == (1.6, 1250.5)

    page.goto(f"/equipment/{item_id}/edit")  # shown back as it is written in Russian
    expect(form.locator("#pressure_mpa")).to_have_value("1,6")
    expect(form.locator("#commissioned_on")).to_have_value("15.03.2001")


def test_text_that_is_not_a_number_reaches_the_server_and_is_refused(page: Page, world):
    item_id = world.item_a.id
    open_as(page, world.eng_a.email, f"/equipment/{item_id}/edit")
    form = page.locator("#equipment-form")
    form.locator("#pressure_mpa").fill("12e")
    form.locator("#commissioned_on").fill("31.02.2001")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        form.locator("button[type=submit]").click()
    assert answer.value.status == 400
    expect(form.locator("#pressure_mpa")).to_have_value("12e")  # kept for correcting
    expect(page.locator("#pressure_mpa-error")).to_have_text(
        "Введите давление числом от 0 до 1000 МПа, например 1,6."
    )
    expect(page.locator("#commissioned_on-error")).to_have_text(
        "Неверная дата: ожидается дд.мм.гггг."
    )
    assert stored(item_id).pressure_mpa is None


def test_after_a_failed_submit_the_focus_is_on_the_first_invalid_field(page: Page, world):
    item_id = world.item_a.id
    open_as(page, world.eng_a.email, f"/equipment/{item_id}/edit")
    form = page.locator("#equipment-form")
    form.locator("#name").fill("")
    form.locator("#pressure_mpa").fill("много")
    form.locator("button[type=submit]").click()
    expect(page.locator("#error-summary")).to_be_visible()
    expect(form.locator("#name")).to_be_focused()
    expect(form.locator("#name")).to_have_attribute("aria-describedby", "name-error")
    page.locator("#error-summary a[href='#pressure_mpa']").click()
    expect(form.locator("#pressure_mpa")).to_be_focused()


@pytest.fixture
def demo(make, app):
    """The demo registry (five operators, long Russian names), small."""
    seed_demo(db.session, 150, app.config["WEAR_THRESHOLDS"])
    db.session.commit()


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_the_equipment_list_fits_a_1366_px_screen(page: Page, demo, lang):
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(f"/login?lang={lang}")
    log_in(page, "admin@demo.kz", DEMO_PASSWORD)
    page.goto("/equipment")
    expect(page.locator("#registry th[class*=col-org]")).to_be_visible()  # several operators
    sizes = page.evaluate(
        """() => {
          const table = document.querySelector('#registry');
          const flags = [...table.querySelectorAll('thead th')].pop();
          const search = document.querySelector('#filters input[name=q]');
          const style = getComputedStyle(search);
          const ctx = document.createElement('canvas').getContext('2d');
          ctx.font = style.font;
          return {
            page: document.documentElement.scrollWidth,
            tableRight: table.getBoundingClientRect().right,
            flagsRight: flags.getBoundingClientRect().right,
            placeholder: ctx.measureText(search.placeholder).width,
            room: search.clientWidth - parseFloat(style.paddingLeft)
              - parseFloat(style.paddingRight),
          };
        }"""
    )
    assert sizes["page"] <= 1366, sizes
    assert sizes["tableRight"] <= 1366 and sizes["flagsRight"] <= 1366, sizes
    assert sizes["placeholder"] <= sizes["room"], sizes  # the search hint is not cut
