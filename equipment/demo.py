"""Realistic demo data (``flask seed-demo``), also used by the benchmarks.

The fleet follows published figures for Kazakhstan: most devices made in 1970–1990 with a newer
tail, about 35–40 % past their normative service life, average wear 50–65 %. Everything is
inserted set-based (one executemany per table) so 200,000 items load in seconds.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from accounts.models import Organization, Region, Role, User
from accounts.services import hash_password, seed_regions
from core import clock
from core.db import bulk_insert
from equipment.catalog import (
    AssessmentMethod,
    DeviceType,
    EquipmentStatus,
    HazardClass,
    InspectionKind,
    InspectionResult,
    LifeSource,
    Sector,
)
from equipment.indicators_sql import flag_exprs, wear_expr
from equipment.models import ConditionAssessment, Equipment, Facility, Inspection
from equipment.services import CURVE_FIELDS
from equipment.wear import Event, WearInputs, add_years, facts_of_events, thresholds_for, wear_curve

DEMO_PASSWORD = "demo-password"

ORGANIZATIONS = (
    # name, BIN (valid checksum), region code, facilities
    (
        "ТОО «Павлодарэнергосервис»",
        "040540526019",
        "PAV",
        (
            ("OPO-01", "Котельная №1", Sector.BOILERS),
            ("OPO-02", "Котельная №2", Sector.BOILERS),
            ("OPO-03", "Компрессорная станция", Sector.GAS),
            ("OPO-04", "Склад ГСМ", Sector.OIL_GAS),
            ("OPO-05", "Цех подъёмных сооружений", Sector.LIFTING),
        ),
    ),
    (
        "АО «Карагандинский металлургический комбинат»",
        "990240001237",
        "KAR",
        (
            ("KMK-01", "Доменный цех", Sector.METALLURGY),
            ("KMK-02", "Кислородная станция", Sector.CHEMICAL),
            ("KMK-03", "Мостовые краны ЭСПЦ", Sector.LIFTING),
            ("KMK-04", "ТЭЦ-ПВС", Sector.ENERGY),
            ("KMK-05", "Газовое хозяйство", Sector.GAS),
        ),
    ),
    (
        "ТОО «Атырау Мунай Сервис»",
        "050140002711",
        "ATY",
        (
            ("AMS-01", "Нефтепромысел Восточный", Sector.OIL_GAS),
            ("AMS-02", "Резервуарный парк", Sector.PETROCHEMICAL),
            ("AMS-03", "Установка подготовки нефти", Sector.PETROCHEMICAL),
            ("AMS-04", "Магистральный нефтепровод, участок 2", Sector.PIPELINES),
        ),
    ),
    (
        "ТОО «Костанай Астык»",
        "100940011345",
        "KUS",
        (
            ("KA-01", "Элеватор Рудный", Sector.GRAIN),
            ("KA-02", "Элеватор Житикара", Sector.GRAIN),
            ("KA-03", "Котельная элеватора", Sector.BOILERS),
        ),
    ),
    (
        "АО «Алматы Лифт Сервис»",
        "960640000545",
        "ALA",
        (
            ("ALS-01", "Лифтовое хозяйство, Бостандыкский район", Sector.LIFTING),
            ("ALS-02", "Эскалаторы метрополитена", Sector.LIFTING),
            ("ALS-03", "Лифтовое хозяйство, Алмалинский район", Sector.LIFTING),
        ),
    ),
)

DEVICE_PROFILES = {
    # type: (weight, typical life in years, names)
    DeviceType.PRESSURE_VESSEL: (
        14,
        20,
        ("Ресивер воздушный В-{n}", "Деаэратор ДА-{n}", "Сепаратор газовый СГ-{n}"),
    ),
    DeviceType.STEAM_BOILER: (5, 24, ("Котел ДЕ-{n}-14ГМ", "Котел ДКВР-{n}-13")),
    DeviceType.HOT_WATER_BOILER: (5, 20, ("Котел КВ-ГМ-{n}-150", "Котел ПТВМ-{n}")),
    DeviceType.STEAM_PIPELINE: (10, 25, ("Паропровод Ду{n}", "Трубопровод сетевой воды Ду{n}")),
    DeviceType.PROCESS_PIPELINE: (
        12,
        20,
        ("Газопровод технологический Ду{n}", "Трубопровод нефти Ду{n}"),
    ),
    DeviceType.GAS_EQUIPMENT: (9, 20, ("ГРП-{n} котельной", "Горелка ГМГ-{n}", "ГРПШ-{n}")),
    DeviceType.CRANE: (
        12,
        25,
        ("Кран мостовой Q={n} т", "Кран козловой КК-{n}", "Автокран КС-{n}"),
    ),
    DeviceType.HOIST: (6, 10, ("Таль электрическая ТЭ-{n}", "Лебедка ЛМ-{n}")),
    DeviceType.LIFT: (12, 25, ("Лифт пассажирский ПП-{n}", "Лифт грузовой ГП-{n}")),
    DeviceType.ESCALATOR: (2, 25, ("Эскалатор ЭТ-{n}",)),
    DeviceType.TANK: (9, 30, ("РВС-{n}", "Резервуар горизонтальный РГС-{n}")),
    DeviceType.MINING: (
        2,
        12,
        ("Подъемная машина ЦР-{n}", "Вентилятор главного проветривания ВЦ-{n}"),
    ),
    DeviceType.OTHER: (2, 15, ("Компрессор {n}ВП",)),
}
MANUFACTURERS = (
    "Бийский котельный завод",
    "Дорогобужкотломаш",
    "Уралхиммаш",
    "Петрозаводскмаш",
    "Карагандинский завод «Кайнар»",
    "Усть-Каменогорский арматурный завод",
    "ТКЗ «Красный котельщик»",
    "Белгородский завод энергетического машиностроения",
)
SIZES = (4, 6, 10, 16, 25, 50, 100)


@dataclass
class DemoSummary:
    organizations: int
    facilities: int
    items: int
    users: int
    past_life_pct: float
    average_wear: float


def _ensure_org_and_facilities(session: Session, regions: dict[str, Region]):
    facilities: list[Facility] = []
    for name, bin_, region_code, facility_rows in ORGANIZATIONS:
        org = session.execute(select(Organization).where(Organization.bin == bin_)).scalar()
        if org is None:
            org = Organization(
                name=name,
                bin=bin_,
                region_id=regions[region_code].id,
                email=f"ops@{bin_}.demo.kz",
                phone="+7 700 000 00 00",
            )
            session.add(org)
            session.flush()
        for i, (code, fname, sector) in enumerate(facility_rows):
            fac = session.execute(
                select(Facility).where(Facility.organization_id == org.id, Facility.code == code)
            ).scalar()
            if fac is None:
                fac = Facility(
                    organization_id=org.id,
                    code=code,
                    name=fname,
                    region_id=org.region_id,
                    sector=sector,
                    hazard_class=list(HazardClass)[i % 4],
                    address=f"{regions[region_code].name_ru}, промзона, {i + 1}",
                )
                session.add(fac)
                session.flush()
            facilities.append(fac)
    return facilities


def _ensure_users(session: Session, regions: dict[str, Region]) -> int:
    first_org = session.execute(
        select(Organization).where(Organization.bin == ORGANIZATIONS[0][1])
    ).scalar_one()
    second_org = session.execute(
        select(Organization).where(Organization.bin == ORGANIZATIONS[1][1])
    ).scalar_one()
    wanted = (
        ("admin@demo.kz", "Администратор", Role.ADMIN, None, None),
        ("engineer@demo.kz", "Инженер Павлодарэнергосервис", Role.ENGINEER, first_org.id, None),
        ("engineer2@demo.kz", "Инженер КМК", Role.ENGINEER, second_org.id, None),
        (
            "regulator@demo.kz",
            "Инспектор ДЧС Павлодарской обл.",
            Role.REGULATOR,
            None,
            regions["PAV"].id,
        ),
        ("national@demo.kz", "Комитет промышленной безопасности", Role.REGULATOR, None, None),
    )
    existing = set(session.execute(select(User.email)).scalars())
    password_hash = hash_password(DEMO_PASSWORD)
    new = [
        User(
            email=email,
            name=name,
            role=role,
            organization_id=org_id,
            region_id=region_id,
            password_hash=password_hash,
        )
        for email, name, role, org_id, region_id in wanted
        if email not in existing
    ]
    session.add_all(new)
    return len(new)


def _item(rng: random.Random, today: date, facility: Facility, seq: int):
    types = list(DEVICE_PROFILES)
    dtype = rng.choices(types, weights=[DEVICE_PROFILES[t][0] for t in types])[0]
    _w, life, names = DEVICE_PROFILES[dtype]
    year = rng.randint(1970, 1990) if rng.random() < 0.68 else rng.randint(1991, today.year - 1)
    commissioned = date(year, 1, 1) + timedelta(days=rng.randint(30, 500))
    commissioned = min(commissioned, today - timedelta(days=30))
    known_life = rng.random() > 0.08
    row = {
        "organization_id": facility.organization_id,
        "facility_id": facility.id,
        "inventory_no": f"ИН-{seq:07d}",
        "name": rng.choice(names).format(n=rng.choice(SIZES)),
        "device_type": dtype,
        "model": f"М-{rng.randint(100, 999)}",
        "manufacturer": rng.choice(MANUFACTURERS),
        "factory_no": str(rng.randint(1000, 99999)),
        "registration_no": f"{rng.randint(10, 9999)}-{rng.choice('КГПС')}",
        "manufacture_year": year,
        "commissioned_on": commissioned,
        "service_life_years": float(life) if known_life else None,
        "service_life_source": rng.choice([LifeSource.MANUFACTURER, LifeSource.NORM])
        if known_life
        else LifeSource.UNKNOWN,
        "pressure_mpa": round(rng.choice([0.6, 1.0, 1.4, 2.5, 4.0]), 2)
        if dtype
        in (
            DeviceType.PRESSURE_VESSEL,
            DeviceType.STEAM_BOILER,
            DeviceType.STEAM_PIPELINE,
            DeviceType.PROCESS_PIPELINE,
        )
        else None,
        "status": rng.choices(
            [EquipmentStatus.IN_SERVICE, EquipmentStatus.SUSPENDED, EquipmentStatus.CONSERVED],
            weights=[92, 5, 3],
        )[0],
    }
    if dtype in (DeviceType.CRANE, DeviceType.LIFT) and rng.random() < 0.3:
        row["cycle_limit"] = 200_000
        row["cycle_count"] = rng.randint(20_000, 210_000)
    return row, life if known_life else None


def _history(rng: random.Random, today: date, row: dict, life: float | None):
    """An assessment, the latest examination and, for old devices, an expertise."""
    assessments, inspections = [], []
    age_end = add_years(row["commissioned_on"], life or 20)
    if age_end <= today or rng.random() < 0.35:
        target = min(97.0, max(8.0, rng.gauss(58, 16)))
        assessed_on = today - timedelta(days=rng.randint(60, 1400))
        elapsed = (today - assessed_on).days * 100.0 / ((life or 20) * 365.25)
        assessments.append(
            {
                "assessed_on": assessed_on,
                "wear_pct": round(max(3.0, target - elapsed), 1),
                "method": rng.choice([AssessmentMethod.DIAGNOSTICS, AssessmentMethod.EXPERT]),
                "document_ref": f"Заключение №{rng.randint(1, 999)}-{assessed_on.year}",
            }
        )
    if age_end <= today and rng.random() < 0.62:
        done = today - timedelta(days=rng.randint(100, 1500))
        if rng.random() < 0.06:
            inspections.append(
                {
                    "kind": InspectionKind.EXPERTISE,
                    "done_on": done,
                    "result": InspectionResult.REFUSED,
                    "next_due_on": None,
                    "extended_until": None,
                    "document_no": f"ЭПБ-{done.year}-{rng.randint(1, 999)}",
                }
            )
        else:
            until = done + timedelta(days=rng.randint(3 * 365, 6 * 365))
            inspections.append(
                {
                    "kind": InspectionKind.EXPERTISE,
                    "done_on": done,
                    "result": InspectionResult.EXTENDED,
                    "next_due_on": until,
                    "extended_until": until,
                    "document_no": f"ЭПБ-{done.year}-{rng.randint(1, 999)}",
                }
            )
    last = today - timedelta(days=rng.randint(10, 1700))
    failed = rng.random() < 0.02  # a few devices stopped by a failed examination
    inspections.append(
        {
            "kind": InspectionKind.EXAMINATION,
            "done_on": last,
            "result": InspectionResult.FAILED if failed else InspectionResult.PASSED,
            "next_due_on": add_years(last, 4),
            "extended_until": None,
            "document_no": f"ТО-{last.year}-{rng.randint(1, 999)}",
        }
    )
    return assessments, inspections


def seed_demo(
    session: Session,
    items: int = 2000,
    thresholds_config=None,
    seed: int = 42,
    today: date | None = None,
) -> DemoSummary:
    """Create (or top up to ``items``) the demo registry. Idempotent for the same arguments."""
    today = today or clock.today()
    thresholds_config = thresholds_config or {}
    rng = random.Random(seed)
    seed_regions(session)
    session.flush()
    regions = {r.code: r for r in session.execute(select(Region)).scalars()}
    facilities = _ensure_org_and_facilities(session, regions)
    users = _ensure_users(session, regions)
    existing = set(session.execute(select(Equipment.inventory_no)).scalars())
    rows, histories = [], {}
    for seq in range(1, items + 1):
        facility = facilities[(seq * 7919) % len(facilities)]
        row, life = _item(rng, today, facility, seq)
        history = _history(rng, today, row, life)
        if row["inventory_no"] in existing:
            continue
        assessments, inspections = history
        events = facts_of_events(
            Event(
                kind=i["kind"],
                done_on=i["done_on"],
                result=i["result"],
                next_due_on=i["next_due_on"],
                extended_until=i["extended_until"],
            )
            for i in inspections
        )
        curve = wear_curve(
            WearInputs(
                commissioned_on=row["commissioned_on"],
                manufacture_year=row["manufacture_year"],
                service_life_years=row["service_life_years"],
                assessed_pct=assessments[0]["wear_pct"] if assessments else None,
                assessed_on=assessments[0]["assessed_on"] if assessments else None,
                extended_until=events.extended_until,
                refused_on=events.refused_on,
                next_inspection_due=events.next_due,
                cycle_limit=row.get("cycle_limit"),
                cycle_count=row.get("cycle_count"),
            ),
            thresholds_for(row["device_type"], thresholds_config),
        )
        row.update({name: getattr(curve, name.removeprefix("wear_")) for name in CURVE_FIELDS})
        row.setdefault("cycle_limit", None)
        row.setdefault("cycle_count", None)
        rows.append(row)
        histories[row["inventory_no"]] = history
    bulk_insert(session, Equipment, rows)
    if rows:
        ids = dict(session.execute(select(Equipment.inventory_no, Equipment.id)).all())
        assessments, inspections = [], []
        for inv, (a_rows, i_rows) in histories.items():
            assessments += [{**a, "equipment_id": ids[inv]} for a in a_rows]
            inspections += [{**i, "equipment_id": ids[inv]} for i in i_rows]
        bulk_insert(session, ConditionAssessment, assessments)
        bulk_insert(session, Inspection, inspections)
    session.flush()
    return _summary(session, users, today)


def _summary(session: Session, users: int, today: date) -> DemoSummary:
    expired_flag = flag_exprs(today)["life_expired"]
    total, expired, avg = session.execute(
        select(
            func.count(), func.sum(case((expired_flag, 1), else_=0)), func.avg(wear_expr(today))
        ).where(Equipment.status != EquipmentStatus.DECOMMISSIONED)
    ).one()
    return DemoSummary(
        organizations=session.scalar(select(func.count()).select_from(Organization)),
        facilities=session.scalar(select(func.count()).select_from(Facility)),
        items=total,
        users=users,
        past_life_pct=round(100.0 * (expired or 0) / total, 1) if total else 0.0,
        average_wear=round(float(avg or 0), 1),
    )
