"""The list's search ranks matches in the number and name fields first and says where it
found each item; a facility code finds the facility's items; region, organization and
facility filters narrow each other; national users see a region column."""

from __future__ import annotations

import html
import re

import pytest

from tests.helpers.actors import Actor
from tests.helpers.errors import field_errors


def text_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return html.unescape(response.get_data(as_text=True)).replace("\u00a0", " ")


def rows(page: str) -> list[tuple[str, str | None]]:
    """(inventory number, the matched field's note) of each row, in order."""
    out = []
    for row in re.findall(r"<tr data-id=.*?</tr>", page, re.S):
        number = re.search(r'/equipment/\d+">([^<]+)</a>', row).group(1)
        note = re.search(r'<small class="matched muted" data-matched="\w+">([^<]+)</small>', row)
        out.append((number, note.group(1) if note else None))
    return out


def api_numbers(who: Actor, query: str) -> list[str]:
    response = who.get(f"/api/v1/equipment?{query}")
    assert response.status_code == 200, response.get_json()
    return [i["inventory_no"] for i in response.get_json()["items"]]


@pytest.fixture
def boilers(world, make):
    """«котел» in each field of org A's items, the world's A-INV-1 «Котел ДЕ-25 Альфа» too."""
    fac = world.fac_a
    return [
        make.equipment(fac, "S-3", name="Насос", manufacturer="Бийский котельный завод"),
        make.equipment(fac, "S-2", name="Насос центробежный", model="Котел-М2"),
        make.equipment(fac, "S-1", name="Котёл паровой ДКВР"),
        make.equipment(fac, "КОТЕЛ-7", name="Насос дозирующий"),
        make.equipment(fac, "S-9", name="Задвижка", manufacturer="Насосный завод"),
    ]


def test_a_search_ranks_numbers_then_name_model_manufacturer(app, make, world, boilers):
    engineer = Actor(app, make, world.eng_a)
    page = text_of(engineer.get("/equipment?q=котел"))
    assert rows(page) == [
        ("КОТЕЛ-7", "найдено в: инвентарный номер"),
        ("A-INV-1", "найдено в: наименование"),
        ("S-1", "найдено в: наименование"),
        ("S-2", "найдено в: модель"),
        ("S-3", "найдено в: производитель"),
    ]
    assert "сначала точные совпадения" in page
    assert api_numbers(engineer, "q=КОТЁЛ") == ["КОТЕЛ-7", "A-INV-1", "S-1", "S-2", "S-3"]
    # a sort the user chose wins over the rank; then no relevance note
    chosen = text_of(engineer.get("/equipment?q=котел&sort=inventory_no"))
    assert [n for n, _ in rows(chosen)] == ["A-INV-1", "S-1", "S-2", "S-3", "КОТЕЛ-7"]
    assert "сначала точные совпадения" not in chosen


def test_a_number_typed_whole_or_its_beginning_comes_before_its_middle(app, make, world):
    fac = world.fac_a
    make.equipment(fac, "ИН-4626", name="Кран")  # the middle of a number
    make.equipment(fac, "N-2", name="Кран 4626")  # the name
    make.equipment(fac, "N-3", name="Кран", factory_no="4626-Г")  # a number's beginning
    make.equipment(fac, "N-4", name="Кран", registration_no="4626")  # a number, whole
    make.equipment(fac, "N-5", name="Кран", model="КС-4626")  # the model
    engineer = Actor(app, make, world.eng_a)
    # a number typed whole or its beginning: one rank, then by inventory number
    assert rows(text_of(engineer.get("/equipment?q=4626"))) == [
        ("N-3", "найдено в: заводской номер"),
        ("N-4", "найдено в: регистрационный номер"),
        ("N-2", "найдено в: наименование"),
        ("ИН-4626", "найдено в: инвентарный номер"),
        ("N-5", "найдено в: модель"),
    ]
    # separators ignored: «4626 Г» is the beginning of «4626-Г»
    assert rows(text_of(engineer.get("/equipment?q=4626 г")))[0] == (
        "N-3",
        "найдено в: заводской номер",
    )


def test_a_facility_code_finds_the_facilitys_items(app, make, world):
    engineer = Actor(app, make, world.eng_a)
    for typed in ("A-02", "a-02", " A-02 "):
        page = text_of(engineer.get(f"/equipment?q={typed}"))
        assert rows(page) == [("A-INV-2", "найдено в: код ОПО")], typed
    # another organization's facility: nothing (the code is not a way around the scope)
    assert rows(text_of(engineer.get("/equipment?q=B-01"))) == []
    assert api_numbers(Actor(app, make, world.national), "q=b-01") == ["B-INV-1"]


# ---------------------------------------------------------------------------- narrowing


def options(page: str, name: str) -> list[str]:
    select = re.search(rf'<select name="{name}".*?</select>', page, re.S)
    if select is None:
        return []
    return re.findall(r'<option value="\d+"[^>]*>([^<]+)</option>', select.group(0))


def test_region_organization_facility_narrow_each_other(app, make, world):
    national = Actor(app, make, world.national)
    page = text_of(national.get("/equipment"))
    assert options(page, "region_id") == ["Карагандинская область", "Павлодарская область"]
    assert options(page, "facility_id") == [
        "A-01 — Котельная Альфа (ТОО «Альфа»)",
        "A-02 — Склад Альфа в Караганде (ТОО «Альфа»)",
        "B-01 — Цех Бета (АО «Бета»)",
    ]
    pav, kar = make.region("PAV").id, make.region("KAR").id
    page = text_of(national.get(f"/equipment?region_id={pav}"))
    assert options(page, "organization_id") == ["ТОО «Альфа» (040540526019)"]
    assert options(page, "facility_id") == ["A-01 — Котельная Альфа (ТОО «Альфа»)"]
    assert [n for n, _ in rows(page)] == ["A-INV-1"]
    page = text_of(national.get(f"/equipment?region_id={kar}&organization_id={world.org_a.id}"))
    assert len(options(page, "organization_id")) == 2  # both operate in Karaganda
    assert options(page, "facility_id") == ["A-02 — Склад Альфа в Караганде (ТОО «Альфа»)"]
    assert [n for n, _ in rows(page)] == ["A-INV-2"]
    assert api_numbers(national, f"region_id={kar}") == ["A-INV-2", "B-INV-1"]


def test_facilities_of_the_same_code_and_name_are_told_apart(app, make, world):
    for org in (world.org_a, world.org_b):
        make.facility(org, "OPO-01", name="Котельная №1")
    page = text_of(Actor(app, make, world.admin).get("/equipment"))
    listed = options(page, "facility_id")
    assert "OPO-01 — Котельная №1 (ТОО «Альфа»)" in listed
    assert "OPO-01 — Котельная №1 (АО «Бета»)" in listed


def test_an_engineer_sees_no_region_filter_and_own_facilities_only(app, make, world):
    page = text_of(Actor(app, make, world.eng_a).get("/equipment"))
    assert options(page, "region_id") == []
    assert options(page, "facility_id") == [
        "A-01 — Котельная Альфа",
        "A-02 — Склад Альфа в Караганде",
    ]


@pytest.mark.parametrize(
    ("who", "shown"),
    [("national", True), ("admin", True), ("reg_kar", False), ("eng_a", False)],
)
def test_a_region_column_for_national_users(app, make, world, who, shown):
    page = text_of(Actor(app, make, getattr(world, who)).get("/equipment"))
    assert ('data-col="region"' in page) == shown
    if shown:
        cells = dict(
            (number, region)
            for number, region in re.findall(
                r'/equipment/\d+">([^<]+)</a>.*?<td class="col-region">([^<]+)</td>', page, re.S
            )
        )
        assert cells == {
            "A-INV-1": "Павлодарская область",
            "A-INV-2": "Карагандинская область",
            "B-INV-1": "Карагандинская область",
        }


@pytest.mark.parametrize("value", ["abc", "0", "99999999999"])
def test_a_bad_region_is_422_naming_it(app, make, world, value):
    response = Actor(app, make, world.national).get(f"/api/v1/equipment?region_id={value}")
    assert response.status_code == 422
    assert set(field_errors(response)) == {"region_id"}
    page = text_of(Actor(app, make, world.national).get(f"/equipment?region_id={value}"))
    assert "Регион: " in page


def test_the_filter_form_keeps_a_chosen_sort_only(app, make, world):
    """The form's hidden sort: a default one would make every new search «chosen» and
    switch its ranking off."""
    engineer = Actor(app, make, world.eng_a)
    for url in ("/equipment", "/equipment?q=котел", "/equipment?sort=inventory_no"):
        form = re.search(
            r'<form method="get" class="filters".*?</form>', text_of(engineer.get(url)), re.S
        )
        assert 'name="sort"' not in form.group(0), url
    form = re.search(
        r'<form method="get" class="filters".*?</form>',
        text_of(engineer.get("/equipment?q=котел&sort=-wear")),
        re.S,
    )
    assert '<input type="hidden" name="sort" value="-wear">' in form.group(0)
