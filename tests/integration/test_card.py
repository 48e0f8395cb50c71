"""The equipment card explains each indicator by the rule and the record that gave it, in
Russian; inspections that cannot be right are refused next to the field; the dashboard and the
facilities page count what the list shows."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from core import clock
from core.extensions import db
from equipment.catalog import EquipmentStatus
from equipment.models import Inspection

TODAY = clock.today()


def explanation(client, item_id: int) -> list[str]:
    page = html.unescape(client.get(f"/equipment/{item_id}").get_data(as_text=True))
    block = page.split('id="explain"', 1)[1].split("</ul>", 1)[0]
    return [
        re.sub(r"\s+", " ", li).strip() for li in re.findall(r"<li[^>]*>(.*?)</li>", block, re.S)
    ]


def add_inspection(client, item_id: int, **form):
    return client.post(f"/equipment/{item_id}/inspections/new", data=form)


def test_an_extended_life_is_explained_by_the_expertise(client, world, login_as):
    login_as(world.eng_a)  # A-INV-1: commissioned 01.01.2000, 20-year life, ended 01.01.2020
    done = TODAY - timedelta(days=30)
    until = TODAY + timedelta(days=3 * 365)
    response = add_inspection(
        client,
        world.item_a.id,
        kind="expertise",
        done_on=done.isoformat(),
        result="extended",
        extended_until=until.isoformat(),
        document_no="ЭПБ-2026-456",
    )
    assert response.status_code == 302, response.get_data(as_text=True)[-1500:]
    lines = explanation(client, world.item_a.id)
    assert (
        "Нормативный срок службы истёк 01.01.2020: 20 лет с ввода в эксплуатацию 01.01.2000."
        in lines
    )
    assert (
        f"Экспертиза промышленной безопасности № ЭПБ-2026-456 от {done:%d.%m.%Y} продлила срок "
        f"службы до {until:%d.%m.%Y}." in lines
    )
    assert not any("правило для устройств без установленного срока" in line for line in lines)


def test_a_refusal_keeps_the_normative_life_end_and_says_use_is_not_allowed(
    client, world, login_as
):
    login_as(world.eng_a)
    done = TODAY - timedelta(days=3)
    response = add_inspection(
        client,
        world.item_a.id,
        kind="expertise",
        done_on=done.isoformat(),
        result="refused",
        document_no="ЭПБ-9",
    )
    assert response.status_code == 302
    lines = explanation(client, world.item_a.id)
    assert any(line.startswith("Нормативный срок службы истёк 01.01.2020") for line in lines)
    assert any(
        line.startswith(
            f"Экспертиза промышленной безопасности № ЭПБ-9 от {done:%d.%m.%Y} не "
            "допустила дальнейшую эксплуатацию"
        )
        for line in lines
    )
    plan = [line for line in lines if line.startswith("Требует включения в план обновления")]
    assert plan and "по заключению ЭПБ дальнейшая эксплуатация не допускается" in plan[0]
    listed = html.unescape(client.get("/equipment").get_data(as_text=True))
    assert "01.01.2020" in listed  # the list's life end is the normative one, not the refusal


def test_a_failed_examination_makes_the_inspection_overdue_at_once(client, world, login_as):
    login_as(world.eng_a)
    done = TODAY - timedelta(days=2)
    response = add_inspection(
        client,
        world.item_a.id,
        kind="examination",
        done_on=done.isoformat(),
        result="failed",
        next_due_on=(done + timedelta(days=365)).isoformat(),
    )
    assert response.status_code == 302
    lines = explanation(client, world.item_a.id)
    assert any("результат «не пройдено» — эксплуатация не допускается" in line for line in lines)
    listed = client.get("/equipment?flag=inspection_overdue").get_data(as_text=True)
    assert "A-INV-1" in listed


def test_an_extension_date_with_another_result_is_refused_not_dropped(client, world, login_as):
    login_as(world.eng_a)
    response = add_inspection(
        client,
        world.item_a.id,
        kind="expertise",
        done_on=(TODAY - timedelta(days=1)).isoformat(),
        result="passed",
        extended_until=(TODAY + timedelta(days=700)).isoformat(),
    )
    assert response.status_code == 400
    page = html.unescape(response.get_data(as_text=True))
    assert 'id="extended_until-error"' in page
    assert "Дата продления указывается только при результате «Срок службы продлён»" in page
    assert db.session.query(Inspection).count() == 0


def test_a_next_date_a_century_ahead_is_refused(client, world, login_as, make):
    login_as(world.eng_a)
    response = add_inspection(
        client,
        world.item_a.id,
        kind="examination",
        done_on=(TODAY - timedelta(days=1)).isoformat(),
        result="passed",
        next_due_on="2100-01-01",
    )
    assert response.status_code == 400
    assert "Не позднее чем через 20 лет" in html.unescape(response.get_data(as_text=True))
    token = make.token(world.eng_a)
    api = client.post(
        f"/api/v1/equipment/{world.item_a.id}/inspections",
        json={
            "kind": "examination",
            "done_on": (TODAY - timedelta(days=1)).isoformat(),
            "result": "passed",
            "next_due_on": "2100-01-01",
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    assert api.status_code == 422 and "next_due_on" in api.get_json()["errors"]["json"]
    assert db.session.query(Inspection).count() == 0


def test_counts_leave_out_decommissioned_items_as_the_list_does(client, world, make, login_as):
    make.equipment(world.fac_a, "A-OLD", status=EquipmentStatus.DECOMMISSIONED)
    make.equipment(world.fac_a, "A-STOP", status=EquipmentStatus.SUSPENDED)
    login_as(world.eng_a)
    facilities = html.unescape(client.get("/facilities").get_data(as_text=True))
    row = next(r for r in facilities.split("<tr")[1:] if "A-01" in r)
    assert re.search(r">\s*2\s*<", row), row  # A-INV-1 and A-STOP, not A-OLD
    home = html.unescape(client.get("/").get_data(as_text=True))
    totals = re.sub(r"\s+", " ", home.split('id="totals">', 1)[1].split("</p>", 1)[0])
    assert "в реестре 3 ед. оборудования на 2 ОПО (без выведенных из эксплуатации)" in totals
    assert "из них в работе — 2" in totals
