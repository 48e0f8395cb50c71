"""Printing and the dashboard in a real browser: the card, the list and the dashboard printed
to PDF by chromium (``page.pdf()`` uses the print stylesheet) and read back with pypdf: the
title says «по состоянию на» the day (and the list's filter in words), the navigation, the
filters and the buttons are not printed, the charts are. The dashboard at an office laptop's
1366 px and a 390 px phone: no horizontal scroll, every chart drawn, a bar opens its list."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from core import clock
from equipment.catalog import DeviceType
from tests.helpers.browser import open_as

pypdf = pytest.importorskip("pypdf", reason="pypdf is in the test extras (pyproject.toml)")

pytestmark = pytest.mark.browser

# the header's navigation and account links (Russian): never on paper
NOT_PRINTED = ("Жизненный цикл ОПО", "Объекты (ОПО)", "Организации", "Выйти")


@pytest.fixture
def fleet(world, make):
    today = clock.today()
    make.equipment(world.fac_a, "A-YOUNG", commissioned_on=today - timedelta(days=400))
    make.equipment(world.fac_a, "A-CRANE", device_type=DeviceType.CRANE, commissioned_on=None)
    return world


def printed(page: Page) -> str:
    """The page printed to PDF (A4), as text, whitespace folded."""
    pdf = pypdf.PdfReader(io.BytesIO(page.pdf(format="A4", print_background=True)))
    text = "\n".join(p.extract_text() for p in pdf.pages)
    return re.sub(r"\s+", " ", text)


def test_the_printed_card_says_as_of_and_has_no_navigation(page: Page, fleet):
    open_as(page, fleet.eng_a.email, f"/equipment/{fleet.item_a.id}")
    expect(page.locator("h1")).to_have_text("A-INV-1 — Котел ДЕ-25 Альфа")  # on screen: no date
    text = printed(page)
    today = f"{clock.today():%d.%m.%Y}"
    assert f"A-INV-1 — Котел ДЕ-25 Альфа по состоянию на {today}" in text, text[:400]
    for word in (*NOT_PRINTED, fleet.eng_a.email, "Изменить"):
        assert word not in text, word
    assert "Котельная Альфа" in text  # the passport is printed


def test_the_printed_list_names_its_filter_and_keeps_its_rows(page: Page, fleet):
    open_as(page, fleet.eng_a.email, f"/equipment?facility_id={fleet.fac_a.id}&band=unfit")
    expect(page.locator("#print-filter")).to_be_hidden()
    text = printed(page)
    today = f"{clock.today():%d.%m.%Y}"
    assert f"Оборудование по состоянию на {today}" in text, text[:400]
    assert "Фильтр: ОПО: A-01 — Котельная Альфа; Степень износа: Негодное (80–100" in text, text[
        :600
    ]
    assert "A-INV-1" in text and "A-YOUNG" not in text  # the filter's rows only
    for word in (*NOT_PRINTED, "Применить", "Сбросить", "Выгрузить в Excel", "Поиск"):
        assert word not in text, word


def test_the_printed_dashboard_keeps_its_charts(page: Page, fleet):
    open_as(page, fleet.eng_a.email, "/")
    text = printed(page)
    for figure in ("Хорошее (0–20", "Оборудование по ОПО", "0–5 лет", "Ближайшие сроки"):
        assert figure in text, figure
    for word in NOT_PRINTED:
        assert word not in text, word


@pytest.mark.parametrize("width,height", [(1366, 768), (390, 844)])
def test_the_dashboard_fits_the_screen_and_a_bar_opens_its_list(page: Page, fleet, width, height):
    page.set_viewport_size({"width": width, "height": height})
    open_as(page, fleet.eng_a.email, "/")
    for chart in ("chart-bands", "chart-facility", "chart-device_type", "chart-age"):
        expect(page.locator(f"#{chart} svg")).to_be_visible()
    scroll = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert scroll <= 0, f"horizontal scroll of {scroll} px at {width} px"
    box = page.locator("#chart-facility svg").bounding_box()
    assert box["width"] <= width and box["height"] > 20
    crane = page.locator('#chart-device_type a[data-key="crane"]')
    expect(crane).to_have_attribute("aria-label", re.compile(r": 1$"))
    crane.click()
    expect(page).to_have_url(re.compile(r"/equipment\?device_type=crane$"))
    expect(page.locator("#registry tbody tr[data-id] td:first-child a")).to_have_text(["A-CRANE"])
