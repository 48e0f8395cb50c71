"""Deadlines: the list's ``due`` / ``due_kind`` filters (page and API), the deadlines page
whose counts link to the list, its scoping, and the red overdue state on every page."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest

from core import clock
from core.extensions import db
from equipment.catalog import EquipmentStatus, InspectionKind, InspectionResult
from equipment.models import Inspection
from equipment.services import refresh_curves
from tests.helpers.actors import Actor
from tests.helpers.errors import field_errors

TODAY = clock.today()
EXAM, HYD, EXP = (
    InspectionKind.EXAMINATION,
    InspectionKind.HYDRAULIC_TEST,
    InspectionKind.EXPERTISE,
)
PASSED, FAILED, EXTENDED = (
    InspectionResult.PASSED,
    InspectionResult.FAILED,
    InspectionResult.EXTENDED,
)


def day(n: int):
    return TODAY + timedelta(days=n)


def event(item, kind, done_in: int, due_in: int | None, result=PASSED, extended_in=None):
    db.session.add(
        Inspection(
            equipment_id=item.id,
            kind=kind,
            done_on=day(done_in),
            next_due_on=None if due_in is None else day(due_in),
            result=result,
            extended_until=None if extended_in is None else day(extended_in),
        )
    )


@pytest.fixture
def dated(world, make):
    """Org A's items (facility A-01) with deadlines at known distances from today; org B's
    B-LATE is overdue. The world's items have no events and a life that ended in 2020."""
    life = {"commissioned_on": day(-300), "service_life_years": 30.0}  # life ends far away
    items = {
        no: make.equipment(world.fac_a, no, **life)
        for no in (
            "EX-LATE1",  # examination due yesterday: overdue by one day
            "EX-TODAY",  # due today: not overdue yet, within 30
            "EX-30",  # due in exactly 30 days
            "EX-31",  # in 31 days: within 60, not 30
            "EX-90",  # in exactly 90 days
            "EX-91",  # in 91 days: no horizon
            "EX-FAIL",  # failed 10 days ago: overdue although its next date is far
            "EX-AGAIN",  # an old overdue examination, then a new one due in 200 days
            "HYD-LATE",  # hydraulic test 5 days overdue (examination fine)
            "EXP-45",  # expertise due in 45 days (examination fine)
            "LIFE-0",  # life extended until today: ended today
            "LIFE-1",  # life extended until tomorrow: ends within 30
        )
    }
    items["OLD"] = make.equipment(world.fac_a, "OLD", status=EquipmentStatus.DECOMMISSIONED)
    late_b = make.equipment(world.fac_b, "B-LATE", **life)
    for no, due in (("EX-LATE1", -1), ("EX-TODAY", 0), ("EX-30", 30), ("EX-31", 31)):
        event(items[no], EXAM, -300, due)
    event(items["EX-90"], EXAM, -300, 90)
    event(items["EX-91"], EXAM, -300, 91)
    event(items["EX-FAIL"], EXAM, -10, 300, FAILED)
    event(items["EX-AGAIN"], EXAM, -700, -300)
    event(items["EX-AGAIN"], EXAM, -20, 200)
    event(items["HYD-LATE"], EXAM, -20, 200)
    event(items["HYD-LATE"], HYD, -400, -5)
    event(items["EXP-45"], EXAM, -20, 200)
    event(items["EXP-45"], EXP, -100, 45)
    event(items["LIFE-0"], EXAM, -20, 200)
    event(items["LIFE-0"], EXP, -100, None, EXTENDED, extended_in=0)
    event(items["LIFE-1"], EXAM, -20, 200)
    event(items["LIFE-1"], EXP, -100, None, EXTENDED, extended_in=1)
    event(items["OLD"], EXAM, -300, -30)  # decommissioned: never counted
    event(late_b, EXAM, -300, -3)
    db.session.commit()
    refresh_curves(db.session, [i.id for i in (*items.values(), late_b)], {})
    db.session.commit()
    assert db.session.get(type(late_b), items["LIFE-0"].id).life_end == TODAY
    return items


def actor(app, make, user) -> Actor:
    return Actor(app, make, user)


def listed(who: Actor, query: str) -> set[str]:
    response = who.get(f"/api/v1/equipment?per_page=500&{query}")
    assert response.status_code == 200, response.get_json()
    return {item["inventory_no"] for item in response.get_json()["items"]}


def text_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return html.unescape(response.get_data(as_text=True)).replace("\u00a0", " ")


WORLD_A = {"A-INV-1", "A-INV-2"}  # no events at all; life ended in 2020


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("due=overdue&due_kind=examination", {"EX-LATE1", "EX-FAIL"}),
        ("due=30&due_kind=examination", {"EX-TODAY", "EX-30"}),
        ("due=60&due_kind=examination", {"EX-TODAY", "EX-30", "EX-31"}),
        ("due=90&due_kind=examination", {"EX-TODAY", "EX-30", "EX-31", "EX-90"}),
        ("due=none&due_kind=examination", WORLD_A),
        ("due=overdue&due_kind=hydraulic", {"HYD-LATE"}),
        ("due=60&due_kind=expertise", {"EXP-45"}),
        ("due=30&due_kind=expertise", set()),
        ("due=overdue&due_kind=life", WORLD_A | {"LIFE-0"}),
        ("due=30&due_kind=life", {"LIFE-1"}),
        # any kind: the examinations, the hydraulic test and the lives together
        ("due=overdue", {"EX-LATE1", "EX-FAIL", "HYD-LATE", "LIFE-0"} | WORLD_A),
        ("due=none", WORLD_A),
    ],
)
def test_each_deadline_filter_finds_exactly_its_items(app, make, world, dated, query, expected):
    engineer = actor(app, make, world.eng_a)
    assert listed(engineer, query) == expected
    # the page lists the same items
    page = text_of(engineer.get(f"/equipment?per_page=500&{query}"))
    assert f"Найдено: {len(expected)}" in page


def test_a_deadline_filter_of_one_kind_sorts_by_that_date(app, make, world, dated):
    engineer = actor(app, make, world.eng_a)
    response = engineer.get("/api/v1/equipment?due=90&due_kind=examination")
    order = [i["inventory_no"] for i in response.get_json()["items"]]
    assert order == ["EX-TODAY", "EX-30", "EX-31", "EX-90"]


@pytest.mark.parametrize(
    ("field", "value"), [("due", "soon"), ("due", "45"), ("due_kind", "inspection")]
)
def test_a_bad_deadline_value_is_422_naming_it(app, make, world, field, value):
    engineer = actor(app, make, world.eng_a)
    response = engineer.get(f"/api/v1/equipment?{field}={value}")
    assert response.status_code == 422
    assert set(field_errors(response)) == {field}
    page = text_of(engineer.get(f"/equipment?{field}={value}"))
    label = {"due": "Срок", "due_kind": "Вид срока"}[field]
    assert f"{label}: Недопустимое значение «{value}»" in page


def page_counts(page: str) -> dict[tuple[str, str], tuple[int, str | None]]:
    """{(kind, horizon): (count, link)} of the deadlines page's table."""
    out = {}
    table = re.search(r'<table id="deadline-counts".*?</table>', page, re.S).group(0)
    for kind, row in re.findall(r'<tr data-kind="(\w+)">(.*?)</tr>', table, re.S):
        for horizon, cell in re.findall(r'<td[^>]*data-horizon="(\w+)">(.*?)</td>', row, re.S):
            count = re.search(r'data-count="(\d+)"', cell)
            link = re.search(r'href="([^"]+)"', cell)
            if count:
                out[kind, horizon] = (int(count.group(1)), link.group(1) if link else None)
    return out


def test_the_page_counts_what_the_linked_list_finds(app, make, world, dated):
    engineer = actor(app, make, world.eng_a)
    counts = page_counts(text_of(engineer.get("/equipment/deadlines")))
    assert counts["examination", "overdue"][0] == 2
    assert counts["examination", "30"][0] == 2
    assert counts["examination", "90"][0] == 4
    assert counts["examination", "none"][0] == 2
    assert counts["hydraulic", "overdue"][0] == 1
    assert counts["expertise", "60"][0] == 1
    assert counts["life", "overdue"][0] == 3
    for (kind, horizon), (count, link) in counts.items():
        if count == 0:
            assert link is None
            continue
        assert f"due={horizon}" in link and f"due_kind={kind}" in link
        found = text_of(engineer.get(link))
        assert f"Найдено: {count}" in found, (kind, horizon)


@pytest.mark.parametrize(
    ("who", "overdue"),
    [("eng_a", 2), ("eng_b", 1), ("reg_pav", 2), ("reg_kar", 1), ("national", 3), ("admin", 3)],
)
def test_the_page_counts_only_what_the_user_may_see(app, make, world, dated, who, overdue):
    """B-LATE (org B, Karaganda) is overdue: never in org A's figures or Pavlodar's."""
    user = actor(app, make, getattr(world, who))
    page = text_of(user.get("/equipment/deadlines"))
    counts = page_counts(page)
    assert counts["examination", "overdue"][0] == overdue
    assert ("B-LATE" in page) == (who in ("eng_b", "reg_kar", "national", "admin"))
    link = counts["examination", "overdue"][1]
    assert f"Найдено: {overdue}" in text_of(user.get(link))
    assert ("B-LATE" in listed(user, "due=overdue&due_kind=examination")) == (
        who in ("eng_b", "reg_kar", "national", "admin")
    )


def test_the_page_lists_the_nearest_deadlines_by_date(app, make, world, dated):
    engineer = actor(app, make, world.eng_a)
    page = text_of(engineer.get("/equipment/deadlines"))
    section = re.search(r'id="nearest-examination">.*?</section>', page, re.S)
    numbers = re.findall(r'/equipment/\d+">([^<]+)</a>', section.group(0))
    # the failed one is due the day before it was done (10 days ago), then yesterday, ...
    assert numbers == ["EX-FAIL", "EX-LATE1", "EX-TODAY", "EX-30", "EX-31", "EX-90"]


def test_an_overdue_examination_is_red_on_the_list_the_card_and_the_page(app, make, world, dated):
    engineer = actor(app, make, world.eng_a)
    item = dated["EX-LATE1"]
    page = engineer.get("/equipment?q=EX-").get_data(as_text=True)
    rows = dict(re.findall(r'<tr data-id="(\d+)">(.*?)</tr>', page, re.S))
    assert 'class="due due-overdue"' in rows[str(item.id)]
    assert "due-overdue" not in rows[str(dated["EX-91"].id)]
    assert 'class="due due-30"' in rows[str(dated["EX-30"].id)]
    card = text_of(engineer.get(f"/equipment/{item.id}"))
    badge = re.search(r'<p class="due-line" id="card-due">.*?</p>', card, re.S).group(0)
    assert "due-overdue" in badge and "просрочено на 1 дн." in badge
    assert "эксплуатация устройства запрещена" in badge
    deadlines = text_of(engineer.get("/equipment/deadlines"))
    row = re.search(rf'<tr data-id="{item.id}">.*?</tr>', deadlines, re.S).group(0)
    assert "due-overdue" in row
    # an examination due today is not overdue yet
    card = text_of(engineer.get(f"/equipment/{dated['EX-TODAY'].id}"))
    assert "due-overdue" not in re.search(r'id="card-due">.*?</p>', card, re.S).group(0)


def test_the_deadlines_page_is_in_the_navigation(app, make, world):
    page = text_of(actor(app, make, world.reg_pav).get("/equipment"))
    assert 'href="/equipment/deadlines"' in page and ">Сроки<" in page
