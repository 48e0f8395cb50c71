"""The registry pages as the UI review found them wanting: whose equipment a row is, sorting as
people read, numbers in Russian format, labels instead of codes, the card's history, empty
states, and a search that finds numbers however they are written."""

from __future__ import annotations

import html
import io
import re
from datetime import date

import pytest
from openpyxl import Workbook
from sqlalchemy import select, text, update

from accounts.models import Role
from core.db import bulk_insert
from core.extensions import db
from equipment.catalog import DeviceType, EquipmentStatus
from equipment.imports.batches import commit_batch, preview_batch
from equipment.imports.planner import ImportOptions
from equipment.models import Equipment


def page_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return html.unescape(response.get_data(as_text=True)).replace("\u00a0", " ")


def inventory(client, url: str) -> list[str]:
    page = client.get(url).get_data(as_text=True)
    return [chunk.split("</a>")[0].split(">")[-1] for chunk in page.split("<tr data-id=")[1:]]


def column(page: str, key: str) -> list[str]:
    """The cells of the list's column whose sort link has ``data-sort=key``."""
    header = re.search(r"<thead>(.*?)</thead>", page, re.S).group(1)
    titles = re.findall(r"<th[ >].*?</th>", header, re.S)
    index = next(i for i, th in enumerate(titles) if f'data-sort="{key}"' in th)
    out = []
    for row in re.findall(r"<tr data-id=.*?</tr>", page, re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        out.append(re.sub(r"<[^>]+>", " ", cells[index]).split())
    return [" ".join(c) for c in out]


# ---------------------------------------------------------------------------- whose it is


def test_one_organization_shows_no_organization_column(client, world, login_as):
    login_as(world.eng_a)
    page = page_of(client.get("/equipment"))
    assert 'data-sort="organization"' not in page
    assert 'name="organization_id"' not in page


@pytest.mark.parametrize(
    ("who", "orgs"),
    [
        ("admin", {"org_a", "org_b"}),
        ("national", {"org_a", "org_b"}),
        ("reg_kar", {"org_a", "org_b"}),
    ],
)
def test_who_sees_several_operators_sees_whose_each_row_is(client, world, login_as, who, orgs):
    login_as(getattr(world, who))
    page = page_of(client.get("/equipment"))
    names = {getattr(world, o).name for o in orgs}
    listed = re.search(r'<select name="organization_id".*?</select>', page, re.S).group(0)
    assert set(re.findall(r"<option value=\"\d+\"[^>]*>([^(<]+) \(", listed)) == names
    cells = column(page, "organization")
    assert {c.split(" БИН ")[0] for c in cells} == names
    assert all(re.search(r"БИН \d{12}$", c) for c in cells)


def test_a_regional_regulator_of_one_operator_sees_no_column(client, world, login_as):
    login_as(world.reg_pav)  # Pavlodar: org A's A-01 only
    assert 'data-sort="organization"' not in page_of(client.get("/equipment"))


def test_the_organization_filter_narrows_the_list(client, world, login_as):
    login_as(world.admin)
    assert inventory(client, f"/equipment?organization_id={world.org_b.id}") == ["B-INV-1"]
    # by name, descending: ТОО «Альфа» before АО «Бета», ties newest first
    assert inventory(client, "/equipment?sort=-organization") == ["A-INV-2", "A-INV-1", "B-INV-1"]
    assert inventory(client, "/equipment?sort=organization") == ["B-INV-1", "A-INV-1", "A-INV-2"]


def test_the_card_names_the_organization_with_its_bin(client, world, login_as):
    login_as(world.reg_kar)
    page = page_of(client.get(f"/equipment/{world.item_a2.id}"))
    shown = re.search(r'<dd id="organization">(.*?)</dd>', page, re.S).group(1)
    assert world.org_a.name in shown and world.org_a.bin in shown


# ---------------------------------------------------------------------------- sorting


@pytest.fixture
def typed(world, make):
    """Three types whose codes, English and Russian labels sort differently."""
    make.equipment(world.fac_a, "T-H", device_type=DeviceType.HOIST)  # Таль, лебёдка
    make.equipment(world.fac_a, "T-L", device_type=DeviceType.LIFT)  # Лифт
    make.equipment(world.fac_a, "T-P", device_type=DeviceType.PRESSURE_VESSEL)  # Сосуд
    return f"/equipment?facility_id={world.fac_a.id}&sort=device_type&q=t-"


def test_type_sorts_by_the_label_in_the_users_language(client, world, login_as, typed):
    login_as(world.eng_a)
    assert inventory(client, typed + "&lang=ru") == ["T-L", "T-P", "T-H"]
    assert inventory(client, typed + "&lang=en") == ["T-H", "T-L", "T-P"]
    assert inventory(client, typed.replace("sort=", "sort=-") + "&lang=ru") == ["T-H", "T-P", "T-L"]


def test_facility_sorts_by_its_code_not_its_id(client, world, make, login_as):
    early = make.facility(world.org_a, "A-00", name="Котельная новая")  # created last
    make.equipment(early, "A-INV-0")
    login_as(world.eng_a)
    assert inventory(client, "/equipment?sort=facility") == ["A-INV-0", "A-INV-1", "A-INV-2"]
    assert inventory(client, "/equipment?sort=-facility") == ["A-INV-2", "A-INV-1", "A-INV-0"]


@pytest.mark.parametrize("key", ["manufacture_year", "wear", "life_end", "commissioned_on"])
def test_empty_values_come_last_in_both_directions(client, world, make, login_as, key):
    make.equipment(
        world.fac_a, "A-EMPTY", commissioned_on=None, manufacture_year=None, service_life_years=None
    )
    make.equipment(world.fac_a, "A-NEW", commissioned_on=date(2020, 1, 1), manufacture_year=2019)
    login_as(world.eng_a)
    for sort in (key, "-" + key):
        listed = inventory(client, f"/equipment?sort={sort}")
        assert listed[-1] == "A-EMPTY", (sort, listed)
        assert len(listed) == 4


def test_status_is_a_sortable_column_in_life_cycle_order(client, world, make, login_as):
    make.equipment(world.fac_a, "A-CONS", status=EquipmentStatus.CONSERVED)
    make.equipment(world.fac_a, "A-SUSP", status=EquipmentStatus.SUSPENDED)
    login_as(world.eng_a)
    assert inventory(client, "/equipment?sort=status") == ["A-INV-1", "A-INV-2", "A-SUSP", "A-CONS"]
    page = page_of(client.get("/equipment?sort=-status"))
    assert column(page, "status") == [
        "На консервации",
        "Эксплуатация приостановлена",
        "В эксплуатации",
        "В эксплуатации",
    ]


def test_the_active_sort_header_says_its_direction(client, world, login_as):
    login_as(world.eng_a)
    page = page_of(client.get("/equipment?sort=-wear"))
    headers = re.findall(r"<th[^>]*>", page)
    assert [h for h in headers if "aria-sort" in h] == [
        '<th class="num col-wear" aria-sort="descending">'
    ]


def test_the_api_shares_the_sorting(app, world, make, typed):
    client = app.test_client()
    headers = {"Authorization": f"Bearer {make.token(world.eng_a)}", "Accept-Language": "ru"}
    body = client.get("/api/v1/equipment?sort=device_type&q=t-", headers=headers).get_json()
    assert [i["inventory_no"] for i in body["items"]] == ["T-L", "T-P", "T-H"]


# ---------------------------------------------------------------------------- labels, numbers


def test_bad_list_arguments_are_explained_with_labels_not_codes(client, world, login_as):
    login_as(world.eng_a)
    page = page_of(client.get("/equipment?band=purple&sort=colour&flag=odd&device_type=rocket"))
    flashes = " ".join(re.findall(r'<div class="flash error"[^>]*>(.*?)</div>', page, re.S))
    assert "«purple»" in flashes and "«colour»" in flashes and "«odd»" in flashes
    for label in ("Хорошее", "Инв. №", "Наименование", "Критический износ", "Паровой котёл"):
        assert label in flashes, label
    for code in ("good, satisfactory", "inventory_no", "critical, warning", "steam_boiler"):
        assert code not in flashes, code


def test_users_page_names_roles_in_russian(client, world, login_as):
    login_as(world.admin)
    page = page_of(client.get("/users"))
    for label in ("Инженер", "Инспектор", "Администратор"):
        assert f"<td>{label}</td>" in page
    assert "<td>engineer</td>" not in page and "<td>regulator</td>" not in page


@pytest.fixture
def thousand(world, make):
    """1,000 more items of org A in facility A-01 (written directly: no wear curve)."""
    rows = [
        {
            "organization_id": world.org_a.id,
            "facility_id": world.fac_a.id,
            "inventory_no": f"BULK-{i:04d}",
            "name": f"Сосуд {i}",
            "device_type": DeviceType.PRESSURE_VESSEL,
        }
        for i in range(1000)
    ]
    bulk_insert(db.session, Equipment, rows)
    db.session.commit()


def test_counts_are_grouped_in_the_russian_way(client, world, login_as, thousand):
    login_as(world.eng_a)
    assert "Найдено: 1 002" in page_of(client.get("/equipment"))
    home = page_of(client.get("/"))
    assert "1 002 ед. оборудования на 2 ОПО" in home
    assert re.search(r'data-band="unknown">.*?<div class="n">1 000</div>', home, re.S)
    facilities = page_of(client.get("/facilities"))
    assert '<td class="num">1 001</td>' in facilities
    assert "Страница 1 из 21" in page_of(client.get("/equipment"))


def test_the_wear_column_always_has_one_decimal(client, world, make, login_as):
    make.equipment(world.fac_a, "A-HALF", commissioned_on=date(2015, 1, 1), service_life_years=20)
    login_as(world.eng_a)
    wear = column(page_of(client.get("/equipment")), "wear")
    assert wear.count("100,0") == 2  # A-INV-1 and -2, worn out: not «100»
    assert all(re.fullmatch(r"\d+,\d", w) for w in wear), wear


def test_the_card_groups_the_load_cycles(client, world, make, login_as):
    item = make.equipment(world.fac_a, "A-CYC", cycle_limit=200000, cycle_count=29526)
    login_as(world.eng_a)
    page = page_of(client.get(f"/equipment/{item.id}"))
    assert "29 526 из 200 000" in page


# ---------------------------------------------------------------------------- badges


def test_flags_say_their_severity_by_more_than_colour(client, world, make, login_as):
    login_as(world.eng_a)
    page = page_of(client.get("/equipment"))
    flags = re.findall(
        r'<span class="flag flag-(strong|mild) flag-(\w+)"[^>]*title="([^"]+)"', page
    )
    kinds = {code: severity for severity, code, _title in flags}
    assert kinds["life_expired"] == kinds["must_plan"] == "strong"
    assert all(title for *_x, title in flags)  # the full label is the tooltip
    assert 'class="flag-mark" aria-hidden="true">!</span>' in page  # strong ones are marked


# ---------------------------------------------------------------------------- the card's history


def test_a_card_without_changes_says_so(client, world, login_as):
    login_as(world.eng_a)
    page = page_of(client.get(f"/equipment/{world.item_a.id}"))
    assert 'id="audit-empty"' in page and "Изменений пока нет." in page
    assert 'id="audit"' not in page


def _imported(world, app) -> int:
    book = Workbook()
    book.active.append(["ОПО", "Инв. №", "Наименование", "Тип"])
    book.active.append(["A-02", "A-FILE-1", "Сосуд из файла", "сосуд под давлением"])
    data = io.BytesIO()
    book.save(data)
    batch, _plan = preview_batch(
        db.session, world.eng_a, world.org_a, data.getvalue(), "список.xlsx", ImportOptions()
    )
    commit_batch(db.session, world.eng_a, batch, ImportOptions(), app.config["WEAR_THRESHOLDS"])
    db.session.commit()
    return batch.id


def test_an_imported_item_names_its_file_and_row(client, world, login_as, app):
    batch_id = _imported(world, app)
    item_id = db.session.scalar(select(Equipment.id).where(Equipment.inventory_no == "A-FILE-1"))
    login_as(world.eng_a)
    page = page_of(client.get(f"/equipment/{item_id}"))
    source = re.search(r'<div class="import-source">(.*?)</div>', page, re.S).group(1)
    assert re.sub(r"<[^>]+>", "", source).strip() == (
        "Создано при загрузке из Excel: файл «список.xlsx», строка 2"
    )
    assert f'href="/imports/{batch_id}"' in source
    assert "Строка загруженного файла" not in page and "— → 2" not in page
    client.post("/logout")
    login_as(world.reg_kar)  # sees the item (A-02 is in Karaganda), not org A's batches
    page = page_of(client.get(f"/equipment/{item_id}"))
    source = re.search(r'<div class="import-source">(.*?)</div>', page, re.S).group(1)
    assert "href" not in source and "список.xlsx" not in source
    assert "строка 2" in source


def test_changes_are_shown_with_labels_and_russian_dates(client, world, login_as):
    login_as(world.eng_a)
    form = {
        "facility_id": str(world.fac_a.id),
        "inventory_no": world.item_a.inventory_no,
        "name": world.item_a.name,
        "device_type": "tank",
        "manufacture_year": "1999",
        "commissioned_on": "15.03.2001",
        "service_life_years": "20",
        "service_life_source": "norm",
        "cycle_limit": "200 000",
        "status": "suspended",
    }
    assert client.post(f"/equipment/{world.item_a.id}/edit", data=form).status_code == 302
    page = page_of(client.get(f"/equipment/{world.item_a.id}"))
    history = re.search(r'<table id="audit">(.*?)</table>', page, re.S).group(1)
    plain = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", history))
    for shown in (
        "Паровой котёл → Резервуар",
        "01.01.2000 → 15.03.2001",
        "В эксплуатации → Эксплуатация приостановлена",
        "— → 200 000",
    ):
        assert shown in plain, (shown, plain)
    for code in ("steam_boiler", "2001-03-15", "in_service", "suspended"):
        assert code not in plain


# ---------------------------------------------------------------------------- empty states


@pytest.fixture
def newcomer(make):
    org = make.org("ТОО «Новая»", "180340021802", "ABY")
    return org, make.user("new@example.kz", Role.ENGINEER, org)


def test_an_empty_registry_offers_the_ways_to_fill_it(client, make, login_as, newcomer):
    org, engineer = newcomer
    login_as(engineer)
    page = page_of(client.get("/equipment"))
    assert "В реестре пока нет оборудования." in page
    assert "По заданным условиям ничего не найдено." not in page
    assert 'href="/imports"' in page and 'href="/facilities/new"' in page  # no facility yet
    home = page_of(client.get("/"))
    hint = re.search(r'<div class="hint" id="getting-started">(.*?)</div>', home, re.S).group(1)
    assert 'href="/facilities/new"' in hint and 'href="/imports"' in hint

    make.facility(org, "N-01")
    page = page_of(client.get("/equipment"))
    assert 'href="/equipment/new"' in page  # now there is somewhere to put equipment
    assert "ничего не найдено" in page_of(client.get("/equipment?q=котел"))  # a filter: as before


def test_a_regulator_with_nothing_to_see_gets_a_hint_not_zeros(client, make, login_as):
    regulator = make.user("reg.aby@example.kz", Role.REGULATOR, region="ABY")
    login_as(regulator)
    home = page_of(client.get("/"))
    assert 'id="getting-started"' in home and "инженеры загрузят" in home
    assert 'href="/facilities/new"' not in home


# ---------------------------------------------------------------------------- search


@pytest.fixture
def numbered(world, make):
    make.equipment(
        world.fac_a,
        "4626-Г",
        name="Сосуд воздушный",
        model="М-860",
        manufacturer="Бийский котельный завод",
    )


@pytest.mark.parametrize(
    "query",
    [
        "4626-Г",
        "4626г",
        "4626 Г",
        "4626/г",
        "4626.Г",
        "М-860",
        "м860",
        "м 860",
        "Бийский",
        "котельный",
    ],
)
def test_numbers_are_found_however_they_are_written(client, world, login_as, numbered, query):
    login_as(world.eng_a)
    assert inventory(client, f"/equipment?q={query}") == ["4626-Г"]


def test_word_search_still_matches_words_only(client, world, login_as, numbered):
    login_as(world.eng_a)
    assert inventory(client, "/equipment?q=сосуд воздушный") == ["4626-Г"]
    assert inventory(client, "/equipment?q=сосудвоздушный") == []  # words are not run together
    assert inventory(client, "/equipment?q=резервуар") == ["A-INV-2"]


def test_refresh_indicators_rewrites_the_search_text(client, world, login_as, numbered, runner):
    db.session.execute(update(Equipment).values(search_text=""))
    db.session.commit()
    login_as(world.eng_a)
    assert inventory(client, "/equipment?q=4626г") == []
    result = runner.invoke(args=["equipment", "refresh-indicators"])
    assert result.exit_code == 0, result.output
    assert inventory(client, "/equipment?q=4626г") == ["4626-Г"]
    assert inventory(client, "/equipment?q=бийский") == ["4626-Г"]


def test_the_data_migration_rewrites_existing_rows(app, world, numbered):
    """The revision that widened the search text rewrites the rows that exist when it runs
    (and its downgrade writes the former four-field text back)."""
    from flask_migrate import downgrade, upgrade

    def stored() -> str:
        return db.session.scalar(select(Equipment.search_text).where(Equipment.model == "М-860"))

    db.session.commit()
    db.session.remove()
    downgrade(revision="e56396b2a155")
    assert stored() == "4626-г\nсосуд воздушный\n\n"
    db.session.remove()
    upgrade()
    assert stored().startswith("4626-г\nсосуд воздушный\n\n\nм-860\nбийский котельный завод\n")
    assert "\n4626г" in stored() and "\nм860" in stored()
    assert db.session.execute(text("SELECT COUNT(*) FROM equipment")).scalar_one() == 4
