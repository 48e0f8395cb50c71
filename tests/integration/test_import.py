"""Excel import of asset lists on the real database, through the service, the pages, the API
and the CLI: the sample files, upserts with field-level changes, all-or-nothing commits, stale
previews, invalid rows, new facilities, missing items, column mapping, the failed-rows workbook,
access rules and bad files. Every test asserts on what the database holds afterwards.

The sample lists are in tests/samples (copies of the team's shared samples; OPO_SAMPLES_DIR
overrides); tests that need them skip locally when they are missing (a failure under CI)."""

from __future__ import annotations

import hashlib
import html
import io
import json
import random
import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from core.audit import AuditEvent
from core.extensions import db
from equipment.catalog import AssessmentMethod, DeviceType, EquipmentStatus, InspectionKind
from equipment.imports import apply, batches
from equipment.imports.excel import FileRejected
from equipment.imports.models import ColumnMapping, ImportBatch
from equipment.imports.refused import ImportRefused
from equipment.models import ConditionAssessment, Equipment, Facility, Inspection
from equipment.services import refresh_curves
from tests.helpers.imports import (
    CLEAN,
    COLUMNS,
    ENGLISH,
    ONE_C,
    SAMPLE_FACILITIES,
    SAMPLES,
    STALE,
    api_upload,
    commit,
    load,
    make_token,
    preview,
    row,
    sample,
    save,
    upload,
    xlsx,
)

ORG_BIN = "040540526019"
# column of the facility code in the samples that have one (0-based)
FACILITY_COLUMN = {CLEAN: 13, ENGLISH: 12}
INVENTORY_COLUMN = {CLEAN: 0, ONE_C: 1, ENGLISH: 0}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

ALREADY = "Этот файл уже загружен"


# ---------------------------------------------------------------------------- helpers


def expected(name: str) -> dict:
    return json.loads((SAMPLES / f"{name}.expected.json").read_text(encoding="utf-8"))


def edited(data: bytes, changes: dict[str, object]) -> bytes:
    """The workbook with some cells changed: {"B7": value}."""
    book = load_workbook(io.BytesIO(data))
    sheet = book.worksheets[0]
    for ref, value in changes.items():
        sheet[ref] = value
    return save(book)


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def item(inventory_no: str) -> Equipment | None:
    db.session.expire_all()
    return db.session.execute(
        select(Equipment).where(Equipment.inventory_no == inventory_no)
    ).scalar_one_or_none()


def latest_wear(equipment_id: int) -> float | None:
    return db.session.scalar(
        select(ConditionAssessment.wear_pct)
        .where(ConditionAssessment.equipment_id == equipment_id)
        .order_by(ConditionAssessment.assessed_on.desc(), ConditionAssessment.id.desc())
        .limit(1)
    )


def state() -> dict:
    """Everything an import may touch, to prove that nothing changed."""
    db.session.expire_all()
    items = db.session.execute(select(Equipment).order_by(Equipment.inventory_no)).scalars()
    return {
        "equipment": [
            (
                i.inventory_no,
                i.name,
                i.facility_id,
                i.status.value,
                i.service_life_years,
                i.commissioned_on,
            )
            for i in items
        ],
        "facilities": sorted(db.session.execute(select(Facility.code)).scalars()),
        "assessments": count(ConditionAssessment),
        "inspections": count(Inspection),
        "audit": count(AuditEvent),
        "committed": count(ImportBatch, ImportBatch.status == "committed"),
        "mappings": count(ColumnMapping),
    }


def batch_id_from(response) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    match = re.search(r"/imports/(\d+)$", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match[1])


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def page_counts(page: str) -> dict[str, int]:
    found = re.findall(r'data-count="(\w+)"><div>[^<]*</div><div class="n">(\d+)</div>', page)
    return {key: int(value) for key, value in found}


def api_commit(client, token: str, batch_id: int, body: dict | None = None):
    return client.post(
        f"/api/v1/imports/{batch_id}/commit",
        json=body or {},
        headers={"Authorization": f"Bearer {token}"},
    )


def facility_codes() -> dict[str, str]:
    """inventory number -> facility code, for every item in the registry."""
    db.session.expire_all()
    return dict(
        db.session.execute(
            select(Equipment.inventory_no, Facility.code).join(
                Facility, Facility.id == Equipment.facility_id
            )
        ).all()
    )


def one_c_groups(by_row: bool = False) -> dict:
    """inventory number (or Excel row) -> facility code from the group rows («ОПО: name») of
    the 1C sample."""
    by_name = {name: code for code, name in SAMPLE_FACILITIES.items()}
    sheet = load_workbook(io.BytesIO(sample(ONE_C)), read_only=True).worksheets[0]
    group, out = None, {}
    for number, values in enumerate(sheet.iter_rows(min_row=7, values_only=True), start=7):
        first = values[0]
        if isinstance(first, str) and first.startswith("ОПО:"):
            group = by_name[first.split(":", 1)[1].strip()]
        elif group and isinstance(values[0], int):
            if by_row:
                out[number] = group
            elif values[1]:
                out.setdefault(str(values[1]), group)
    return out


@dataclass
class Site:
    org: object
    fac: dict[str, Facility]
    eng: object
    world: object


@pytest.fixture
def site(world, make) -> Site:
    """World's org A (BIN 040540526019) with the facilities OPO-01..OPO-05 of the samples."""
    facilities = {
        code: make.facility(world.org_a, code, name=name)
        for code, name in SAMPLE_FACILITIES.items()
    }
    return Site(org=world.org_a, fac=facilities, eng=world.eng_a, world=world)


# ---------------------------------------------------------------------------- samples


@pytest.mark.parametrize("name", [CLEAN, ONE_C, ENGLISH])
def test_sample_files_give_the_expected_counts(site, name):
    want = expected(name)
    assert want["organization_bin"] == site.org.bin == ORG_BIN
    data = sample(name)
    batch, plan = preview(site.org, data, f"{name}.xlsx", site.eng)
    counts = plan.counts()
    assert counts["rows"] == want["rows"]
    assert counts["invalid"] == want["invalid"]
    assert counts["created"] == want["valid"]
    assert counts["updated"] == counts["unchanged"] == counts["missing"] == 0
    assert plan.new_facilities == []
    if want["invalid"]:
        got = {(e["row"], e["column"]) for e in plan.errors}
        assert got == {(e["excel_row"], e["column"]) for e in want["errors"]}
        for error in plan.errors:
            assert set(error) >= {"row", "column", "value", "message"}
            assert re.search("[а-яё]", error["message"]), error  # Russian
    assert count(Equipment) == 3  # the preview wrote nothing but the batch

    result = commit(batch, site.eng, commit_valid_only=bool(want["invalid"]))
    assert result["created"] == want["valid"]
    db.session.expire_all()
    assert count(Equipment, Equipment.organization_id == site.org.id) == want["valid"] + 2
    assert count(AuditEvent, AuditEvent.action == "import_create") == want["valid"]
    stored = db.session.get(ImportBatch, batch.id)
    assert stored.status == "committed" and stored.committed_at is not None
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.content == data and stored.filename == f"{name}.xlsx"
    assert stored.user_id == site.eng.id
    assert stored.counts["created"] == want["valid"]
    assert stored.counts["invalid"] == want["invalid"]
    # every valid row carries a wear value and an examination date in these samples
    assert count(ConditionAssessment) == want["valid"]
    assert count(Inspection, Inspection.kind == InspectionKind.EXAMINATION) == want["valid"]

    if name in FACILITY_COLUMN:  # the facility of each item is the one its row names
        sheet = load_workbook(io.BytesIO(sample(name)), read_only=True).worksheets[0]
        in_file = {
            str(values[INVENTORY_COLUMN[name]]): values[FACILITY_COLUMN[name]]
            for values in sheet.iter_rows(min_row=2, values_only=True)
        }
        assert {k: v for k, v in facility_codes().items() if k in in_file} == in_file
        assert set(want.get("facilities", in_file.values())) == set(in_file.values())


def test_1c_export_group_rows_decimal_commas_and_text_dates(site):
    load(site.org, sample(ONE_C), site.eng, commit_valid_only=True)
    groups = one_c_groups()
    codes = facility_codes()
    assert len(groups) >= 175 and {g for g in groups.values()} >= {"OPO-01", "OPO-02"}
    assert {inv: codes[inv] for inv in groups if inv in codes} == {
        inv: code for inv, code in groups.items() if inv in codes
    }
    first = item("0000100000")
    assert first.facility.code == "OPO-02"  # under «ОПО: Котельная №2»
    assert first.name == "Ресивер воздушный В-25"
    assert first.device_type == DeviceType.PRESSURE_VESSEL
    assert first.manufacture_year == 1979
    assert first.commissioned_on == date(1979, 12, 26)
    assert first.service_life_years == 20
    assert latest_wear(first.id) == pytest.approx(81.8)
    exam = db.session.execute(
        select(Inspection).where(Inspection.equipment_id == first.id)
    ).scalar_one()
    assert (exam.done_on, exam.next_due_on) == (date(2024, 5, 20), date(2028, 5, 20))
    # the rejected rows left nothing behind; the first of the duplicates was loaded
    assert item("0000100100") is not None
    assert count(Equipment, Equipment.name == "Горелка ГМГ-100") == 0  # row 14, no number
    assert count(Equipment, Equipment.inventory_no.in_(["Итого:", "1", "2"])) == 0


def test_english_sample_wear_fractions_and_iso_dates(site):
    load(site.org, sample(ENGLISH), site.eng)
    first = item("INV-100000")
    assert first.facility.code == "OPO-04"
    assert first.device_type == DeviceType.STEAM_PIPELINE
    assert first.commissioned_on == date(2011, 10, 16)
    assert latest_wear(first.id) == pytest.approx(60.2)
    exam = db.session.execute(
        select(Inspection).where(Inspection.equipment_id == first.id)
    ).scalar_one()
    assert (exam.done_on, exam.next_due_on) == (date(2026, 10, 1), date(2030, 10, 1))
    assert first.next_inspection_due == date(2030, 10, 1)


# ---------------------------------------------------------------------------- upserts


@pytest.mark.parametrize("name", [CLEAN, ONE_C, ENGLISH])
def test_reloading_the_same_file_changes_nothing(site, name):
    want = expected(name)
    data = sample(name)
    load(site.org, data, site.eng, commit_valid_only=bool(want["invalid"]))
    before = state()

    batch, plan = preview(site.org, data, f"{name}.xlsx", site.eng)
    counts = plan.counts()
    assert counts["unchanged"] == want["valid"], [c for c in plan.report()["changes"]][:5]
    assert counts["created"] == counts["updated"] == counts["missing"] == 0
    assert counts["invalid"] == want["invalid"]
    assert plan.report()["changes"] == []

    result = commit(batch, site.eng, commit_valid_only=bool(want["invalid"]))
    assert result["unchanged"] == want["valid"]
    after = state()
    assert after["equipment"] == before["equipment"]
    assert after["assessments"] == before["assessments"]
    assert after["inspections"] == before["inspections"]
    assert after["audit"] == before["audit"]  # nothing changed, nothing audited
    assert after["committed"] == before["committed"] + 1  # the batch itself is recorded


def test_changed_cells_update_exactly_those_items_with_before_and_after(site):
    data = sample(CLEAN)
    load(site.org, data, site.eng)
    old = {inv: item(inv) for inv in ("ИН-100000", "ИН-100001", "ИН-100002")}
    assert old["ИН-100000"].name == "Котел КВ-ГМ-16-150"
    assert old["ИН-100001"].service_life_years == 25
    wear_before = latest_wear(old["ИН-100002"].id)
    assert wear_before == pytest.approx(25.2)
    audit_before = count(AuditEvent)

    changed = edited(
        data,
        {
            "B2": "Котел КВ-ГМ-16-150 (после реконструкции)",  # ИН-100000: name
            "J3": 30,  # ИН-100001: service life 25 -> 30
            "K4": 47.5,  # ИН-100002: wear 25.2 -> 47.5
            "N4": "OPO-01",  # ИН-100002: facility OPO-02 -> OPO-01
        },
    )
    batch, plan = preview(site.org, changed, "changed.xlsx", site.eng)
    counts = plan.counts()
    assert (counts["updated"], counts["unchanged"], counts["created"]) == (3, 247, 0)
    changes = {c["inventory_no"]: c for c in plan.report()["changes"]}
    assert set(changes) == {"ИН-100000", "ИН-100001", "ИН-100002"}
    assert changes["ИН-100000"]["row"] == 2
    assert changes["ИН-100000"]["changes"] == {
        "name": ["Котел КВ-ГМ-16-150", "Котел КВ-ГМ-16-150 (после реконструкции)"]
    }
    assert changes["ИН-100001"]["changes"] == {"service_life_years": [25, 30]}
    assert changes["ИН-100002"]["changes"] == {
        "wear_pct": [pytest.approx(25.2), 47.5],
        "facility": ["OPO-02", "OPO-01"],
    }

    commit(batch, site.eng)
    assert item("ИН-100000").name == "Котел КВ-ГМ-16-150 (после реконструкции)"
    assert item("ИН-100001").service_life_years == 30
    moved = item("ИН-100002")
    assert moved.facility.code == "OPO-01"
    assert latest_wear(moved.id) == pytest.approx(47.5)
    assert count(Equipment) == 253  # no duplicates: updated in place
    events = (
        db.session.execute(select(AuditEvent).where(AuditEvent.action == "import_update"))
        .scalars()
        .all()
    )
    assert len(events) == 3 and count(AuditEvent) == audit_before + 3
    by_item = {e.entity_id: e for e in events}
    assert by_item[old["ИН-100001"].id].changes["service_life_years"] == [25, 30]
    assert by_item[old["ИН-100001"].id].changes["import_batch"] == [None, batch.id]
    assert by_item[old["ИН-100001"].id].actor_email == site.eng.email


def test_a_changed_next_examination_date_is_an_update(site):
    data = sample(CLEAN)
    load(site.org, data, site.eng)
    assert item("ИН-100000").next_inspection_due == date(2027, 11, 13)
    batch, plan = preview(site.org, edited(data, {"M2": datetime(2026, 12, 1)}), "x.xlsx")
    assert plan.counts()["updated"] == 1, plan.counts()
    commit(batch, site.eng)
    assert item("ИН-100000").next_inspection_due == date(2026, 12, 1)


# ---------------------------------------------------------------------------- all or nothing


def test_a_commit_failing_midway_leaves_nothing_behind(site, monkeypatch, make):
    make.equipment(site.fac["OPO-01"], "OLD-1", name="Старый котел")  # would be missing
    data = sample(CLEAN)
    data = edited(data, {"N2": "OPO-99"})  # one row in a new facility
    batch, plan = preview(site.org, data, "list.xlsx", site.eng)
    assert [f["code"] for f in plan.new_facilities] == ["OPO-99"]
    assert plan.counts()["missing"] == 1
    before = state()
    seen = {}

    def fail_after_the_writes(session, *args, **kwargs):
        session.flush()
        seen["equipment"] = session.scalar(select(func.count()).select_from(Equipment))
        seen["audit"] = session.scalar(select(func.count()).select_from(AuditEvent))
        seen["facilities"] = session.scalar(select(func.count()).select_from(Facility))
        raise RuntimeError("the database went away")

    working = apply.refresh_curves
    monkeypatch.setattr(apply, "refresh_curves", fail_after_the_writes)
    with pytest.raises(RuntimeError):
        commit(
            batch,
            site.eng,
            create_facilities=True,
            decommission_missing=True,
            confirm_decommission=1,
        )
    # the failure came after the inserts, the audit events and the new facility...
    assert seen["equipment"] == len(before["equipment"]) + 250
    assert seen["audit"] >= 251
    assert seen["facilities"] == len(before["facilities"]) + 1
    # ...and none of them survived
    assert state() == before
    assert item("OLD-1").status == EquipmentStatus.IN_SERVICE
    stored = db.session.get(ImportBatch, batch.id)
    assert stored.status == "previewed" and stored.committed_at is None

    # the same batch can still be loaded once the failure is gone
    monkeypatch.setattr(apply, "refresh_curves", working)
    counts = commit(
        batch, site.eng, create_facilities=True, decommission_missing=True, confirm_decommission=1
    )
    assert counts["created"] == 250 and counts["decommissioned"] == 1
    assert count(Equipment) == 3 + 1 + 250
    assert item("OLD-1").status == EquipmentStatus.DECOMMISSIONED


# ---------------------------------------------------------------------------- refusals


def test_an_edit_after_the_preview_refuses_the_commit(site, client, login_as):
    data = sample(CLEAN)
    load(site.org, data, site.eng)
    changed = edited(data, {"B2": "Новое имя котла"})  # ИН-100000 would be updated
    login_as(site.eng)
    batch_id = batch_id_from(upload(client, changed, "changed.xlsx"))
    page = text_of(client.get(f"/imports/{batch_id}"))
    assert page_counts(page)["updated"] == 1
    assert "Котел КВ-ГМ-16-150 → Новое имя котла" in page

    # meanwhile someone edits another item the file lists (the preview said "unchanged")
    other = item("ИН-100003")
    other.service_life_years = 40
    db.session.commit()
    before = state()

    response = client.post(f"/imports/{batch_id}/commit", data={})
    assert response.status_code == 302
    page = text_of(client.get(response.headers["Location"]))
    assert STALE in page
    assert state() == before  # nothing applied
    assert item("ИН-100000").name == "Котел КВ-ГМ-16-150"
    assert item("ИН-100003").service_life_years == 40
    assert count(AuditEvent, AuditEvent.action == "import_update") == 0
    assert db.session.get(ImportBatch, batch_id).status == "previewed"


def test_the_commit_plans_from_the_previewed_parse_without_reading_the_file(site, monkeypatch):
    batch, plan = preview(site.org, sample(ONE_C), "1c.xlsx", site.eng)
    assert batch.parsed  # the file as the preview read it
    monkeypatch.setattr(batches, "parse_asset_list", pytest.fail)  # never read again
    before = count(Equipment)
    counts = commit(batch, site.eng, commit_valid_only=True)  # the sample has invalid rows
    assert {k: counts[k] for k in plan.counts()} == plan.counts()
    assert count(Equipment) == before + plan.counts()["created"]
    db.session.expire_all()
    stored = db.session.get(ImportBatch, batch.id)
    assert stored.status == "committed"
    assert stored.parsed is None  # kept only while the batch waits for its commit
    assert stored.content == sample(ONE_C)  # the original file stays


@pytest.mark.parametrize("parsed", [None, b"damaged"], ids=["none", "damaged"])
def test_a_batch_without_a_usable_snapshot_reads_its_file_again(site, parsed):
    """Batches previewed before snapshots were kept (or a damaged one) still commit, from
    their stored file, and a registry that changed meanwhile is still refused."""
    batch, plan = preview(site.org, sample(CLEAN), "list.xlsx", site.eng)
    batch.parsed = parsed
    db.session.commit()
    before = count(Equipment)
    counts = commit(batch, site.eng)
    assert counts["created"] == plan.counts()["created"] == 250
    assert count(Equipment) == before + 250

    again, _ = preview(site.org, edited(sample(CLEAN), {"B2": "Новое имя"}), "b.xlsx", site.eng)
    again.parsed = parsed
    db.session.commit()
    item("ИН-100003").service_life_years = 40
    db.session.commit()
    with pytest.raises(ImportRefused) as refused:
        commit(again, site.eng)
    assert STALE in refused.value.message


def test_a_new_item_after_the_preview_refuses_the_commit(site, make):
    batch, plan = preview(site.org, sample(CLEAN), "list.xlsx", site.eng)
    assert plan.counts()["created"] == 250
    make.equipment(site.fac["OPO-02"], "ИН-100000", name="Внесён вручную")
    before = state()
    with pytest.raises(ImportRefused) as refused:
        commit(batch, site.eng)
    assert STALE in refused.value.message
    assert state() == before
    assert item("ИН-100000").name == "Внесён вручную"


def test_two_previews_of_one_registry_only_the_first_commit_goes_through(site):
    data = sample(ENGLISH)
    first, _plan = preview(site.org, data, "en.xlsx", site.eng)
    second, _plan = preview(site.org, edited(data, {"B2": "Другое имя"}), "en-2.xlsx", site.eng)
    commit(first, site.eng)
    after_first = state()
    with pytest.raises(ImportRefused, match=STALE):
        commit(second, site.eng)
    assert state() == after_first
    assert item("INV-100000").name == "Трубопровод сетевой воды Ду25"


@pytest.fixture
def racing(monkeypatch):
    """Another commit lands between the check of the plan and the writes: just before the
    inserts, an item with the plan's first new inventory number appears."""
    original = batches.apply_plan

    def apply_plan(session, actor, organization, plan, *args, **kwargs):
        first = next(r for r in plan.rows if r.action == "create")
        session.add(
            Equipment(
                organization_id=organization.id,
                facility_id=int(first.facility_key[1]),
                inventory_no=first.inventory_no,
                name="Внесён параллельно",
                device_type=DeviceType.OTHER,
            )
        )
        session.flush()
        return original(session, actor, organization, plan, *args, **kwargs)

    monkeypatch.setattr(batches, "apply_plan", apply_plan)


def _race_page(site, client, login_as, runner, tmp_path):
    login_as(site.eng)
    batch_id = batch_id_from(upload(client, sample(ENGLISH), "en.xlsx"))
    response = client.post(f"/imports/{batch_id}/commit", data={})
    assert response.status_code == 302
    return text_of(client.get(response.headers["Location"]))


def _race_api(site, client, login_as, runner, tmp_path):
    token = make_token(site.eng)
    batch_id = api_upload(client, token, sample(ENGLISH)).get_json()["id"]
    response = api_commit(client, token, batch_id)
    assert response.status_code == 409, response.status_code
    return response.get_json()["message"]


def _race_api_direct(site, client, login_as, runner, tmp_path):
    token = make_token(site.eng)
    response = api_upload(client, token, sample(ENGLISH), dry_run="false")
    assert response.status_code in (409, 422), response.status_code
    return response.get_json()["message"]


def _race_cli(site, client, login_as, runner, tmp_path):
    path = tmp_path / "en.xlsx"
    path.write_bytes(sample(ENGLISH))
    result = runner.invoke(args=["equipment", "import", str(path), "--org", ORG_BIN])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.exception
    return result.output


@pytest.mark.parametrize(
    "door",
    [
        _race_page,
        _race_api,
        _race_api_direct,
        _race_cli,
    ],
    ids=["page", "api commit", "api direct", "cli"],
)
def test_a_concurrent_commit_is_answered_with_a_message_and_nothing_is_stored(
    site, client, login_as, runner, tmp_path, racing, door
):
    before = state()
    message = door(site, client, login_as, runner, tmp_path)
    assert "реестр изменился" in message.lower() or STALE in message, message[-1500:]
    assert state()["equipment"] == before["equipment"]
    assert state()["audit"] <= before["audit"] + 1  # at most the API token
    assert count(ImportBatch, ImportBatch.status == "committed") == 0


def test_a_second_commit_of_the_same_batch_is_refused(site, client, login_as):
    login_as(site.eng)
    batch_id = batch_id_from(upload(client, sample(ENGLISH), "en.xlsx"))
    first = client.post(f"/imports/{batch_id}/commit", data={})
    assert first.status_code == 302
    assert "создано — 120" in text_of(client.get(first.headers["Location"]))
    before = state()

    again = client.post(f"/imports/{batch_id}/commit", data={})
    assert again.status_code == 302
    assert ALREADY in text_of(client.get(again.headers["Location"]))
    with pytest.raises(ImportRefused, match=ALREADY):
        commit(db.session.get(ImportBatch, batch_id), site.eng)
    assert state() == before
    assert count(Equipment) == 3 + 120


def test_invalid_rows_block_the_commit_unless_valid_only_is_asked(site):
    batch, plan = preview(site.org, sample(ONE_C), "1c.xlsx", site.eng)
    assert plan.counts()["invalid"] == 5
    before = state()
    with pytest.raises(ImportRefused) as refused:
        commit(batch, site.eng)
    assert "5 строк с ошибками" in refused.value.message
    assert state() == before
    assert db.session.get(ImportBatch, batch.id).status == "previewed"

    counts = commit(batch, site.eng, commit_valid_only=True)
    assert counts["created"] == 175 and counts["invalid"] == 5
    assert count(Equipment) == 3 + 175


def test_unknown_facilities_are_listed_and_created_only_when_agreed(site):
    data = xlsx(
        [
            row("OPO-01", "N-1", "Котел ДЕ-25"),
            row("OPO-09", "N-2", "Кран мостовой КМ-10", "кран мостовой"),
            row("OPO-09", "N-3", "Таль ТЭ-5", "таль электрическая"),
            row("Котельная №2", "N-4", "Сосуд В-10", "сосуд под давлением"),  # by name
        ]
    )
    batch, plan = preview(site.org, data, "new.xlsx", site.eng)
    assert plan.new_facilities == [{"label": "OPO-09", "code": "OPO-09", "name": "OPO-09"}]
    assert plan.counts()["created"] == 4
    before = state()
    with pytest.raises(ImportRefused) as refused:
        commit(batch, site.eng)
    assert "OPO-09" in refused.value.message and "ОПО" in refused.value.message
    assert state() == before

    counts = commit(batch, site.eng, create_facilities=True)
    assert counts["facilities_created"] == 1 and counts["created"] == 4
    created = db.session.execute(select(Facility).where(Facility.code == "OPO-09")).scalar_one()
    assert created.organization_id == site.org.id
    assert created.region_id == site.org.region_id
    codes = facility_codes()
    assert (codes["N-1"], codes["N-2"], codes["N-3"], codes["N-4"]) == (
        "OPO-01",
        "OPO-09",
        "OPO-09",
        "OPO-02",
    )
    event = db.session.execute(
        select(AuditEvent).where(
            AuditEvent.entity_type == "facilities", AuditEvent.entity_id == created.id
        )
    ).scalar_one()  # a facility the import made is in the trail like one made by hand
    assert event.action == "import_create" and event.actor_id == site.eng.id
    assert event.changes["code"] == [None, "OPO-09"]
    assert event.changes["import_batch"] == [None, batch.id]


def test_one_new_facility_written_in_two_cases_is_created_once(site):
    data = xlsx([row("OPO-09", "N-1", "Кран", "кран"), row("opo-09", "N-2", "Таль", "таль")])
    batch, plan = preview(site.org, data, "new.xlsx", site.eng)
    try:
        assert len(plan.new_facilities) == 1
    finally:
        commit(batch, site.eng, create_facilities=True)
        assert count(Facility, Facility.organization_id == site.org.id) == 2 + 5 + 1


def test_missing_items_are_kept_by_default_and_decommissioned_only_when_asked(site, make):
    make.equipment(site.fac["OPO-01"], "M-1", name="Котел, есть в файле")
    gone = make.equipment(site.fac["OPO-01"], "M-2", name="Котел, нет в файле")
    elsewhere = make.equipment(site.fac["OPO-02"], "M-3", name="Котел другого ОПО")
    make.equipment(
        site.fac["OPO-01"], "M-4", name="Уже списан", status=EquipmentStatus.DECOMMISSIONED
    )
    data = xlsx([row("OPO-01", "M-1", "Котел, есть в файле"), row("OPO-01", "M-5", "Новый")])

    batch, plan = preview(site.org, data, "opo-01.xlsx", site.eng)
    assert plan.missing == [
        {"id": gone.id, "inventory_no": "M-2", "name": "Котел, нет в файле", "facility": "OPO-01"}
    ]
    counts = commit(batch, site.eng)
    assert counts["decommissioned"] == 0
    assert item("M-2").status == EquipmentStatus.IN_SERVICE  # kept by default
    assert count(AuditEvent, AuditEvent.action == "import_decommission") == 0

    batch, plan = preview(site.org, data, "opo-01.xlsx", site.eng)
    assert [m["inventory_no"] for m in plan.missing] == ["M-2"]
    counts = commit(batch, site.eng, decommission_missing=True, confirm_decommission=1)
    assert counts["decommissioned"] == 1
    assert item("M-2").status == EquipmentStatus.DECOMMISSIONED
    assert item("M-3").status == EquipmentStatus.IN_SERVICE  # not a facility of the file
    assert item(elsewhere.inventory_no).facility.code == "OPO-02"
    assert item(site.world.item_a.inventory_no).status == EquipmentStatus.IN_SERVICE
    event = db.session.execute(
        select(AuditEvent).where(AuditEvent.action == "import_decommission")
    ).scalar_one()
    assert event.entity_id == gone.id
    assert event.changes["status"] == ["in_service", "decommissioned"]


def test_an_item_whose_row_has_an_error_is_not_missing_from_the_file(site):
    data = xlsx([row("OPO-01", "E-1", "Котел 1"), row("OPO-01", "E-2", "Котел 2")])
    load(site.org, data, site.eng)
    typo = xlsx([row("OPO-01", "E-1", "Котел 1"), row("OPO-01", "E-2", "Котел 2", wear=130)])
    batch, plan = preview(site.org, typo, "typo.xlsx", site.eng)
    assert plan.counts()["invalid"] == 1
    try:
        assert plan.missing == []
    finally:
        commit(batch, site.eng, commit_valid_only=True, decommission_missing=True)
        assert item("E-2").status == EquipmentStatus.IN_SERVICE


def test_decommission_audits_the_real_status_before(site, make):
    make.equipment(site.fac["OPO-01"], "S-1", status=EquipmentStatus.SUSPENDED)
    batch, plan = preview(site.org, xlsx([row("OPO-01", "S-2", "Новый")]), "x.xlsx", site.eng)
    commit(batch, site.eng, decommission_missing=True, confirm_decommission=len(plan.missing))
    assert item("S-1").status == EquipmentStatus.DECOMMISSIONED
    event = db.session.execute(
        select(AuditEvent).where(AuditEvent.action == "import_decommission")
    ).scalar_one()
    assert event.changes["status"] == ["suspended", "decommissioned"]


def test_rows_without_a_facility_need_a_default_one(site, client, login_as):
    data = xlsx([row(None, "D-1", "Котел без ОПО"), row("OPO-03", "D-2", "Котел с ОПО")])
    batch, plan = preview(site.org, data, "x.xlsx", site.eng)
    assert [(e["row"], e["column"]) for e in plan.errors] == [(2, "ОПО")]
    login_as(site.eng)
    batch_id = batch_id_from(
        upload(client, data, "x.xlsx", default_facility_id=str(site.fac["OPO-04"].id))
    )
    assert page_counts(text_of(client.get(f"/imports/{batch_id}")))["invalid"] == 0
    client.post(f"/imports/{batch_id}/commit", data={})
    codes = facility_codes()
    assert (codes["D-1"], codes["D-2"]) == ("OPO-04", "OPO-03")


# ---------------------------------------------------------------------------- column mapping


def _code_file(rows=None) -> bytes:
    """A list whose inventory column is titled «Шифр ТУ» (no known alias of it)."""
    return xlsx(
        rows
        or [["OPO-01", "Ш-1", "Котел ДЕ-25", "котел паровой"], ["OPO-02", "Ш-2", "Кран", "кран"]],
        header=["Код ОПО", "Шифр ТУ", "Наименование", "Вид устройства"],
    )


def test_a_hand_mapping_reads_the_file_and_is_remembered_on_commit(site):
    data = _code_file()
    with pytest.raises(FileRejected) as rejected:
        preview(site.org, data, "codes.xlsx", site.eng)
    assert "Инвентарный номер" in rejected.value.message
    assert count(ImportBatch) == 0

    mapping = {"Код ОПО": "facility_code", "Шифр ТУ": "inventory_no", "Наименование": "name"}
    mapping["Вид устройства"] = "device_type"
    batch, plan = preview(site.org, data, "codes.xlsx", site.eng, mapping=mapping)
    assert plan.counts()["created"] == 2 and plan.errors == []
    assert count(ColumnMapping) == 0  # remembered on commit only
    commit(batch, site.eng)
    assert item("Ш-1").name == "Котел ДЕ-25" and item("Ш-2").device_type == DeviceType.CRANE
    remembered = db.session.execute(select(ColumnMapping)).scalar_one()
    assert remembered.organization_id == site.org.id
    assert remembered.mapping["Шифр ТУ"] == "inventory_no"

    # the next upload of the organization is read with it, without asking again
    later = _code_file([["OPO-01", "Ш-3", "Сосуд В-10", "сосуд под давлением"]])
    _batch, plan = preview(site.org, later, "codes-2.xlsx", site.eng)
    assert plan.counts()["created"] == 1 and plan.errors == []
    # but not for another organization
    with pytest.raises(FileRejected):
        preview(site.world.org_b, later, "codes-2.xlsx", site.world.eng_b)


def test_the_mapping_form_rescues_a_file_without_a_recognised_inventory_column(
    site, client, login_as
):
    login_as(site.eng)
    response = upload(client, _code_file(), "codes.xlsx")
    assert "Инвентарный номер" in text_of(response)  # the message names the missing column
    batch_id = batch_id_from(response)  # ...on a preview page that offers the mapping form
    page = text_of(client.get(f"/imports/{batch_id}"))
    assert 'id="mapping-form"' in page and 'name="col:Шифр ТУ"' in page
    form = {
        "col:Код ОПО": "facility_code",
        "col:Шифр ТУ": "inventory_no",
        "col:Наименование": "name",
        "col:Вид устройства": "device_type",
    }
    new_id = batch_id_from(client.post(f"/imports/{batch_id}/mapping", data=form))
    assert page_counts(text_of(client.get(f"/imports/{new_id}")))["created"] == 2
    client.post(f"/imports/{new_id}/commit", data={})
    assert item("Ш-1") is not None
    next_id = batch_id_from(upload(client, _code_file(), "codes.xlsx"))
    assert page_counts(text_of(client.get(f"/imports/{next_id}")))["unchanged"] == 2


def test_a_file_without_a_recognised_inventory_column_waits_for_a_mapping(
    site, client, login_as, make, runner, tmp_path
):
    """Stored but not committable: no commit form, the API answers 422 with the stored batch
    and refuses its commit, the CLI exits 1 with the message."""
    login_as(site.eng)
    batch_id = batch_id_from(upload(client, _code_file(), "codes.xlsx"))
    page = text_of(client.get(f"/imports/{batch_id}"))
    assert 'id="commit-form"' not in page and "Не распознаны обязательные столбцы" in page
    assert page.count("Инвентарный номер»") == 1  # said once, not once per message
    assert 'id="counts"' not in page  # no row was read: no zero counts either
    client.post(f"/imports/{batch_id}/commit", data={})
    assert db.session.get(ImportBatch, batch_id).status == "previewed"

    token = make.token(site.eng)
    for dry_run in ("true", "false"):
        response = api_upload(client, token, _code_file(), "codes.xlsx", dry_run=dry_run)
        assert response.status_code == 422, response.get_json()
        body = response.get_json()
        assert body["code"] == 422 and "Инвентарный номер" in body["message"]
        assert body["batch"]["missing_columns"] == ["Инвентарный номер"]
        titles = {*body["batch"]["mapping"], *body["batch"]["ignored_columns"]}
        assert titles == {"Код ОПО", "Шифр ТУ", "Наименование", "Вид устройства"}, body
        assert body["preview_url"].endswith(f"/imports/{body['batch']['id']}")
        refused = api_commit(client, token, body["batch"]["id"])
        assert refused.status_code == 409 and "Инвентарный номер" in refused.get_json()["message"]
    assert count(ImportBatch) == 3 and count(Equipment) == 3

    path = tmp_path / "codes.xlsx"
    path.write_bytes(_code_file())
    result = runner.invoke(args=["equipment", "import", str(path), "--org", ORG_BIN])
    assert result.exit_code == 1 and "Инвентарный номер" in result.output
    assert count(ImportBatch) == 3 and count(Equipment) == 3


def test_the_api_maps_columns_by_hand_and_the_mapping_is_remembered(site, client, make):
    token = make.token(site.eng)
    for bad in ("{", "[]", '{"Шифр ТУ": "no_such_field"}', '{"Шифр ТУ": 5}'):
        response = api_upload(client, token, _code_file(), "codes.xlsx", mapping=bad)
        assert response.status_code == 422, bad
        assert "mapping" in response.get_json()["errors"]["json"], bad
    assert count(ImportBatch) == 0

    mapping = json.dumps({"Шифр ТУ": "inventory_no", "Код ОПО": "facility_code"})
    response = api_upload(client, token, _code_file(), "codes.xlsx", mapping=mapping)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["created"] == 2
    assert api_commit(client, token, response.get_json()["id"]).status_code == 200
    assert item("Ш-1") is not None

    again = api_upload(client, token, _code_file(), "codes.xlsx")  # no mapping sent this time
    assert again.status_code == 201 and again.get_json()["unchanged"] == 2, again.get_json()


def test_api_commit_without_a_body_takes_the_default_options(site, client, make):
    token = make.token(site.eng)
    batch_id = api_upload(client, token, sample(ENGLISH)).get_json()["id"]
    response = client.post(
        f"/api/v1/imports/{batch_id}/commit", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["created"] == 120


def _kind_file() -> bytes:
    """Device types in a column titled «Разновидность», which no alias names."""
    return xlsx(
        [
            ["OPO-01", "K-1", "Котел ДЕ-25", "котел паровой", 1990],
            ["OPO-05", "K-2", "Кран мостовой", "кран мостовой", 1985],
        ],
        header=["Код ОПО", "Инвентарный номер", "Наименование", "Разновидность", "Год выпуска"],
    )


def test_the_mapping_form_re_previews_and_the_mapping_is_remembered(site, client, login_as):
    login_as(site.eng)
    batch_id = batch_id_from(upload(client, _kind_file(), "kinds.xlsx"))
    page = text_of(client.get(f"/imports/{batch_id}"))
    assert page_counts(page)["invalid"] == 2  # new items need a device type
    assert 'id="mapping-form"' in page and 'name="col:Разновидность"' in page
    assert "укажите вид технического устройства" in page
    before = state()

    form = {
        "col:Код ОПО": "facility_code",
        "col:Инвентарный номер": "inventory_no",
        "col:Наименование": "name",
        "col:Разновидность": "device_type",
        "col:Год выпуска": "manufacture_year",
    }
    new_id = batch_id_from(client.post(f"/imports/{batch_id}/mapping", data=form))
    assert new_id != batch_id
    assert state() == before  # a re-preview changes nothing
    db.session.expire_all()
    assert db.session.get(ImportBatch, batch_id).status == "superseded"
    page = text_of(client.get(f"/imports/{new_id}"))
    assert page_counts(page)["created"] == 2 and page_counts(page)["invalid"] == 0
    # the superseded preview cannot be committed any more
    client.post(f"/imports/{batch_id}/commit", data={})
    assert count(Equipment) == 3

    client.post(f"/imports/{new_id}/commit", data={})
    assert item("K-2").device_type == DeviceType.CRANE
    assert item("K-2").manufacture_year == 1985
    assert db.session.execute(select(ColumnMapping)).scalar_one().mapping["Разновидность"] == (
        "device_type"
    )
    changed = edited(_kind_file(), {"D3": "таль электрическая"})
    next_id = batch_id_from(upload(client, changed, "kinds-2.xlsx"))
    counts = page_counts(text_of(client.get(f"/imports/{next_id}")))
    assert (counts["updated"], counts["unchanged"], counts["invalid"]) == (1, 1, 0)


def test_a_remembered_mapping_does_not_break_a_standard_file(site):
    form = {
        "Код ОПО": "facility_code",
        "Инвентарный номер": "inventory_no",
        "Наименование": "name",
        "Разновидность": "device_type",
        "Год выпуска": "manufacture_year",
    }
    batch, _plan = preview(site.org, _kind_file(), "kinds.xlsx", site.eng, mapping=form)
    commit(batch, site.eng)
    assert count(ColumnMapping) == 1
    _batch, plan = preview(site.org, sample(CLEAN), "clean.xlsx", site.eng)
    assert plan.counts()["invalid"] == 0, plan.errors[:3]
    assert plan.counts()["created"] == 250


# ---------------------------------------------------------------------------- failed rows


def _fix_file() -> bytes:
    return xlsx(
        [
            row("OPO-01", "F-1", "Котел ДЕ-25"),
            row("OPO-02", "F-2", "Котел ДЕ-10", wear="130 %"),
            row("OPO-03", "F-3", "Кран КМ-5", "кран мостовой", commissioned="31.02.2015"),
            row("OPO-04", "F-4", "Резервуар РВС-100", "резервуар"),
            row("OPO-05", "F-5", "Таль ТЭ-1", "таль электрическая", life="двадцать"),
            row("OPO-05", "F-4", "Дубликат резервуара", "резервуар"),
        ]
    )


def _download_errors(client, batch_id: int):
    response = client.get(f"/imports/{batch_id}/errors.xlsx")
    assert response.status_code == 200, text_of(response)[:1000]
    assert response.mimetype == XLSX
    return load_workbook(io.BytesIO(response.get_data()))


def test_failed_rows_download_fix_and_reupload(site, client, login_as):
    login_as(site.eng)
    batch_id = batch_id_from(upload(client, _fix_file(), "fix.xlsx"))
    page = text_of(client.get(f"/imports/{batch_id}"))
    assert page_counts(page)["invalid"] == 4 and page_counts(page)["created"] == 2
    assert f"/imports/{batch_id}/errors.xlsx" in page
    for text in ("130 %", "31.02.2015", "двадцать", "повторяется"):
        assert text in page

    book = _download_errors(client, batch_id)
    sheet = book.worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == [*COLUMNS, "Строка исходного файла", "Ошибка"]
    assert sheet.freeze_panes == "A2"
    assert [r[1] for r in rows[1:]] == ["F-2", "F-3", "F-5", "F-4"]  # exactly the invalid rows
    errors = {r[1] + (r[2] or ""): r[-1] for r in rows[1:]}
    assert "Износ, %" in errors["F-2Котел ДЕ-10"] and "от 0 до 100" in errors["F-2Котел ДЕ-10"]
    assert "31.02.2015" in errors["F-3Кран КМ-5"]
    assert "Срок службы" in errors["F-5Таль ТЭ-1"]
    assert "повторяется" in errors["F-4Дубликат резервуара"]

    # the first load takes the valid rows only
    client.post(f"/imports/{batch_id}/commit", data={"commit_valid_only": "1"})
    assert {i for i in facility_codes() if i.startswith("F-")} == {"F-1", "F-4"}

    # fix the cells in the downloaded workbook and upload it as it is (with «Ошибка»)
    sheet["H2"] = 30  # wear
    sheet["F3"] = datetime(2015, 2, 28)
    sheet["G4"] = 20
    sheet["B5"] = "F-6"
    fixed_id = batch_id_from(upload(client, save(book), "fix-ошибки.xlsx"))
    page = text_of(client.get(f"/imports/{fixed_id}"))
    counts = page_counts(page)
    assert (counts["rows"], counts["created"], counts["invalid"]) == (4, 4, 0), page[-3000:]
    assert counts["missing"] == 0  # only OPO-02, -03, -05 are in the fixed file
    client.post(f"/imports/{fixed_id}/commit", data={})
    codes = facility_codes()
    assert {i: codes[i] for i in codes if i.startswith("F-")} == {
        "F-1": "OPO-01",
        "F-2": "OPO-02",
        "F-3": "OPO-03",
        "F-4": "OPO-04",
        "F-5": "OPO-05",
        "F-6": "OPO-05",
    }
    assert item("F-3").commissioned_on == date(2015, 2, 28)
    assert item("F-5").service_life_years == 20
    assert latest_wear(item("F-2").id) == pytest.approx(30)


def test_failed_rows_of_the_1c_export_keep_their_facility(site, client, login_as):
    login_as(site.eng)
    batch_id = batch_id_from(upload(client, sample(ONE_C), "1c.xlsx"))
    client.post(f"/imports/{batch_id}/commit", data={"commit_valid_only": "1"})
    assert count(Equipment) == 3 + 175
    book = _download_errors(client, batch_id)
    sheet = book.worksheets[0]
    header = [c.value for c in sheet[1]]
    assert header[-1] == "Ошибка" and sheet.max_row == 6
    col = {title: i + 1 for i, title in enumerate(header)}
    fixes = {
        2: ("Инв. №", "0000199014"),
        3: ("Ввод в эксплуатацию", "28.02.2015"),
        4: ("Износ, %", "30 %"),
        5: ("Срок службы (лет)", "20"),
        6: ("Инв. №", "0000199110"),
    }
    for line, (title, value) in fixes.items():
        sheet.cell(line, col[title], value)
    fixed_id = batch_id_from(upload(client, save(book), "1c-ошибки.xlsx"))
    batch = db.session.get(ImportBatch, fixed_id)
    assert [e["column"] for e in batch.report["errors"]] == []  # not «ОПО»: not stated
    assert (batch.counts["created"], batch.counts["invalid"]) == (5, 0)
    client.post(f"/imports/{fixed_id}/commit", data={})
    groups, codes = one_c_groups(by_row=True), facility_codes()
    for line, excel_row in zip(range(2, 7), (14, 26, 49, 85, 110), strict=True):
        inventory = sheet.cell(line, col["Инв. №"]).value
        assert codes.get(inventory) == groups[excel_row], inventory


# ---------------------------------------------------------------------------- pages


def test_upload_preview_commit_history_and_original_file_pages(site, client, login_as, make):
    make.equipment(site.fac["OPO-03"], "P-OLD", name="Компрессор старый")
    data = xlsx(
        [
            row("OPO-03", "P-1", "Компрессор 4ВМ", "сосуд под давлением"),
            row("OPO-07", "P-2", "Кран новой площадки", "кран мостовой"),
            row("OPO-03", "P-3", "Сосуд с ошибкой", "сосуд под давлением", wear=180),
        ]
    )
    login_as(site.eng)
    assert 'id="upload-form"' in text_of(client.get("/imports"))
    batch_id = batch_id_from(upload(client, data, "площадка.xlsx"))
    page = text_of(client.get(f"/imports/{batch_id}"))
    assert page_counts(page) == {
        "rows": 3,
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "invalid": 1,
        "missing": 1,
        "new_facilities": 1,  # OPO-07
    }
    for checkbox in ("create_facilities", "decommission_missing", "commit_valid_only"):
        assert f'name="{checkbox}"' in page, checkbox
    assert "OPO-07" in page and "P-OLD" in page and "Сосуд с ошибкой" not in page
    assert "износ должен быть от 0 до 100 %" in page
    before = state()

    refused = client.post(f"/imports/{batch_id}/commit", data={"commit_valid_only": "1"})
    assert "которых нет в реестре: OPO-07" in text_of(client.get(refused.headers["Location"]))
    assert state() == before

    response = client.post(
        f"/imports/{batch_id}/commit",
        data={
            "create_facilities": "1",
            "decommission_missing": "1",
            "confirm_decommission": "1",
            "commit_valid_only": "1",
        },
    )
    page = text_of(client.get(response.headers["Location"]))
    assert "Внесено в реестр: создано — 2, обновлено — 0" in page
    assert 'id="commit-form"' not in page  # committed: nothing more to confirm
    assert facility_codes()["P-2"] == "OPO-07"
    assert item("P-OLD").status == EquipmentStatus.DECOMMISSIONED
    assert item("P-3") is None
    stored = db.session.get(ImportBatch, batch_id)
    assert stored.status == "committed" and stored.user_id == site.eng.id

    history = text_of(client.get("/imports"))
    assert "площадка.xlsx" in history and f"/imports/{batch_id}" in history

    original = client.get(f"/imports/{batch_id}/file")
    assert original.status_code == 200
    assert original.get_data() == data
    assert hashlib.sha256(original.get_data()).hexdigest() == stored.sha256
    assert "attachment" in original.headers["Content-Disposition"]


def test_the_preview_says_what_each_new_item_is_and_the_page_after_the_commit_says_done(
    site, client, login_as
):
    data = xlsx(
        [
            row("OPO-03", "P-1", "Компрессор 4ВМ", "сосуд под давлением"),
            row("OPO-04", "P-2", "Кран козловой", "кран мостовой"),
        ]
    )
    login_as(site.eng)
    batch_id = batch_id_from(upload(client, data))
    page = text_of(client.get(f"/imports/{batch_id}"))
    changes = re.sub(r"<[^>]+>", "", page[page.index('id="changes"') :])
    assert "Компрессор 4ВМ · Сосуд, работающий под давлением · ОПО OPO-03" in changes
    assert "Кран козловой · " in changes and "ОПО OPO-04" in changes
    assert "Будет создано" in page and "проверен" in page.lower()

    client.post(f"/imports/{batch_id}/commit", data={})
    page = text_of(client.get(f"/imports/{batch_id}"))
    assert page_counts(page)["created"] == 2
    assert "Будет создано" not in page and "Будет обновлено" not in page
    status = re.search(r'id="batch-status">([^<]*)<', page)[1]
    assert status.startswith("внесено в реестр ") and status.count("внесено") == 1


def test_a_file_with_no_valid_row_offers_no_commit(site, client, login_as):
    data = xlsx(
        [
            row("OPO-03", "E-1", "Сосуд", "сосуд под давлением", wear=180),
            row("OPO-03", "E-2", "Сосуд", "сосуд под давлением", year=2999),
        ]
    )
    login_as(site.eng)
    batch_id = batch_id_from(upload(client, data))
    page = text_of(client.get(f"/imports/{batch_id}"))
    assert page_counts(page)["invalid"] == 2
    assert 'id="commit-form"' not in page
    assert "нет ни одной правильной строки" in page
    assert 'id="errors"' in page and f"/imports/{batch_id}/errors.xlsx" in page


def test_the_default_facility_choice_is_grouped_by_organization_for_an_admin(
    site, client, login_as
):
    login_as(site.world.admin)
    page = text_of(client.get("/imports"))
    form = page[
        page.index('name="default_facility_id"') : page.index(
            "</select>", page.index('name="default_facility_id"')
        )
    ]
    groups = re.findall(r'<optgroup label="([^"]+)">', form)
    assert site.org.name in groups and site.world.org_b.name in groups
    beta = form[form.index(f'label="{site.world.org_b.name}"') :]
    assert "B-01" in beta.split("</optgroup>")[0]


def test_an_engineer_chooses_among_their_own_facilities_only(site, client, login_as):
    login_as(site.eng)
    page = text_of(client.get("/imports"))
    assert "<optgroup" not in page and "B-01" not in page and "OPO-01" in page


def test_upload_without_a_file_is_answered_with_a_message(site, client, login_as):
    login_as(site.eng)
    response = client.post("/imports", data={}, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "Выберите файл Excel" in text_of(response)
    assert count(ImportBatch) == 0


def test_a_regulator_can_read_but_not_upload_or_commit(site, client, login_as, make):
    batch, _plan = preview(site.org, sample(ENGLISH), "en.xlsx", site.eng)
    login_as(site.world.national)  # sees every batch, changes none
    page = text_of(client.get("/imports"))
    assert 'id="upload-form"' not in page and "en.xlsx" in page
    assert client.get(f"/imports/{batch.id}").status_code == 200
    assert 'id="commit-form"' not in text_of(client.get(f"/imports/{batch.id}"))
    assert upload(client, sample(ENGLISH), "en.xlsx").status_code == 403
    assert client.post(f"/imports/{batch.id}/commit", data={}).status_code == 403
    assert client.post(f"/imports/{batch.id}/mapping", data={}).status_code == 403
    token = make.token(site.world.national)
    assert api_upload(client, token, sample(ENGLISH)).status_code == 403
    assert api_commit(client, token, batch.id).status_code == 403
    assert count(Equipment) == 3 and count(ImportBatch) == 1
    assert db.session.get(ImportBatch, batch.id).status == "previewed"


def test_another_organization_gets_404_on_someone_elses_batch(site, client, login_as, make):
    batch, _plan = preview(site.org, sample(ENGLISH), "en.xlsx", site.eng)
    token = make.token(site.world.eng_b)
    before = state()
    login_as(site.world.eng_b)
    for url in (
        f"/imports/{batch.id}",
        f"/imports/{batch.id}/file",
        f"/imports/{batch.id}/errors.xlsx",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/imports/{batch.id}/commit", data={}).status_code == 404
    assert client.post(f"/imports/{batch.id}/mapping", data={}).status_code == 404
    assert "en.xlsx" not in text_of(client.get("/imports"))
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get(f"/api/v1/imports/{batch.id}", headers=headers).status_code == 404
    assert api_commit(client, token, batch.id).status_code == 404
    listed = client.get("/api/v1/imports", headers=headers).get_json()
    assert listed == []
    assert state() == before
    assert db.session.get(ImportBatch, batch.id).status == "previewed"


# ---------------------------------------------------------------------------- API


def test_api_previews_by_default_then_commits(site, client, make):
    token = make.token(site.eng)
    response = api_upload(client, token, sample(CLEAN), "clean.xlsx")
    assert response.status_code == 201, response.get_json()
    report = response.get_json()
    assert report["status"] == "previewed"
    assert (report["rows"], report["created"], report["invalid"]) == (250, 250, 0)
    assert report["sha256"] == hashlib.sha256(sample(CLEAN)).hexdigest()
    assert count(Equipment) == 3  # a dry run by default

    response = api_commit(client, token, report["id"])
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "committed"
    assert response.get_json()["created"] == 250
    assert count(Equipment) == 253

    again = api_commit(client, token, report["id"])
    assert again.status_code == 409
    assert ALREADY in again.get_json()["message"]
    assert count(Equipment) == 253

    listed = client.get("/api/v1/imports", headers={"Authorization": f"Bearer {token}"})
    assert [b["id"] for b in listed.get_json()] == [report["id"]]
    got = client.get(
        f"/api/v1/imports/{report['id']}", headers={"Authorization": f"Bearer {token}"}
    ).get_json()
    assert got["status"] == "committed" and got["created"] == 250


def test_api_reports_invalid_rows_with_fields_and_loads_directly(site, client, make):
    token = make.token(site.eng)
    response = api_upload(client, token, sample(ONE_C), "1c.xlsx")
    assert response.status_code == 201
    report = response.get_json()
    assert report["invalid"] == 5 and len(report["errors"]) == 5
    for error in report["errors"]:
        assert set(error) == {"row", "sheet", "column", "value", "message"}
    by_row = {e["row"]: e for e in report["errors"]}
    assert by_row[26]["column"] == "Ввод в эксплуатацию"
    assert by_row[26]["value"] == "31.02.2015"
    assert by_row[85]["value"] == "двадцать"

    refused = api_commit(client, token, report["id"])
    assert refused.status_code == 409
    assert "строк с ошибками" in refused.get_json()["message"]
    assert count(Equipment) == 3

    direct = api_upload(
        client, token, sample(ONE_C), "1c.xlsx", dry_run="false", commit_valid_only="true"
    )
    assert direct.status_code == 201, direct.get_json()
    body = direct.get_json()
    assert body["status"] == "committed" and body["created"] == 175 and body["invalid"] == 5
    assert count(Equipment) == 3 + 175

    # without commit_valid_only a direct load is refused, nothing written
    refused = api_upload(client, token, sample(ONE_C), "1c.xlsx", dry_run="false")
    assert refused.status_code == 422
    assert "строк с ошибками" in refused.get_json()["message"]
    assert count(ImportBatch, ImportBatch.status == "committed") == 1


def test_api_new_facilities_and_missing_items_are_options_of_the_commit(site, client, make):
    make.equipment(site.fac["OPO-01"], "A-GONE")
    token = make.token(site.eng)
    data = xlsx([row("OPO-01", "A-1", "Котел"), row("OPO-08", "A-2", "Кран", "кран")])
    report = api_upload(client, token, data).get_json()
    assert report["new_facilities"] == ["OPO-08"]
    assert [m["inventory_no"] for m in report["missing_items"]] == ["A-GONE"]
    refused = api_commit(client, token, report["id"])
    assert refused.status_code == 409 and "OPO-08" in refused.get_json()["message"]
    done = api_commit(
        client,
        token,
        report["id"],
        {"create_facilities": True, "decommission_missing": True, "confirm_decommission": 1},
    )
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["decommissioned"] == 1
    assert facility_codes()["A-2"] == "OPO-08"
    assert item("A-GONE").status == EquipmentStatus.DECOMMISSIONED


def test_api_without_a_file_or_with_a_bad_one_answers_422(site, client, make):
    token = make.token(site.eng)
    headers = {"Authorization": f"Bearer {token}"}
    response = client.post(
        "/api/v1/imports", data={}, headers=headers, content_type="multipart/form-data"
    )
    assert response.status_code == 422
    assert "file" in response.get_json()["errors"]["json"]
    response = api_upload(client, token, b"%PDF-1.7\n...", "scan.xlsx")
    assert response.status_code == 422
    body = response.get_json()
    assert "PDF" in body["message"]
    assert body["errors"]["json"]["file"] == [body["message"]]
    assert count(ImportBatch) == 0


def test_api_admin_names_the_organization_by_bin(site, client, make):
    token = make.token(site.world.admin)
    response = api_upload(client, token, sample(ENGLISH))
    assert response.status_code == 422
    assert "organization" in response.get_json()["errors"]["json"]
    response = api_upload(client, token, sample(ENGLISH), organization=ORG_BIN)
    assert response.status_code == 201
    assert db.session.get(ImportBatch, response.get_json()["id"]).organization_id == site.org.id


# ---------------------------------------------------------------------------- CLI


def test_cli_dry_run_json_writes_nothing(site, runner, tmp_path):
    path = tmp_path / "1c.xlsx"
    path.write_bytes(sample(ONE_C))
    before = state()
    result = runner.invoke(
        args=["equipment", "import", str(path), "--org", ORG_BIN, "--dry-run", "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert {k: report[k] for k in ("rows", "created", "updated", "unchanged", "invalid")} == {
        "rows": 180,
        "created": 175,
        "updated": 0,
        "unchanged": 0,
        "invalid": 5,
    }
    assert report["missing"] == 0
    assert len(report["errors"]) == 5
    for error in report["errors"]:
        assert set(error) == {"row", "sheet", "column", "value", "message"}
    assert {e["row"] for e in report["errors"]} == {14, 26, 49, 85, 110}
    assert state() == before
    assert count(ImportBatch) == 0


def test_cli_imports_and_refuses_invalid_rows_unless_valid_only(site, runner, tmp_path):
    path = tmp_path / "1c.xlsx"
    path.write_bytes(sample(ONE_C))
    result = runner.invoke(args=["equipment", "import", str(path), "--org", ORG_BIN])
    assert result.exit_code == 1
    assert "строк с ошибками" in result.output
    assert count(Equipment) == 3 and count(ImportBatch) == 0

    result = runner.invoke(
        args=["equipment", "import", str(path), "--org", ORG_BIN, "--valid-only"]
    )
    assert result.exit_code == 0, result.output
    assert "создать: 175" in result.output and "с ошибками: 5" in result.output
    assert "строка 26" in result.output
    assert count(Equipment, Equipment.organization_id == site.org.id) == 2 + 175
    batch = db.session.execute(select(ImportBatch)).scalar_one()
    assert batch.status == "committed" and batch.filename == "1c.xlsx"
    assert batch.sha256 == hashlib.sha256(sample(ONE_C)).hexdigest()

    again = runner.invoke(
        args=["equipment", "import", str(path), "--org", ORG_BIN, "--valid-only", "--json"]
    )
    assert again.exit_code == 0, again.output
    report = json.loads(again.stdout)
    assert (report["created"], report["unchanged"], report["status"]) == (0, 175, "committed")


@pytest.mark.parametrize("bin_", ["990240001238", "12345", "БИН"])
def test_cli_bad_bin_is_a_usage_error(site, runner, tmp_path, bin_):
    path = tmp_path / "en.xlsx"
    path.write_bytes(sample(ENGLISH))
    result = runner.invoke(args=["equipment", "import", str(path), "--org", bin_])
    assert result.exit_code == 2
    assert "--org" in result.output and bin_ in result.output
    assert count(ImportBatch) == 0 and count(Equipment) == 3


def test_cli_non_spreadsheet_exits_1_with_a_message(site, runner, tmp_path):
    path = tmp_path / "list.xlsx"
    path.write_text("Инв. №;Наименование\n1;Котел\n", encoding="utf-8")
    result = runner.invoke(args=["equipment", "import", str(path), "--org", ORG_BIN])
    assert result.exit_code == 1
    assert "не является таблицей Excel" in result.output
    result = runner.invoke(args=["equipment", "import", str(path), "--org", ORG_BIN, "--json"])
    assert result.exit_code == 1
    assert "не является таблицей Excel" in json.loads(result.stdout)["error"]
    assert count(ImportBatch) == 0 and count(Equipment) == 3


# ---------------------------------------------------------------------------- bad files


def _zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (24 * 1024 * 1024))
    return out.getvalue()


def _word() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    return out.getvalue()


def _encrypted() -> bytes:
    head = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504
    return head + "EncryptedPackage".encode("utf-16-le") + b"\0" * 2048


def _title_only() -> bytes:
    return xlsx([], header=None, title="Ведомость технических устройств на 01.01.2026")


def _too_many_rows() -> bytes:
    return xlsx([row("OPO-01", f"R-{i}", f"Котел {i}") for i in range(12)])


BAD_FILES = {
    "pdf": (lambda: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", ("PDF",)),
    "random": (lambda: random.Random(7).randbytes(4096), ("не является таблицей Excel",)),
    "text": (lambda: "Инв. №;Наименование\n1;Котел\n".encode(), ("текстовый файл",)),
    "empty": (lambda: b"", ("Файл пустой",)),
    "zip bomb": (_zip_bomb, ("zip-бомбу",)),
    "word": (_word, ("документ Word",)),
    "encrypted": (_encrypted, ("зашифрован",)),
    "truncated": (lambda: sample(ENGLISH)[:3000], ("повреждён",)),
    "title only": (_title_only, ("не найдена строка заголовков",)),
    "too many rows": (_too_many_rows, ("Слишком много строк", "не более 10")),
    "too big": (lambda: sample(ENGLISH), ("Файл слишком большой", "не более")),
}


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_bad_files_are_refused_with_one_clear_message(
    site, client, login_as, make, app, monkeypatch, kind
):
    make_data, messages = BAD_FILES[kind]
    data = make_data()
    if kind == "too many rows":
        monkeypatch.setitem(app.config, "IMPORT_MAX_ROWS", 10)
    if kind == "too big":
        monkeypatch.setitem(app.config, "IMPORT_MAX_BYTES", 10_000)
        assert len(data) > 10_000
    login_as(site.eng)
    token = make.token(site.eng)
    before = state()

    response = upload(client, data, "list.xlsx")
    assert response.status_code == 400, (kind, response.status_code)
    page = text_of(response)
    for message in messages:
        if message in page:
            break
    else:
        pytest.fail(f"{kind}: none of {messages} in the page: {page[-1500:]}")
    assert 'id="upload-form"' in page  # the same form, to try again

    for dry_run in ("true", "false"):
        response = api_upload(client, token, data, "list.xlsx", dry_run=dry_run)
        assert response.status_code == 422, (kind, response.status_code)
        body = response.get_json()
        assert any(m in body["message"] for m in messages), body
        assert body["errors"]["json"]["file"] == [body["message"]]
    assert state() == before
    assert count(ImportBatch) == 0


def test_a_request_over_the_upload_limit_is_413_with_a_message(
    site, client, login_as, make, app, monkeypatch
):
    monkeypatch.setitem(app.config, "IMPORT_MAX_BYTES", 5_000)
    login_as(site.eng)
    token = make.token(site.eng)
    before = state()
    too_big = sample(ENGLISH) + b"\0" * 100_000  # above the limit and the form's margin
    response = upload(client, too_big)
    assert response.status_code == 413
    assert "Загружаемый файл слишком велик" in text_of(response)
    response = api_upload(client, token, too_big)
    assert response.status_code == 413
    assert "слишком велик" in response.get_json()["message"]
    assert state() == before and count(ImportBatch) == 0


def test_the_row_limit_comes_from_the_configuration(site, client, login_as, app, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_ROWS", 20)
    login_as(site.eng)
    ok = xlsx([row("OPO-01", f"R-{i}", f"Котел {i}") for i in range(10)])
    assert upload(client, ok).status_code == 302
    too_many = xlsx([row("OPO-01", f"R-{i}", f"Котел {i}") for i in range(25)])
    response = upload(client, too_many)
    assert response.status_code == 400
    assert "не более 20" in text_of(response)
    assert count(ImportBatch) == 1


@pytest.mark.parametrize(
    "cell",
    [
        ("B2", "И" * 80, "Инвентарный номер"),  # the column holds 60 characters
        ("C2", "Котел " * 80, "Наименование"),  # 300
    ],
    ids=["long inventory number", "long name"],
)
def test_text_longer_than_the_registry_allows_is_an_invalid_row(site, client, make, cell):
    ref, value, column = cell
    data = edited(xlsx([row("OPO-01", "L-1", "Котел"), row("OPO-01", "L-2", "Кран")]), {ref: value})
    token = make.token(site.eng)
    response = api_upload(client, token, data, dry_run="false", commit_valid_only="true")
    assert response.status_code != 500
    report = response.get_json()
    assert [(e["row"], e["column"]) for e in report["errors"]] == [(2, column)]
    assert count(Equipment, Equipment.inventory_no == "L-2") == 1


def test_a_cycle_count_beyond_the_column_is_an_invalid_row(site, client, make):
    data = xlsx(
        [["OPO-01", "C-1", "Кран", "кран", 10_000_000_000], ["OPO-01", "C-2", "Кран", "кран", 5]],
        header=[
            "Код ОПО",
            "Инвентарный номер",
            "Наименование",
            "Вид устройства",
            "Наработка, циклов",
        ],
    )
    token = make.token(site.eng)
    response = api_upload(client, token, data, dry_run="false", commit_valid_only="true")
    assert response.status_code != 500
    assert [(e["row"], e["column"]) for e in response.get_json()["errors"]] == [
        (2, "Наработка, циклов")
    ]


def test_odd_cell_values_are_reported_not_crashed_on(site, client, make):
    """Error cells, booleans, formulas without a value, huge numbers and far dates."""
    book = Workbook()
    sheet = book.active
    sheet.append([*COLUMNS, "Рабочее давление, МПа", "Статус"])
    sheet.append(["OPO-01", "O-1", "Котел", "котел паровой", True, "=1/0", 1e300, "#N/A"])
    sheet.append(["OPO-01", "O-2", "Котел", "котел паровой", 99999, datetime(9999, 12, 31), -5, -1])
    sheet.append(["OPO-01", "=A1", '=B2&"x"', "лифт", "1990 г.", "1991", "20 лет", "45%"])
    sheet.append(["OPO-01", "O-4", "Котел", "котел паровой", 1990, None, 20, 45, "1,4", "?!"])
    sheet.append(["OPO-01", "O-5", "Котел", "котел паровой", 1990, "в 1991", 20, "", "", ""])
    token = make.token(site.eng)
    response = api_upload(client, token, save(book))
    assert response.status_code == 201, response.get_data(as_text=True)[:2000]
    report = response.get_json()
    assert {e["row"] for e in report["errors"]} == {2, 3, 4, 5, 6}
    for error in report["errors"]:
        assert error["message"] and error["column"], error
    columns = {(e["row"], e["column"]) for e in report["errors"]}
    assert {(2, "Год изготовления"), (2, "Срок службы, лет")} <= columns  # TRUE, 1e300
    assert {(3, "Год изготовления"), (3, "Срок службы, лет"), (3, "Износ, %")} <= columns
    assert (4, "Инвентарный номер") in columns and (5, "Статус") in columns
    refused = api_commit(client, token, report["id"], {"commit_valid_only": True})
    assert refused.status_code == 409
    assert "нет ни одной правильной строки" in refused.get_json()["message"]
    assert count(Equipment) == 3


def test_an_infinite_number_is_an_invalid_row(site, client, make):
    data = xlsx(
        [["OPO-01", "P-1", "Котел", "котел паровой", "9" * 400 + " МПа"]],
        header=["Код ОПО", "Инвентарный номер", "Наименование", "Вид устройства", "Давление, МПа"],
    )
    token = make.token(site.eng)
    response = api_upload(client, token, data, dry_run="false")
    assert response.status_code == 422, response.status_code
    assert count(Equipment) == 3


def test_superscript_digits_are_text_not_numbers(client, world, login_as):
    """«²» passes str.isdigit() but int() refuses it: neither a cell nor a form field holding
    one may reach int() (a 500). The row with such a year is an invalid row, the other loads."""
    odd_year = row("A-01", "A-SUP-2", "Котел", commissioned=datetime(1991, 3, 1))
    odd_year[4] = "19⁹0"
    data = xlsx(
        [["²", *row("A-01", "A-SUP", "Котел ²")], ["3", *odd_year]],
        header=["№ п/п", *COLUMNS],
    )
    login_as(world.eng_a)
    page = upload(client, data, default_facility_id="²")
    assert page.status_code == 400 and "ОПО по умолчанию «²»" in page.get_data(as_text=True)
    page = upload(client, data)
    assert page.status_code == 302, page.get_data(as_text=True)[:2000]
    token = make_token(world.eng_a)
    response = api_upload(client, token, data, dry_run="true", default_facility_id="²")
    assert response.status_code == 422, response.get_data(as_text=True)[:2000]
    response = api_upload(client, token, data, dry_run="true")
    assert response.status_code == 201, response.get_data(as_text=True)[:2000]
    report = response.get_json()
    assert (report["rows"], report["created"], report["invalid"]) == (2, 1, 1), report
    assert report["errors"][0]["value"] == "19⁹0"


# ---------------------------------------------------------------------------- adversarial files

H = ["№ п/п", "Инвентарный номер", "Наименование", "Вид ТУ", "Код ОПО"]


def book(rows, merges=(), sheets=None, formats=None) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for values in rows:
        sheet.append(values)
    for cell_range in merges:
        sheet.merge_cells(cell_range)
    for ref, number_format in (formats or {}).items():
        sheet[ref].number_format = number_format
    for title, more in sheets or []:
        extra = workbook.create_sheet(title)
        for values in more:
            extra.append(values)
    return save(workbook)


def cranes(prefix: str, count: int, facility: str) -> list[list]:
    return [
        [i + 1, f"{prefix}-{i}", f"Кран {prefix}{i}", "кран мостовой", facility]
        for i in range(count)
    ]


def test_every_list_sheet_counts_and_nothing_on_another_sheet_is_missing(site, make):
    for i in range(32):
        make.equipment(
            site.fac["OPO-01"], f"A-{i}", name=f"Кран A{i}", device_type=DeviceType.CRANE
        )
    for i in range(68):
        make.equipment(
            site.fac["OPO-01"], f"B-{i}", name=f"Кран B{i}", device_type=DeviceType.CRANE
        )
    data = book(
        [H, *cranes("A", 32, "OPO-01")], sheets=[("Прочие ТУ", [H, *cranes("B", 68, "OPO-01")])]
    )
    batch, plan = preview(site.org, data, "two.xlsx", site.eng)
    assert plan.counts()["rows"] == 100 and plan.counts()["missing"] == 0
    assert [s["name"] for s in plan.sheets if s["read"]] == ["Sheet", "Прочие ТУ"]
    commit(batch, site.eng, decommission_missing=True)
    assert count(Equipment, Equipment.status == EquipmentStatus.DECOMMISSIONED) == 0


def test_an_item_created_from_a_second_sheet_says_which_sheet(site, client, login_as):
    data = book(
        [H, *cranes("A", 2, "OPO-01")], sheets=[("Прочие ТУ", [H, *cranes("B", 2, "OPO-01")])]
    )
    batch, _plan = preview(site.org, data, "two.xlsx", site.eng)
    commit(batch, site.eng)
    login_as(site.eng)
    page = text_of(client.get(f"/equipment/{item('B-1').id}"))
    assert "строка 3 листа «Прочие ТУ»" in page


def test_failed_rows_of_several_sheets_download_one_sheet_each(site, client, login_as):
    login_as(site.eng)
    first = [H, [1, "E-1", "Кран", "кран", "OPO-01"], [2, "E-2", None, "кран", "OPO-01"]]
    second = [H, [1, "E-3", "Таль", "неведомое", "OPO-02"]]
    batch_id = batch_id_from(upload(client, book(first, sheets=[("Склад", second)])))
    page = text_of(client.get(f"/imports/{batch_id}"))
    assert "«Склад»" in page and page_counts(page)["invalid"] == 2
    workbook = _download_errors(client, batch_id)
    assert workbook.sheetnames == ["Sheet", "Склад"]
    assert [r[1] for r in workbook["Склад"].iter_rows(min_row=2, values_only=True)] == ["E-3"]
    assert workbook["Склад"]["F2"].value == 2  # the row of the source sheet
    assert "неизвестный вид" in workbook["Склад"]["G2"].value


def test_error_cells_never_erase_registry_values(site, make):
    make.equipment(site.fac["OPO-01"], "N-1", model="М-860", manufacture_year=1997)
    rows = [
        ["Код ОПО", "Инвентарный номер", "Наименование", "Модель", "Год изготовления"],
        ["OPO-01", "N-1", "Котел N-1", "#N/A", "#REF!"],
    ]
    batch, plan = preview(site.org, book(rows), actor=site.eng)
    assert {e["message"].split(";")[0] for e in plan.errors} == {
        "ошибка в формуле: #N/A",
        "ошибка в формуле: #REF!",
    }
    assert plan.counts()["updated"] == 0
    with pytest.raises(ImportRefused, match="нет ни одной правильной строки"):
        commit(batch, site.eng, commit_valid_only=True)
    assert (item("N-1").model, item("N-1").manufacture_year) == ("М-860", 1997)


def test_an_unchanged_export_imports_as_unchanged(site, make, client, login_as):
    for i in range(6):
        make.equipment(
            site.fac[f"OPO-0{i % 5 + 1}"],
            f"X-{i}",
            name=f"Котел X{i}",
            model="ДЕ-10",
            commissioned_on=date(1990 + i, 1, 1),
            manufacture_year=1989,
        )
    measured = ConditionAssessment(
        equipment_id=item("X-1").id,
        wear_pct=55.0,
        assessed_on=date(2020, 1, 1),
        method=AssessmentMethod.DIAGNOSTICS,
    )
    db.session.add(measured)
    db.session.flush()
    refresh_curves(db.session, [item("X-1").id], {})
    db.session.commit()
    login_as(site.eng)
    exported = client.get("/equipment/export.xlsx")
    assert exported.status_code == 200
    assessments = count(ConditionAssessment)
    batch, plan = preview(site.org, exported.get_data(), "export.xlsx", site.eng)
    counts = plan.counts()
    assert (counts["created"], counts["updated"], counts["invalid"]) == (0, 0, 0), plan.errors
    assert counts["unchanged"] == count(Equipment, Equipment.organization_id == site.org.id)
    assert "wear_pct" not in plan.mapping.values()
    assert any("Расчётные столбцы" in note for note in plan.notes)
    commit(batch, site.eng)
    assert count(ConditionAssessment) == assessments


@pytest.mark.parametrize(
    "label",
    [
        "ОПО-01",  # Cyrillic letters
        "opo 01",
        "Котельная № 1",
        "Котельная N1",
        "ОПО «Котельная №1»",
        "ОПО: «Котельная №1»",
        "Котельная №1 (рег. № А12-00001-0001)",
        "Опасный производственный объект «Котельная №1»",
        "1. Котельная №1",
        "КОТЕЛЬНАЯ  №1",
    ],
)
def test_facilities_are_found_for_small_differences(site, make, label):
    make.equipment(site.fac["OPO-01"], "F-1")
    rows = [
        ["ОПО", "Инвентарный номер", "Наименование", "Вид ТУ"],
        [label, "F-1", "Котел F-1", "котел паровой"],
        [label, "F-2", "Котел F-2", "котел паровой"],
    ]
    batch, plan = preview(site.org, book(rows), actor=site.eng)
    assert plan.new_facilities == [] and plan.errors == []
    assert {r.facility_key for r in plan.rows} == {("id", str(site.fac["OPO-01"].id))}
    assert [r.action for r in plan.rows] == ["unchanged", "create"]


def test_long_new_facility_names_get_unique_codes(site, client, login_as):
    long = "Участок подъёмных сооружений и грузоподъёмных механизмов"
    rows = [
        ["№ п/п", "Инв. №", "Наименование", "Вид ТУ"],
        [f"ОПО: {long} №1"],
        [1, "L-1", "Кран", "кран"],
        [f"ОПО: {long} №2"],
        [2, "L-2", "Таль", "таль"],
    ]
    make_existing = Facility(
        organization_id=site.org.id,
        code=long[:38].rstrip(),
        name="есть",
        region_id=site.org.region_id,
    )
    db.session.add(make_existing)
    db.session.commit()
    batch, plan = preview(site.org, book(rows), actor=site.eng)
    codes = [f["code"] for f in plan.new_facilities]
    assert len(set(c.casefold() for c in codes)) == 2 and all(len(c) <= 40 for c in codes)
    assert make_existing.code not in codes
    assert [f["name"] for f in plan.new_facilities] == [f"{long} №1", f"{long} №2"]
    login_as(site.eng)
    page = text_of(client.get(f"/imports/{batch.id}"))
    assert all(f"«{code}»" in page for code in codes)
    commit(batch, site.eng, create_facilities=True)
    names = dict(db.session.execute(select(Facility.code, Facility.name)).all())
    assert {names[c] for c in codes} == {f"{long} №1", f"{long} №2"}
    assert {k: v for k, v in facility_codes().items() if k.startswith("L-")} == {
        "L-1": codes[0],
        "L-2": codes[1],
    }


def test_inventory_numbers_match_the_registry_in_any_case_and_spacing(site, make):
    make.equipment(site.fac["OPO-01"], "ИН-0000016", name="Котел 16")
    make.equipment(site.fac["OPO-01"], "0000100200", name="Котел 200")
    make.equipment(site.fac["OPO-01"], "1001", name="Котел 1001")
    rows = [
        ["Код ОПО", "Инвентарный номер", "Наименование", "Вид ТУ"],
        ["OPO-01", "ин-0000016", "Котел 16", "котел паровой"],
        ["OPO-01", 100200, "Котел 200", "котел паровой"],
        ["OPO-01", "1001.0", "Котел 1001", "котел паровой"],
    ]
    batch, plan = preview(site.org, book(rows, formats={"B3": "0000000000"}), actor=site.eng)
    assert [(r.inventory_no, r.action) for r in plan.rows] == [
        ("ИН-0000016", "unchanged"),
        ("0000100200", "unchanged"),
        ("1001", "unchanged"),
    ]
    assert plan.counts()["missing"] == 0


def test_notes_sheets_and_skipped_rows_are_shown_everywhere(
    site, client, login_as, runner, tmp_path
):
    rows = [
        ["Инв. №", "Наименование", "Вид ТУ", "Износ", "Код ОПО"],
        ["W-1", "Таль", "таль", 0.45, "OPO-01"],
        ["W-2", "Таль", "таль", 0.6, "OPO-01"],
        ["Итого", None, None, None, None],
    ]
    data = book(rows, formats={"D2": "0%", "D3": "0%"})
    login_as(site.eng)
    page = text_of(client.get(f"/imports/{batch_id_from(upload(client, data))}"))
    assert "записан долями единицы в процентном формате" in page
    assert "итоговая строка" in page
    token = make_token(site.eng)
    report = api_upload(client, token, data).get_json()
    assert any("процентном формате" in n for n in report["notes"])
    assert report["skipped_rows"][0]["reason"] == "итоговая строка"
    assert report["sheets"][0]["read"] is True
    path = tmp_path / "w.xlsx"
    path.write_bytes(data)
    result = runner.invoke(
        args=["equipment", "import", str(path), "--org", ORG_BIN, "--dry-run", "--json"]
    )
    assert any("процентном формате" in n for n in json.loads(result.stdout)["notes"])


def test_a_title_naming_another_bin_needs_a_confirmation(site, client, login_as):
    rows = [
        ["Организация: АО «Бета», БИН 990240001237"],
        ["Инв. №", "Наименование", "Вид ТУ", "Код ОПО"],
        ["Z-1", "Кран", "кран", "OPO-01"],
    ]
    login_as(site.eng)
    batch_id = batch_id_from(upload(client, book(rows)))
    page = text_of(client.get(f"/imports/{batch_id}"))
    assert "БИН 990240001237" in page and 'name="confirm_warnings"' in page
    client.post(f"/imports/{batch_id}/commit", data={})
    assert item("Z-1") is None
    client.post(f"/imports/{batch_id}/commit", data={"confirm_warnings": "1"})
    assert item("Z-1") is not None
    # the organization's own BIN is no warning
    rows[0] = [f"Организация: ТОО «Альфа», БИН {ORG_BIN}"]
    batch, plan = preview(site.org, book(rows), actor=site.eng)
    assert plan.warnings == []


def test_wear_without_a_date_takes_the_date_of_the_list(site):
    rows = [
        ["Ведомость ТУ по состоянию на 03.11.2026"],
        ["Инв. №", "Наименование", "Вид ТУ", "Износ, %", "Код ОПО"],
        ["D-1", "Кран", "кран", 40, "OPO-01"],
    ]
    batch, plan = preview(site.org, book(rows), actor=site.eng)
    assert plan.rows[0].assessment == (40.0, date(2026, 11, 3))
    assert plan.report()["as_of"] == "2026-11-03"
    assert any("03.11.2026" in note for note in plan.notes)
    commit(batch, site.eng)
    assert db.session.scalar(select(ConditionAssessment.assessed_on)) == date(2026, 11, 3)


def test_upload_limits_say_the_real_size_and_count_data_rows(
    site, client, login_as, app, monkeypatch
):
    login_as(site.eng)
    big = book([H]) + b"\0" * (55 * 1024 * 1024)
    response = upload(client, big)  # refused from its Content-Length, before it is read
    assert response.status_code == 413
    assert "слишком велик: 55,0 МБ, допускается не более 50 МБ" in text_of(response)
    monkeypatch.setitem(app.config, "IMPORT_MAX_ROWS", 3)
    response = upload(client, book([H, *cranes("R", 3, "OPO-01")]))
    assert response.status_code == 302


def test_moving_registry_items_into_a_new_facility_needs_a_confirmation(site, make):
    make.equipment(site.fac["OPO-01"], "M-1")
    rows = [
        ["ОПО", "Инвентарный номер", "Наименование", "Вид ТУ"],
        ["Котельная-бис", "M-1", "Котел M-1", "котел паровой"],
    ]
    batch, plan = preview(site.org, book(rows), actor=site.eng)
    assert len(plan.warnings) == 1 and "перенесены" in plan.warnings[0]
    with pytest.raises(ImportRefused, match="перенесены"):
        commit(batch, site.eng, create_facilities=True)
    assert facility_codes()["M-1"] == "OPO-01"
    commit(batch, site.eng, create_facilities=True, confirm_warnings=True)
    assert facility_codes()["M-1"] == "Котельная-бис"
