"""The registry's published read side agrees with the pure wear rules, item by item."""

from __future__ import annotations

from datetime import date, timedelta

from core import clock
from core.access import Scope
from core.extensions import db
from equipment import queries
from equipment.catalog import AssessmentMethod, EquipmentStatus, InspectionKind, InspectionResult
from equipment.models import ConditionAssessment, Equipment, Inspection
from equipment.registry.counts import dashboard_counts
from equipment.registry.query import curve_of
from equipment.services import refresh_curves
from equipment.wear import indicators


def _fleet(world, make):
    today = clock.today()
    old = make.equipment(world.fac_a, "A-OLD", commissioned_on=date(1990, 1, 1))
    cycles = make.equipment(
        world.fac_a,
        "A-CYC",
        commissioned_on=today - timedelta(days=365),
        cycle_limit=100,
        cycle_count=100,
    )
    gone = make.equipment(world.fac_a2, "A-GONE", commissioned_on=date(1990, 1, 1))
    gone.status = EquipmentStatus.DECOMMISSIONED
    young = make.equipment(world.fac_a2, "A-NEW", commissioned_on=today - timedelta(days=30))
    db.session.add(
        ConditionAssessment(
            equipment_id=young.id,
            assessed_on=today - timedelta(days=10),
            wear_pct=90.0,
            method=AssessmentMethod.DIAGNOSTICS,
        )
    )
    db.session.add(
        Inspection(
            equipment_id=young.id,
            kind=InspectionKind.EXAMINATION,
            done_on=today - timedelta(days=20),
            next_due_on=today + timedelta(days=300),
            result=InspectionResult.PASSED,
        )
    )
    db.session.flush()
    refresh_curves(db.session, [young.id], {})
    db.session.commit()
    return old, cycles, gone, young


def test_must_plan_is_what_the_pure_rules_say_with_the_first_reason(world, make):
    _fleet(world, make)
    for as_of in (clock.today(), date(2005, 6, 1), clock.today() + timedelta(days=3650)):
        rows = db.session.execute(queries.must_plan_select(world.org_a.id, as_of)).all()
        items = db.session.query(Equipment).filter_by(organization_id=world.org_a.id).all()
        expected = {}
        for item in items:
            ind = indicators(curve_of(item), as_of)
            if ind.must_plan and item.status != EquipmentStatus.DECOMMISSIONED:
                expected[item.id] = (item.facility_id, ind.reasons[0])
        assert {r.equipment_id: (r.facility_id, r.reason) for r in rows} == expected
        assert queries.must_plan_ids(db.session, world.org_a.id, as_of) == set(expected)
    today_ids = queries.must_plan_ids(db.session, world.org_a.id, clock.today())
    assert today_ids  # the fleet has items to plan today: the comparison above is not empty


def test_item_states_carry_the_indicators_and_the_dates_they_rest_on(world, make):
    old, cycles, gone, young = _fleet(world, make)
    today = clock.today()
    ids = [old.id, cycles.id, young.id, world.item_b.id]
    states = queries.item_states(db.session, ids, today)
    assert set(states) == set(ids)
    for item_id, state in states.items():
        item = db.session.get(Equipment, item_id)
        assert state.indicators == indicators(curve_of(item), today)
        assert state.organization_id == item.organization_id
    assert states[young.id].last_assessed_on == today - timedelta(days=10)
    assert states[young.id].last_examined_on == today - timedelta(days=20)
    assert states[young.id].indicators.wear_pct >= 90.0
    assert states[old.id].last_assessed_on is None
    by_statement = queries.item_states(
        db.session,
        queries.must_plan_select(world.org_a.id, today).with_only_columns(Equipment.id),
        today,
    )
    assert set(by_statement) == queries.must_plan_ids(db.session, world.org_a.id, today)


def test_fleet_counts_by_organization_and_region_add_up_to_the_dashboards(world, make):
    _fleet(world, make)
    today = clock.today()
    everything = Scope(everything=True)
    by_org = queries.fleet_counts(db.session, everything, today, by="organization")
    for org in (world.org_a, world.org_b):
        own = dashboard_counts(db.session, Scope(organization_id=org.id), today)
        assert {k: by_org[org.id][k] for k in by_org[org.id]} == {k: own[k] for k in by_org[org.id]}
    by_region = queries.fleet_counts(db.session, everything, today, by="region")
    kar = make.region("KAR").id
    pav = make.region("PAV").id
    assert by_region[kar] == {
        k: v
        for k, v in dashboard_counts(db.session, Scope(region_id=kar), today).items()
        if k in by_region[kar]
    }
    assert by_region[pav]["total"] + by_region[kar]["total"] == sum(
        c["total"] for c in by_org.values()
    )
    regional = queries.fleet_counts(db.session, Scope(region_id=pav), today, by="organization")
    assert set(regional) == {world.org_a.id}  # org B has nothing in Pavlodar


def test_facilities_of_a_region_are_every_organizations(world, make):
    kar = make.region("KAR").id
    codes = [(f.organization_id, f.code) for f in queries.facilities_of_region(db.session, kar)]
    assert codes == sorted([(world.org_a.id, "A-02"), (world.org_b.id, "B-01")])
