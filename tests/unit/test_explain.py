"""The card's sentences: each names the rule that gave the number and the facts it used.

Cases follow the review of the card: a life extended by expertise must not be explained by the
20-year rule; a refusal is a line of its own beside the normative life end; a failed
examination forbids use; an imported wear value without a date says so; each kind of
inspection has its own line."""

from __future__ import annotations

from datetime import date

import pytest

from equipment.explain import UNDATED_IMPORT_NOTE, Assessment, explain
from equipment.wear import Event, Thresholds, WearInputs, compute, facts_of_events

AS_OF = date(2026, 12, 1)
DEFAULT = Thresholds()


def d(iso: str) -> date:
    return date.fromisoformat(iso)


def lines_of(inputs: WearInputs, latest=None, events=(), thresholds=DEFAULT):
    """explain() over inputs completed from the events, as services.card_facts builds them."""
    events = list(events)
    facts = facts_of_events(e for e, _doc in events)
    inputs = WearInputs(
        **{
            **inputs.__dict__,
            "extended_until": facts.extended_until,
            "refused_on": facts.refused_on,
            "next_inspection_due": facts.next_due,
        }
    )
    ind = compute(inputs, AS_OF, thresholds)
    return {line.key: line for line in explain(inputs, ind, thresholds, latest, events)}, ind


def exam(done, result="passed", due=None):
    return Event("examination", d(done), result, d(due) if due else None, None, 1)


def expertise(done, result, until=None, doc=None, id=2):
    event = Event(
        "expertise", d(done), result, d(until) if until else None, d(until) if until else None, id
    )
    return event, doc


def test_wear_by_age_names_the_start_the_life_and_the_rate():
    lines, ind = lines_of(WearInputs(commissioned_on=d("2006-12-01"), service_life_years=25))
    wear = lines["wear_by_age"]
    assert wear.values["start"] == d("2006-12-01")
    assert wear.values["life"] == 25 and wear.values["rate"] == pytest.approx(4.0)
    assert wear.values["wear"] == pytest.approx(ind.wear_pct)
    assert lines["life_normative"].values["end"] == d("2031-12-01")


def test_wear_without_a_commissioning_date_counts_from_the_manufacture_year():
    lines, _ = lines_of(WearInputs(manufacture_year=2000, service_life_years=20))
    assert lines["wear_by_age_from_year"].values["year"] == 2000
    assert lines["life_normative_from_year_ended"].values["end"] == d("2020-01-01")


def test_a_reassessed_item_shows_the_increment_since_the_assessment():
    latest = Assessment(d("2026-06-20"), 54.6, "expert")
    inputs = WearInputs(
        commissioned_on=d("2001-01-01"),
        service_life_years=25,
        assessed_pct=54.6,
        assessed_on=d("2026-06-20"),
    )
    lines, ind = lines_of(inputs, latest)
    wear = lines["wear_assessed"].values
    # 2026-06-20 → 2026-12-01 is 164 days; 164 / (25 × 365.25) × 100 = 1.796 %
    assert wear["days"] == 164
    assert wear["added"] == pytest.approx(1.796, abs=1e-3)
    assert wear["wear"] == pytest.approx(54.6 + 1.796, abs=1e-3)
    assert "wear_import_undated" not in lines


def test_an_imported_wear_value_without_a_date_says_the_upload_day_was_taken():
    latest = Assessment(d("2026-11-03"), 81.8, "import", UNDATED_IMPORT_NOTE)
    inputs = WearInputs(
        commissioned_on=d("1990-01-01"),
        service_life_years=30,
        assessed_pct=81.8,
        assessed_on=d("2026-11-03"),
    )
    lines, ind = lines_of(inputs, latest)
    assert lines["wear_import_undated"].values["on"] == d("2026-11-03")
    # critical already at the assessment: not "critical since" as if it had been watched
    assert lines["critical_at_assessment"].values["on"] == d("2026-11-03")
    assert "critical_since" not in lines and ind.critical


def test_an_extended_life_is_explained_by_the_expertise_not_by_the_20_year_rule():
    events = [expertise("2025-02-01", "extended", "2030-07-17", "ЭПБ-2025-456")]
    lines, ind = lines_of(WearInputs(commissioned_on=d("1988-12-28")), events=events)
    assert lines["life_default_ended"].values["end"] == d("2008-12-28")
    extended = lines["life_extended"].values
    assert extended == {"until": d("2030-07-17"), "document": "ЭПБ-2025-456", "on": d("2025-02-01")}
    assert ind.life_end == d("2030-07-17") and not ind.life_expired


def test_an_extension_that_ran_out_is_a_strong_line():
    events = [expertise("2020-01-10", "extended", "2024-12-24", "ЭПБ-2020-1")]
    lines, ind = lines_of(
        WearInputs(commissioned_on=d("1996-05-15"), service_life_years=20), events=events
    )
    assert lines["life_extended_ended"].strong and ind.life_expired
    assert lines["must_plan"].values["reasons"][:2] == ["critical", "life_expired"]


def test_a_refusal_is_its_own_line_beside_the_normative_life_end():
    events = [expertise("2025-02-03", "refused", doc="ЭПБ-2025-9")]
    lines, ind = lines_of(
        WearInputs(commissioned_on=d("2003-04-25"), service_life_years=20), events=events
    )
    assert lines["life_normative_ended"].values["end"] == d("2023-04-25")
    assert lines["life_refused"].values == {"on": d("2025-02-03"), "document": "ЭПБ-2025-9"}
    assert ind.life_end == d("2023-04-25")
    assert "expertise_refused" in lines["must_plan"].values["reasons"]
    # the refused expertise set no next date: no separate "no next date" line for it
    assert "inspection_no_next" not in lines


def test_a_failed_examination_forbids_use_and_makes_the_inspection_overdue():
    events = [(exam("2026-11-20", "failed", "2030-11-20"), "ТО-7")]
    lines, ind = lines_of(
        WearInputs(commissioned_on=d("2016-01-01"), service_life_years=30), events=events
    )
    assert lines["inspection_failed"].strong
    assert ind.inspection_overdue is True


def test_each_kind_of_inspection_has_its_line():
    events = [
        (exam("2022-05-16", due="2026-05-16"), None),
        (Event("hydraulic_test", d("2024-01-10"), "passed", d("2032-01-10"), None, 3), None),
    ]
    lines, ind = lines_of(
        WearInputs(commissioned_on=d("2016-01-01"), service_life_years=30), events=events
    )
    assert lines["inspection_overdue"].values["kind"] == "examination"
    assert lines["inspection_due"].values == {
        "kind": "hydraulic_test",
        "done": d("2024-01-10"),
        "due": d("2032-01-10"),
    }
    assert ind.inspection_overdue


@pytest.mark.parametrize(
    ("inputs", "key"),
    [
        (WearInputs(), "wear_unknown"),
        (WearInputs(), "life_unknown"),
        (WearInputs(commissioned_on=d("2000-01-01")), "life_default_ended"),
        (WearInputs(manufacture_year=2015), "life_default_from_year"),
    ],
)
def test_missing_data_is_named(inputs, key):
    lines, _ = lines_of(inputs)
    assert key in lines


def test_cycles_exhausted():
    inputs = WearInputs(
        commissioned_on=d("2016-01-01"), service_life_years=30, cycle_limit=100, cycle_count=100
    )
    lines, ind = lines_of(inputs)
    assert lines["cycles_exhausted"].values == {"count": 100, "limit": 100}
    assert ind.life_expired and "cycles_exhausted" in lines["must_plan"].values["reasons"]
