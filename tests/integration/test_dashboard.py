"""The dashboard on the real database: every figure links to the list of exactly the items it
counts (followed and counted here), the breakdowns are scoped like the list (an engineer
never sees another organization's figures), and the next deadlines are the earliest ones."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta
from urllib.parse import unquote

import pytest

from accounts.models import Role
from core import clock
from core.extensions import db
from equipment.catalog import DeviceType, EquipmentStatus, InspectionKind, InspectionResult
from equipment.models import Inspection
from equipment.registry.ages import years_before
from equipment.services import refresh_curves
from tests.helpers.actors import Actor

CHART_LINK = re.compile(
    r'<a href="([^"]+)" class="chart-item" aria-label="([^"]*)"[^>]*>.*?'
    r'data-value="([\d.]+)"',
    re.S,
)


def _inspect(item, kind, done_on, next_due_on=None, result=InspectionResult.PASSED):
    db.session.add(
        Inspection(
            equipment_id=item.id, kind=kind, done_on=done_on, next_due_on=next_due_on, result=result
        )
    )
    db.session.commit()
    refresh_curves(db.session, [item.id], {})
    db.session.commit()


@pytest.fixture
def fleet(world, make):
    """Besides the world's three (commissioned in 2000): org A gets items of every age, a
    crane, one without a commissioning date, a decommissioned one (never counted) and
    inspections; org B gets one more at its facility."""
    today = clock.today()
    a = world.fac_a
    young = make.equipment(a, "A-YOUNG", commissioned_on=today - timedelta(days=300))
    make.equipment(a, "A-5", commissioned_on=years_before(today, 5))  # 5 full years: 5–10
    make.equipment(a, "A-12", commissioned_on=years_before(today, 12), device_type=DeviceType.CRANE)
    make.equipment(a, "A-40", commissioned_on=years_before(today, 40))
    make.equipment(a, "A-NODATE", commissioned_on=None, manufacture_year=None)
    make.equipment(a, "A-OFF", status=EquipmentStatus.DECOMMISSIONED)
    make.equipment(world.fac_b, "B-INV-2", device_type=DeviceType.CRANE)
    _inspect(young, InspectionKind.EXAMINATION, today - timedelta(days=100), today + timedelta(5))
    _inspect(
        world.item_a, InspectionKind.HYDRAULIC_TEST, today - timedelta(400), today + timedelta(3)
    )
    # a failed examination: due at once (the day before it)
    _inspect(world.item_a2, InspectionKind.EXAMINATION, today - timedelta(10), result="failed")
    _inspect(world.item_b, InspectionKind.EXPERTISE, today - timedelta(50), today + timedelta(1))
    return world


@pytest.fixture
def actor(app, make, world):
    """The world's users, each logged in through a client of its own."""
    cache: dict[str, Actor] = {}

    def _actor(name: str) -> Actor:
        if name not in cache:
            cache[name] = Actor(app, make, getattr(world, name))
        return cache[name]

    return _actor


def chart_links(page: str) -> list[tuple[str, str, int]]:
    """(list URL, accessible name, value) of every chart bar of the page."""
    return [
        (html.unescape(h), html.unescape(n), int(float(v))) for h, n, v in CHART_LINK.findall(page)
    ]


def rows_of_list(who: Actor, url: str) -> list[str]:
    page = who.get(url + ("&" if "?" in url else "?") + "per_page=500").get_data(as_text=True)
    assert 'class="flash error"' not in page, url
    return re.findall(r'<tr data-id="\d+">\s*<td class="col-inv"><a [^>]*>([^<]+)</a>', page)


@pytest.mark.parametrize("who", ["eng_a", "eng_b", "reg_pav", "reg_kar", "national", "admin"])
def test_every_figure_is_the_count_of_the_list_it_links_to(fleet, actor, who):
    person = actor(who)
    page = person.get("/").get_data(as_text=True)
    links = chart_links(page)
    charts = set(re.findall(r'<figure class="chart-figure" id="(chart-[\w-]+)"', page))
    assert {"chart-bands", "chart-facility", "chart-device_type", "chart-age"} <= charts
    assert links, page[:2000]
    for url, name, value in links:
        assert url.startswith("/equipment?"), url
        assert len(rows_of_list(person, url)) == value, (who, name, url)
    # the bands' and the age groups' figures each add up to the whole fleet
    total = int(re.search(r'id="totals">[^<]*?(\d+) ед\. оборудования', page).group(1))
    for arg in ("band=", "age="):
        assert sum(v for u, _n, v in links if arg in u) == total, arg


def test_the_bands_show_their_ranges_and_the_age_groups_their_years(fleet, actor):
    page = actor("eng_a").get("/").get_data(as_text=True)
    names = {name for _u, name, _v in chart_links(page)}
    # 20 years of life: A-12 is 60 % worn (dilapidated from 60), A-5 25 %, A-YOUNG under 5
    # the glossary's band labels keep the number and the sign together (a no-break space)
    assert {"Ветхое (60–80\xa0%): 1", "Удовлетворительное (20–40\xa0%): 1"} <= names
    assert {"Хорошее (0–20\xa0%): 1", "Неудовлетворительное (40–60\xa0%): 0"} <= names
    ages = {unquote(u.split("age=")[1]): v for u, _n, v in chart_links(page) if "age=" in u}
    assert ages == {"0-5": 1, "5-10": 1, "10-20": 1, "20-30": 2, "over-30": 1, "unknown": 1}


def test_an_engineer_never_sees_another_organizations_figures(fleet, actor, world):
    page = actor("eng_a").get("/").get_data(as_text=True)
    for foreign in ("B-01", "Цех Бета", "АО «Бета»", "B-INV-1", "B-INV-2"):
        assert foreign not in page, foreign
    assert f"facility_id={world.fac_b.id}" not in page
    assert "chart-organization" not in page and "chart-region" not in page
    facilities = {u: v for u, _n, v in chart_links(page) if "facility_id" in u}
    assert facilities == {
        f"/equipment?facility_id={world.fac_a.id}": 6,
        f"/equipment?facility_id={world.fac_a2.id}": 1,
    }
    # cranes: A-12 only (B's crane is B's)
    assert [v for u, _n, v in chart_links(page) if u == "/equipment?device_type=crane"] == [1]
    # a filter in the dashboard's URL widens nothing
    other = actor("eng_a").get(f"/?organization_id={world.org_b.id}").get_data(as_text=True)
    assert chart_links(other) == chart_links(page)
    eng_b = chart_links(actor("eng_b").get("/").get_data(as_text=True))
    assert {u for u, _n, _v in eng_b if "facility_id" in u} == {
        f"/equipment?facility_id={world.fac_b.id}"
    }


def test_regulators_see_organizations_and_national_ones_regions(fleet, actor, world):
    regional = actor("reg_kar").get("/").get_data(as_text=True)
    assert 'id="chart-organization"' in regional and 'id="chart-region"' not in regional
    orgs = {u: v for u, _n, v in chart_links(regional) if "organization_id" in u}
    # Karaganda: org A's facility A-02 (1 item) and org B (2 items)
    assert orgs == {
        f"/equipment?organization_id={world.org_b.id}": 2,
        f"/equipment?organization_id={world.org_a.id}": 1,
    }
    national = actor("national").get("/").get_data(as_text=True)
    regions = {n.split(":")[0]: v for u, n, v in chart_links(national) if "region_id" in u}
    assert regions == {"Павлодарская область": 6, "Карагандинская область": 3}


def test_next_deadlines_are_the_earliest_and_link_to_the_card(fleet, actor, world):
    person = actor("eng_a")
    page = person.get("/").get_data(as_text=True)
    table = page.split('id="deadlines"')[1].split("</table>")[0]
    rows = re.findall(
        r'<tr data-id="(\d+)" data-kind="(\w+)"[^>]*>\s*<td class="date">([\d.]+)', table
    )
    today = clock.today()
    found = [(int(i), k, d) for i, k, d in rows]
    # B's expertise (in 1 day) is B's; A-02's failed examination is overdue (a flag), not
    # next; then A-YOUNG's examination; then A-12's life end (12 of its 20 years gone)
    assert found[0] == (world.item_a.id, "hydraulic", f"{today + timedelta(3):%d.%m.%Y}")
    assert found[1][1:] == ("examination", f"{today + timedelta(5):%d.%m.%Y}")
    assert found[1][0] not in (world.item_a.id, world.item_a2.id)
    assert found[2][1] == "life"
    assert {world.item_b.id, world.item_a2.id}.isdisjoint(i for i, _k, _d in found)
    days = [date(int(d[6:]), int(d[3:5]), int(d[:2])) for _i, _k, d in rows]
    assert days == sorted(days) and len(rows) <= 10
    for item_id, _k, _d in rows:
        assert person.get(f"/equipment/{item_id}").status_code == 200
    assert 'href="/equipment?due=90"' in page


def test_an_empty_registry_draws_no_bars(app, world, make):
    org = make.org("ТОО «Пусто»", "180340021802", "PAV")
    make.facility(org, "E-01")
    person = Actor(app, make, make.user("empty@example.kz", Role.ENGINEER, org))
    page = person.get("/").get_data(as_text=True)
    assert chart_links(page) == []
    assert "Нет данных" in page


@pytest.mark.parametrize(
    "query,field",
    [("age=old", "age"), ("region_id=x", "region_id"), ("region_id=99999999999", "region_id")],
)
def test_a_bad_age_or_region_filter_is_named(fleet, actor, query, field):
    person = actor("eng_a")
    page = person.get(f"/equipment?{query}").get_data(as_text=True)
    name = {"age": "Срок эксплуатации", "region_id": "Регион"}[field]
    assert re.search(rf'class="flash error"[^>]*>{name}: ', page), page[:3000]
    api = person.get(f"/api/v1/equipment?{query}")
    assert api.status_code == 422 and field in str(api.get_json())


def test_the_region_link_of_another_region_shows_a_regulator_nothing(fleet, actor, make):
    kar = make.region("KAR").id
    assert rows_of_list(actor("reg_pav"), f"/equipment?region_id={kar}") == []
    assert len(rows_of_list(actor("national"), f"/equipment?region_id={kar}")) == 3
