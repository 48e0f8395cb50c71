"""Imports that cannot destroy the registry by one click: decommissioning the items a file does
not list needs their number as a second confirmation (page, API, CLI), a committed batch can be
reverted while nothing it touched has changed since, and a previewed one can be discarded.
Every test reads what the database holds afterwards."""

from __future__ import annotations

import html
import json
import re
import threading
from datetime import date

import pytest
from flask import current_app
from sqlalchemy import func, select

from core.audit import AuditEvent
from core.extensions import db
from equipment.catalog import (
    AssessmentMethod,
    EquipmentStatus,
    InspectionKind,
    InspectionResult,
)
from equipment.imports.models import ImportBatch
from equipment.imports.planner import ImportOptions
from equipment.imports.refused import DecommissionNotConfirmed, ImportRefused
from equipment.imports.revert import RevertRefused, revert_batch
from equipment.models import ConditionAssessment, Equipment, Facility, Inspection
from equipment.services import refresh_curves
from tests.helpers.db_state import changed_tables, db_state
from tests.helpers.imports import (
    COLUMNS,
    STALE,
    api_upload,
    commit,
    preview,
    row,
    thresholds,
    xlsx,
)

ORG_BIN = "040540526019"
EXAMS = ["Дата последнего освидетельствования", "Дата следующего освидетельствования"]
HEADER = [*COLUMNS, *EXAMS]


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def registry() -> dict:
    """Every row and column of the registry's tables, on a connection of its own; the items
    without ``updated_at`` (the revert writes the rows, and says when in the audit trail)."""
    out = {}
    with db.engine.connect() as conn:
        for model in (Equipment, Facility, ConditionAssessment, Inspection):
            table = model.__table__
            columns = [c for c in table.columns if c.name != "updated_at"]
            rows = conn.execute(select(*columns).order_by(table.c.id))
            out[table.name] = {r.id: r._asdict() for r in rows}
    return out


def status_of(batch_id: int) -> str:
    db.session.expire_all()
    return db.session.get(ImportBatch, batch_id).status


@pytest.fixture
def fleet(world, make):
    """Org A's facility A-01 with K-1 .. K-3 (K-2 with an examination on record, K-3
    suspended) besides world's A-INV-1, and K-7 in A-02; wear curves as the app computes them."""
    fac = world.fac_a
    make.equipment(fac, "K-1", name="Котел К-1")
    k2 = make.equipment(fac, "K-2", name="Котел К-2")
    db.session.add(
        Inspection(
            equipment_id=k2.id,
            kind=InspectionKind.EXAMINATION,
            done_on=date(2022, 5, 1),
            next_due_on=date(2026, 5, 1),
            result=InspectionResult.PASSED,
        )
    )
    make.equipment(fac, "K-3", name="Котел К-3", status=EquipmentStatus.SUSPENDED)
    make.equipment(world.fac_a2, "K-7", name="Котел К-7")
    refresh_curves(db.session, None, thresholds())
    db.session.commit()
    return world


def the_file() -> bytes:
    """Updates K-1 (name, wear, a new examination), moves K-2's next examination, moves K-7
    into A-01, creates K-5 and K-6 (in a new facility A-09); K-3 and A-INV-1 are not listed."""
    return xlsx(
        [
            [*row("A-01", "K-1", "Котел К-1 после ремонта", wear=61.0), "01.03.2024", "01.03.2028"],
            [*row("A-01", "K-2", "Котел К-2", wear=None), "01.05.2022", "01.05.2027"],
            [*row("A-01", "K-7", "Котел К-7", wear=None), None, None],
            [*row("A-01", "K-5", "Котел новый К-5", wear=35.0), "01.02.2025", "01.02.2029"],
            [*row("A-09", "K-6", "Сосуд новый К-6", "сосуд под давлением"), None, None],
        ],
        header=HEADER,
    )


def committed(world, **options) -> ImportBatch:
    batch, plan = preview(world.org_a, the_file(), "k.xlsx", world.eng_a)
    assert plan.counts()["missing"] == 2
    commit(
        batch,
        world.eng_a,
        create_facilities=True,
        decommission_missing=True,
        confirm_decommission=2,
        **options,
    )
    return batch


def api(client, token, method, url, **kw):
    return client.open(url, method=method, headers={"Authorization": f"Bearer {token}"}, **kw)


# ---------------------------------------------------------------------------- the danger block


def test_the_preview_shows_the_danger_block_apart_from_the_harmless_options(
    fleet, client, login_as
):
    login_as(fleet.eng_a)
    batch, _plan = preview(fleet.org_a, the_file(), "k.xlsx", fleet.eng_a)
    page = text_of(client.get(f"/imports/{batch.id}"))
    form = page[page.index('id="commit-form"') : page.index("</form>", page.index("commit-form"))]
    assert 'name="decommission_missing"' not in form  # no longer a checkbox among the others
    start = page.index('id="decommission"')
    block = page[start : page.index("</section>", start)]
    assert "В реестре, но нет в файле: 2 ед." in block
    assert 'data-facility="A-01"' in block and "K-3 — Котел К-3" in block
    assert "A-INV-1 — Котел ДЕ-25 Альфа" in block
    assert re.search(r'<button type="submit" class="danger"[^>]*name="decommission_missing"', block)
    assert "Загрузить и вывести из эксплуатации 2 ед." in block
    assert 'name="confirm_decommission"' in block and 'form="commit-form"' in block
    assert "показаны" not in block  # the whole list is shown


def test_a_cut_list_says_how_many_are_shown(world, make, client, login_as):
    for i in range(503):
        make.equipment(world.fac_a, f"Z-{i:03d}")
    login_as(world.eng_a)
    batch, plan = preview(world.org_a, xlsx([row("A-01", "NEW-1", "Котел")]), "z.xlsx")
    assert plan.counts()["missing"] == 504
    page = text_of(client.get(f"/imports/{batch.id}"))
    start = page.index('id="decommission"')
    block = page[start : page.index("</section>", start)]
    assert "показаны 500 из 504" in block
    assert block.count("<li>") == 500


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        (None, "введите их число — 2 —"),
        ("", "введите их число — 2 —"),
        ("два", "введите их число — 2 —"),
        ("3", "в подтверждении указано 3, а загрузка выведет из эксплуатации 2 ед."),
    ],
)
def test_the_page_refuses_a_decommission_without_the_right_number(
    fleet, client, login_as, typed, message
):
    login_as(fleet.eng_a)
    batch, _plan = preview(fleet.org_a, the_file(), "k.xlsx", fleet.eng_a)
    before = db_state()
    form = {"create_facilities": "1", "decommission_missing": "1"}
    if typed is not None:
        form["confirm_decommission"] = typed
    response = client.post(f"/imports/{batch.id}/commit", data=form)
    assert response.status_code == 302
    assert message in text_of(client.get(response.headers["Location"]))
    assert changed_tables(before, db_state()) == []
    assert status_of(batch.id) == "previewed"


def test_the_page_decommissions_with_the_right_number(fleet, client, login_as):
    login_as(fleet.eng_a)
    batch, _plan = preview(fleet.org_a, the_file(), "k.xlsx", fleet.eng_a)
    form = {"create_facilities": "1", "decommission_missing": "1", "confirm_decommission": " 2 "}
    response = client.post(f"/imports/{batch.id}/commit", data=form)
    page = text_of(client.get(response.headers["Location"]))
    assert "Внесено в реестр" in page, page[:3000]
    assert status_of(batch.id) == "committed"
    statuses = dict(db.session.execute(select(Equipment.inventory_no, Equipment.status)).all())
    assert statuses["K-3"] == statuses["A-INV-1"] == EquipmentStatus.DECOMMISSIONED
    assert statuses["K-1"] == EquipmentStatus.IN_SERVICE


def test_the_plain_load_keeps_the_missing_items_even_with_a_number_typed(fleet, client, login_as):
    login_as(fleet.eng_a)
    batch, _plan = preview(fleet.org_a, the_file(), "k.xlsx", fleet.eng_a)
    form = {"create_facilities": "1", "confirm_decommission": "2"}  # the other button
    client.post(f"/imports/{batch.id}/commit", data=form)
    assert status_of(batch.id) == "committed"
    assert count(Equipment, Equipment.status == EquipmentStatus.DECOMMISSIONED) == 0


def test_the_api_commit_needs_the_number(fleet, client, make):
    token = make.token(fleet.eng_a)
    report = api_upload(client, token, the_file()).get_json()
    assert report["missing"] == 2
    url = f"/api/v1/imports/{report['id']}/commit"
    before = db_state()
    for extra in ({}, {"confirm_decommission": None}, {"confirm_decommission": 3}):
        body = {"create_facilities": True, "decommission_missing": True, **extra}
        refused = api(client, token, "POST", url, json=body)
        assert refused.status_code == 422, (extra, refused.get_json())
        errors = refused.get_json()["errors"]["json"]
        assert list(errors) == ["confirm_decommission"]
        assert "confirm_decommission = 2" in errors["confirm_decommission"][0]
        assert changed_tables(before, db_state()) == []
    done = api(
        client,
        token,
        "POST",
        url,
        json={"create_facilities": True, "decommission_missing": True, "confirm_decommission": 2},
    )
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["decommissioned"] == 2


def test_the_api_one_shot_upload_needs_the_number(fleet, client, make):
    token = make.token(fleet.eng_a)
    options = {"dry_run": "false", "create_facilities": "true", "decommission_missing": "true"}
    before = db_state()
    for extra in ({}, {"confirm_decommission": "1"}):
        refused = api_upload(client, token, the_file(), **options, **extra)
        assert refused.status_code == 422, refused.get_json()
        message = refused.get_json()["errors"]["json"]["confirm_decommission"][0]
        assert "confirm_decommission = 2" in message
    assert changed_tables(before, db_state()) == []
    bad = api_upload(client, token, the_file(), **options, confirm_decommission="two")
    assert bad.status_code == 422 and "confirm_decommission" in bad.get_json()["errors"]["json"]
    done = api_upload(client, token, the_file(), **options, confirm_decommission="2")
    assert done.status_code == 201, done.get_json()
    assert done.get_json()["decommissioned"] == 2


def test_the_cli_needs_the_number(fleet, runner, tmp_path):
    path = tmp_path / "k.xlsx"
    path.write_bytes(the_file())
    args = ["equipment", "import", str(path), "--org", ORG_BIN, "--create-facilities"]
    args += ["--decommission-missing"]
    before = db_state()
    for extra in ([], ["--confirm-decommission", "5"]):
        result = runner.invoke(args=args + extra)
        assert result.exit_code == 2, result.output
        assert "--confirm-decommission 2" in result.output
    assert changed_tables(before, db_state()) == []
    result = runner.invoke(args=[*args, "--confirm-decommission", "2", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["decommissioned"] == 2


def test_a_registry_changed_since_the_preview_refuses_the_confirmed_number(fleet, make):
    batch, _plan = preview(fleet.org_a, the_file(), "k.xlsx", fleet.eng_a)
    make.equipment(fleet.fac_a, "K-8")  # a third item the file does not list
    before = db_state()
    for confirmed in (2, 3):
        with pytest.raises(ImportRefused) as refused:
            commit(
                batch,
                fleet.eng_a,
                create_facilities=True,
                decommission_missing=True,
                confirm_decommission=confirmed,
            )
        assert STALE in refused.value.message
    assert changed_tables(before, db_state()) == []


def test_the_check_itself_counts_what_the_plan_decommissions(fleet):
    from equipment.imports.apply import check_can_apply

    _batch, plan = preview(fleet.org_a, the_file(), "k.xlsx", fleet.eng_a)
    options = ImportOptions(create_facilities=True, decommission_missing=True)
    with pytest.raises(DecommissionNotConfirmed) as refused:
        check_can_apply(plan, options)
    assert refused.value.expected == 2 and refused.value.given is None
    options.confirm_decommission = 2
    check_can_apply(plan, options)


# ---------------------------------------------------------------------------- revert


def test_revert_restores_the_registry_exactly(fleet, client, login_as):
    before = registry()
    batch = committed(fleet)
    loaded = registry()
    names = {r["inventory_no"]: r for r in loaded["equipment"].values()}
    assert {"K-5", "K-6"} <= set(names) and names["K-1"]["name"] == "Котел К-1 после ремонта"
    assert names["K-3"]["status"] == EquipmentStatus.DECOMMISSIONED
    assert names["K-7"]["facility_id"] == fleet.fac_a.id
    assert any(f["code"] == "A-09" for f in loaded["facilities"].values())
    moved = [i for i in loaded["inspections"].values() if i["next_due_on"] == date(2027, 5, 1)]
    assert len(moved) == 1

    login_as(fleet.eng_a)
    response = client.post(f"/imports/{batch.id}/revert", data={"confirm": "1"})
    page = text_of(client.get(response.headers["Location"]))
    assert "Загрузка отменена: удалено устройств — 2, восстановлено — 3" in page
    assert status_of(batch.id) == "reverted"

    after = registry()
    for table in before:
        assert set(after[table]) == set(before[table]), table
        for row_id, values in before[table].items():
            assert after[table][row_id] == values, (table, values["id"])

    # the trail: the batch's events stay, the revert's chain from them
    events = db.session.execute(
        select(AuditEvent).where(AuditEvent.action.like("import_revert%")).order_by(AuditEvent.id)
    ).scalars()
    by_item = {(e.entity_type, e.entity_id): e for e in events}
    k1 = next(i for i, r in before["equipment"].items() if r["inventory_no"] == "K-1")
    given_back = by_item[("equipment", k1)].changes
    assert given_back["name"] == ["Котел К-1 после ремонта", "Котел К-1"]
    assert given_back["import_batch"] == [None, batch.id]
    k3 = next(i for i, r in before["equipment"].items() if r["inventory_no"] == "K-3")
    assert by_item[("equipment", k3)].changes["status"] == ["decommissioned", "suspended"]
    k5 = next(i for i, r in loaded["equipment"].items() if r["inventory_no"] == "K-5")
    assert by_item[("equipment", k5)].action == "import_revert_delete"
    assert by_item[("equipment", k5)].changes["inventory_no"] == ["K-5", None]
    assert by_item[("import_batches", batch.id)].actor_email == fleet.eng_a.email
    assert count(AuditEvent, AuditEvent.action == "import_create") >= 3

    # the page says so, the list shows the state, and a second revert is refused
    assert "Отменена" in page and 'id="revert"' not in page
    assert "отменена" in text_of(client.get("/imports"))
    again = client.post(f"/imports/{batch.id}/revert", data={"confirm": "1"})
    assert "только один раз" in text_of(client.get(again.headers["Location"]))
    assert registry() == after


def test_revert_needs_its_confirmation(fleet, client, login_as):
    batch = committed(fleet)
    login_as(fleet.eng_a)
    page = text_of(client.get(f"/imports/{batch.id}"))
    block = page[page.index('id="revert"') :]
    assert 'class="danger"' in block and 'name="confirm"' in block
    before = db_state()
    response = client.post(f"/imports/{batch.id}/revert", data={})
    assert "Отметьте подтверждение" in text_of(client.get(response.headers["Location"]))
    assert changed_tables(before, db_state()) == []


def test_revert_is_refused_and_changes_nothing_after_an_edit(fleet, client, make):
    batch = committed(fleet)
    token = make.token(fleet.eng_a)
    k1 = db.session.execute(select(Equipment).where(Equipment.inventory_no == "K-1")).scalar_one()
    edited = api(client, token, "PATCH", f"/api/v1/equipment/{k1.id}", json={"model": "ДЕ-25"})
    assert edited.status_code == 200, edited.get_json()
    before = db_state()

    refused = api(client, token, "POST", f"/api/v1/imports/{batch.id}/revert")
    assert refused.status_code == 409, refused.get_json()
    body = refused.get_json()
    assert "нельзя отменить" in body["message"]
    assert [(c["item"], c["fields"], c["by"]) for c in body["changes"]] == [
        ("K-1 — Котел К-1 после ремонта", ["model"], fleet.eng_a.email)
    ]
    assert body["changes"][0]["at"]
    assert changed_tables(before, db_state()) == []
    assert status_of(batch.id) == "committed"


def test_the_page_lists_what_changed_and_refuses(fleet, client, login_as, make):
    batch = committed(fleet)
    from equipment.services import add_assessment

    k5 = db.session.execute(select(Equipment).where(Equipment.inventory_no == "K-5")).scalar_one()
    add_assessment(
        db.session,
        fleet.eng_a,
        k5,
        {"wear_pct": 40.0, "assessed_on": date(2026, 1, 10), "method": AssessmentMethod.EXPERT},
        thresholds(),
    )
    db.session.commit()
    login_as(fleet.eng_a)
    before = db_state()
    response = client.post(f"/imports/{batch.id}/revert", data={"confirm": "1"})
    assert response.status_code == 409
    page = text_of(response)
    table = page[page.index('id="revert-blockers"') : page.index("</table>")]
    assert "K-5 — Котел новый К-5" in table and "Добавлена оценка технического состояния" in table
    assert fleet.eng_a.email in table
    assert changed_tables(before, db_state()) == []


def test_an_item_added_to_a_facility_the_batch_created_blocks_the_revert(fleet, make):
    batch = committed(fleet)
    a09 = db.session.execute(select(Facility).where(Facility.code == "A-09")).scalar_one()
    make.equipment(a09, "K-9", name="Добавлен вручную")
    with pytest.raises(RevertRefused) as refused:
        revert_batch(db.session, fleet.eng_a, batch, thresholds())
    db.session.rollback()
    assert [b.label for b in refused.value.blockers] == ["K-9 — Добавлен вручную"]
    assert status_of(batch.id) == "committed"


@pytest.mark.parametrize(("who", "code"), [("national", 403), ("reg_pav", 404), ("eng_b", 404)])
def test_others_cannot_revert_or_discard(fleet, client, make, login_as, who, code):
    batch = committed(fleet)
    previewed, _plan = preview(fleet.org_a, the_file(), "k2.xlsx", fleet.eng_a)
    user = getattr(fleet, who)
    token = make.token(user)
    page_client = login_as(user)  # its session is a row too: logged in before the snapshot
    before = db_state()
    assert api(client, token, "POST", f"/api/v1/imports/{batch.id}/revert").status_code == code
    assert api(client, token, "POST", f"/api/v1/imports/{previewed.id}/discard").status_code == (
        code
    )
    page = page_client.post(f"/imports/{batch.id}/revert", data={"confirm": "1"})
    assert page.status_code == code
    discard = page_client.post(f"/imports/{previewed.id}/discard", data={"confirm": "1"})
    assert discard.status_code == code
    if code == 403:
        assert 'id="revert"' not in text_of(page_client.get(f"/imports/{batch.id}"))
    assert changed_tables(before, db_state()) == []


def test_an_administrator_reverts_through_the_api(fleet, client, make):
    before = registry()
    batch = committed(fleet)
    token = make.token(fleet.admin)
    done = api(client, token, "POST", f"/api/v1/imports/{batch.id}/revert")
    assert done.status_code == 200, done.get_json()
    body = done.get_json()
    assert body["status"] == "reverted" and body["id"] == batch.id
    assert body["reverted"] == {
        "removed": 2,
        "restored": 3,
        "recommissioned": 2,
        "facilities_removed": 1,
    }
    assert registry() == before
    again = api(client, token, "POST", f"/api/v1/imports/{batch.id}/revert")
    assert again.status_code == 409 and again.get_json()["changes"] == []


# ---------------------------------------------------------------------------- discard


def test_only_a_previewed_batch_can_be_discarded(fleet, client, login_as, make):
    batch, _plan = preview(fleet.org_a, the_file(), "k.xlsx", fleet.eng_a)
    login_as(fleet.eng_a)
    page = text_of(client.get(f"/imports/{batch.id}"))
    assert 'id="discard"' in page and 'id="revert"' not in page
    before = db_state()
    response = client.post(f"/imports/{batch.id}/discard", data={"confirm": "1"})
    assert "Файл удалён" in text_of(client.get(response.headers["Location"]))
    changed = changed_tables(before, db_state())
    assert changed == ["import_batches"]
    db.session.expire_all()
    stored = db.session.get(ImportBatch, batch.id)
    assert stored.status == "discarded" and stored.content == b"" and stored.parsed is None
    page = text_of(client.get(f"/imports/{batch.id}"))
    assert 'id="commit-form"' not in page and 'id="discard"' not in page
    assert "удалена без загрузки" in text_of(client.get("/imports"))
    file = client.get(f"/imports/{batch.id}/file")
    assert "больше не хранится" in text_of(client.get(file.headers["Location"]))

    # it cannot be committed or discarded again
    token = make.token(fleet.eng_a)
    assert api(client, token, "POST", f"/api/v1/imports/{batch.id}/commit").status_code == 409
    assert api(client, token, "POST", f"/api/v1/imports/{batch.id}/discard").status_code == 409
    # nor can a committed batch be discarded, nor a previewed one reverted
    loaded = committed(fleet)
    assert api(client, token, "POST", f"/api/v1/imports/{loaded.id}/discard").status_code == 409
    fresh = api_upload(client, token, the_file()).get_json()
    assert api(client, token, "POST", f"/api/v1/imports/{fresh['id']}/revert").status_code == 409
    done = api(client, token, "POST", f"/api/v1/imports/{fresh['id']}/discard")
    assert done.status_code == 200 and done.get_json()["status"] == "discarded"


# ---------------------------------------------------------------------------- the race


def _revert_in_own_context(app, batch_id: int, barrier: threading.Barrier) -> str:
    with app.app_context():
        try:
            batch = db.session.get(ImportBatch, batch_id)
            barrier.wait(timeout=30)
            try:
                revert_batch(db.session, None, batch, app.config["WEAR_THRESHOLDS"])
                db.session.commit()
            except RevertRefused as refused:
                db.session.rollback()
                return refused.message
            return "reverted"
        finally:
            db.session.remove()


def test_two_reverts_at_once_have_exactly_one_winner(fleet):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("two transactions writing at once need PostgreSQL (TEST_DATABASE_URL)")
    before = registry()
    batch_id = committed(fleet).id
    app = current_app._get_current_object()
    barrier = threading.Barrier(2)
    outcomes = ["", ""]

    def run(i):
        outcomes[i] = _revert_in_own_context(app, batch_id, barrier)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(outcomes) == sorted(
        ["reverted", "Отменить можно только внесённую в реестр загрузку, и только один раз."]
    ), outcomes
    assert registry() == before
    assert status_of(batch_id) == "reverted"
    assert count(AuditEvent, AuditEvent.entity_type == "import_batches") == 1
