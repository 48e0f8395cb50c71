"""Wear indicators (DESIGN §3): the numbers a user sees in the registry and the renewal plan.

Every expected value below is worked out by hand from the rules, not by calling the code:

* a year of service life is 365.25 days, so a 20-year life is 7305 days and 1 % of it is
  73.05 days;
* wear(t) = base + days since base / life days × 100, capped to 0…100, where the base is the
  latest assessment, else 0 % on the commissioning date (1 January of the manufacture year
  when the commissioning date is unknown);
* a flag (warning, critical) switches on the first whole day the line reaches its threshold.
"""

from __future__ import annotations

from datetime import date

import pytest

from equipment.catalog import Band, Condition, DeviceType
from equipment.wear import (
    Event,
    EventFacts,
    Thresholds,
    WearInputs,
    add_years,
    band_of,
    compute,
    facts_of_events,
    latest_by_kind,
    obligation,
    thresholds_for,
    wear_curve,
)


def d(iso: str) -> date:
    return date.fromisoformat(iso)


# Commissioned 2000-01-01 with a 20-year life: 2000-01-01 → 2010-01-01 is 3653 days
# (leap years 2000, 2004, 2008), i.e. 3653 / 7305 = 50.0068 %.
LIFE_20_FROM_2000 = WearInputs(commissioned_on=d("2000-01-01"), service_life_years=20)

THRESHOLD_CONFIG = {"default": {"warning": 60, "critical": 80}, "crane": {"critical": 70}}


# ------------------------------------------------------------------------------ add_years


@pytest.mark.parametrize(
    ("start", "years", "expected"),
    [
        pytest.param("2000-01-01", 20, "2020-01-01", id="whole_years_are_calendar_years"),
        pytest.param("2000-01-01", 20.0, "2020-01-01", id="whole_float_is_calendar_years"),
        pytest.param("2000-02-29", 1, "2001-02-28", id="29feb_to_non_leap_year_gives_28feb"),
        pytest.param("2004-02-29", 15, "2019-02-28", id="29feb_plus_15_gives_28feb"),
        pytest.param("2000-02-29", 4, "2004-02-29", id="29feb_to_leap_year_stays_29feb"),
        pytest.param("2000-02-29", 100, "2100-02-28", id="29feb_to_2100_not_leap"),
        # 0.5 × 365.25 = 182.625 → 183 days: 29 Feb + 183 days = 30 Aug.
        pytest.param("2000-02-29", 0.5, "2000-08-30", id="29feb_half_year_in_days"),
        # 1.5 × 365.25 = 547.875 → 548 days = 366 (year 2000) + 182.
        pytest.param("2000-01-01", 1.5, "2001-07-02", id="fraction_counts_days"),
    ],
)
def test_add_years(start, years, expected):
    assert add_years(d(start), years) == d(expected)


# ------------------------------------------------------------------------- age-based wear


@pytest.mark.parametrize(
    ("inputs", "as_of", "expected_pct", "expected_band"),
    [
        pytest.param(LIFE_20_FROM_2000, "2010-01-01", 50.0068, Band.UNSATISFACTORY, id="half_life"),
        pytest.param(LIFE_20_FROM_2000, "2000-01-01", 0.0, Band.GOOD, id="commissioning_day"),
        pytest.param(LIFE_20_FROM_2000, "1999-12-31", 0.0, Band.GOOD, id="before_commissioning"),
        pytest.param(LIFE_20_FROM_2000, "1990-06-01", 0.0, Band.GOOD, id="long_before"),
        # 366 days (2000 is a leap year) / 7305 = 5.0103 %.
        pytest.param(LIFE_20_FROM_2000, "2001-01-01", 5.0103, Band.GOOD, id="first_year"),
        # 7305 days = exactly the life.
        pytest.param(LIFE_20_FROM_2000, "2020-01-01", 100.0, Band.UNFIT, id="end_of_life"),
        pytest.param(LIFE_20_FROM_2000, "2035-01-01", 100.0, Band.UNFIT, id="capped_at_100"),
        pytest.param(
            WearInputs(manufacture_year=2000, service_life_years=20),
            "2010-01-01",
            50.0068,
            Band.UNSATISFACTORY,
            id="manufacture_year_counts_from_1_january",
        ),
        # 2005-01-01 → 2010-01-01 is 1826 days: 1826 / 7305 = 24.9966 %.
        pytest.param(
            WearInputs(
                commissioned_on=d("2005-01-01"), manufacture_year=2000, service_life_years=20
            ),
            "2010-01-01",
            24.9966,
            Band.SATISFACTORY,
            id="commissioning_date_wins_over_manufacture_year",
        ),
        # 2015-07-01 → 2020-07-01 is 1827 days (29 Feb 2016 and 2020); 1827 / 3652.5 = 50.0205 %.
        pytest.param(
            WearInputs(commissioned_on=d("2015-07-01"), service_life_years=10),
            "2020-07-01",
            50.0205,
            Band.UNSATISFACTORY,
            id="ten_year_life",
        ),
    ],
)
def test_age_based_wear(inputs, as_of, expected_pct, expected_band):
    result = compute(inputs, d(as_of))
    assert result.wear_pct == pytest.approx(expected_pct, abs=1e-4)
    assert result.band == expected_band


@pytest.mark.parametrize(
    ("inputs", "expected_end"),
    [
        pytest.param(LIFE_20_FROM_2000, "2020-01-01", id="commissioning_plus_life"),
        pytest.param(
            WearInputs(manufacture_year=1995, service_life_years=10),
            "2005-01-01",
            id="manufacture_year_plus_life",
        ),
        pytest.param(
            WearInputs(commissioned_on=d("2004-02-29"), service_life_years=15),
            "2019-02-28",
            id="29feb_commissioning",
        ),
        # 12.5 × 365.25 = 4565.625 → 4566 days = 12 years (4383 days) + 183 days.
        pytest.param(
            WearInputs(commissioned_on=d("2000-01-01"), service_life_years=12.5),
            "2012-07-02",
            id="fractional_life",
        ),
        pytest.param(
            WearInputs(commissioned_on=d("2000-03-01")),
            "2020-03-01",
            id="unknown_life_is_20_years",
        ),
        pytest.param(
            WearInputs(manufacture_year=1995),
            "2015-01-01",
            id="unknown_life_from_manufacture_year",
        ),
        pytest.param(WearInputs(service_life_years=20), None, id="no_dates_no_life_end"),
    ],
)
def test_life_end(inputs, expected_end):
    expected = d(expected_end) if expected_end else None
    assert wear_curve(inputs).life_end == expected
    assert compute(inputs, d("2000-06-01")).life_end == expected


@pytest.mark.parametrize(
    ("as_of", "expired"),
    [
        pytest.param("2019-12-31", False, id="day_before_life_end"),
        pytest.param("2020-01-01", True, id="life_end_day"),
        pytest.param("2024-05-01", True, id="after_life_end"),
    ],
)
def test_life_expired_on_life_end(as_of, expired):
    result = compute(LIFE_20_FROM_2000, d(as_of))
    assert result.life_expired is expired
    assert ("life_expired" in result.reasons) is expired
    # Wear reached 80 % on 2016-01-01, so the item must be planned anyway.
    assert result.must_plan is True


# ---------------------------------------------------------------------- unknown service life


UNKNOWN_LIFE = WearInputs(commissioned_on=d("2000-03-01"))


@pytest.mark.parametrize(
    ("inputs", "as_of"),
    [
        pytest.param(UNKNOWN_LIFE, "2010-01-01", id="no_life"),
        pytest.param(
            WearInputs(commissioned_on=d("2000-03-01"), service_life_years=0),
            "2010-01-01",
            id="zero_life_is_unknown",
        ),
        pytest.param(WearInputs(manufacture_year=1980), "2010-01-01", id="manufacture_year_only"),
        pytest.param(WearInputs(), "2010-01-01", id="nothing_known"),
        # An assessment without a date cannot re-base anything.
        pytest.param(
            WearInputs(commissioned_on=d("2000-03-01"), assessed_pct=30),
            "2010-01-01",
            id="assessment_without_date",
        ),
    ],
)
def test_unknown_life_without_assessment_has_no_wear(inputs, as_of):
    result = compute(inputs, d(as_of))
    assert result.wear_pct is None
    assert result.band == Band.UNKNOWN
    assert result.warning is False
    assert result.critical is False
    assert result.critical_forecast is None


@pytest.mark.parametrize(
    ("as_of", "expired", "must_plan"),
    [
        pytest.param("2010-01-01", False, False, id="within_default_20_years"),
        pytest.param("2020-02-29", False, False, id="day_before_default_life_end"),
        pytest.param("2020-03-01", True, True, id="default_life_end_day"),
    ],
)
def test_unknown_life_expires_after_20_years(as_of, expired, must_plan):
    result = compute(UNKNOWN_LIFE, d(as_of))
    assert result.life_end == d("2020-03-01")
    assert result.life_expired is expired
    assert result.must_plan is must_plan


ASSESSED_35_UNKNOWN_LIFE = WearInputs(
    commissioned_on=d("2000-03-01"), assessed_pct=35, assessed_on=d("2015-05-01")
)


@pytest.mark.parametrize(
    "as_of",
    [
        pytest.param("2015-05-01", id="assessment_day"),
        pytest.param("2019-12-31", id="four_years_later"),
        pytest.param("2060-01-01", id="decades_later"),
    ],
)
def test_unknown_life_wear_stays_at_assessment(as_of):
    result = compute(ASSESSED_35_UNKNOWN_LIFE, d(as_of))
    assert result.wear_pct == 35.0
    assert result.band == Band.SATISFACTORY
    assert result.warning is False
    assert result.critical is False
    assert result.critical_forecast is None
    assert result.life_end == d("2020-03-01")


def test_unknown_life_assessed_above_critical_is_critical_from_assessment():
    inputs = WearInputs(
        commissioned_on=d("2000-03-01"), assessed_pct=85, assessed_on=d("2015-05-01")
    )
    curve = wear_curve(inputs)
    assert curve.critical_on == d("2015-05-01")
    assert curve.warning_on == d("2015-05-01")
    result = compute(inputs, d("2016-01-01"))
    assert result.wear_pct == 85.0
    assert result.band == Band.UNFIT
    assert result.critical is True
    assert result.must_plan is True
    assert result.reasons == ("critical",)


# ---------------------------------------------------------------- re-basing on an assessment

# Commissioned 2005-01-01 with a 20-year life (life end 2025-01-01); age alone would give
# 27.26 % on 2010-06-15, but the assessment says 40 %. 20-year life → +5 % per year:
# 20 % more (warning at 60 %) is 1461 days → 2014-06-15; 40 % more (critical at 80 %) is
# 2922 days → 2018-06-15 (leap days 2012 and 2016).
REBASED_40 = WearInputs(
    commissioned_on=d("2005-01-01"),
    service_life_years=20,
    assessed_pct=40,
    assessed_on=d("2010-06-15"),
)


@pytest.mark.parametrize(
    ("as_of", "expected_pct"),
    [
        pytest.param("2010-06-15", 40.0, id="assessment_day"),
        # 365 / 7305 = 4.9966 %.
        pytest.param("2011-06-15", 44.9966, id="one_year_later"),
        # 731 / 7305 = 10.0068 %.
        pytest.param("2012-06-15", 50.0068, id="two_years_later"),
        pytest.param("2014-06-15", 60.0, id="four_years_later"),
        pytest.param("2018-06-15", 80.0, id="eight_years_later"),
        # 4383 days = 60 % more.
        pytest.param("2022-06-15", 100.0, id="reaches_100"),
        pytest.param("2030-06-15", 100.0, id="capped_at_100"),
    ],
)
def test_rebased_wear(as_of, expected_pct):
    assert compute(REBASED_40, d(as_of)).wear_pct == pytest.approx(expected_pct, abs=1e-4)


def test_rebased_curve_forecast_dates():
    curve = wear_curve(REBASED_40)
    assert curve.warning_on == d("2014-06-15")
    assert curve.critical_on == d("2018-06-15")
    assert curve.life_end == d("2025-01-01")
    assert curve.must_plan_on == d("2018-06-15")
    assert compute(REBASED_40, d("2011-01-01")).critical_forecast == d("2018-06-15")


@pytest.mark.parametrize(
    ("as_of", "warning", "critical", "must_plan"),
    [
        pytest.param("2014-06-14", False, False, False, id="day_before_warning"),
        pytest.param("2014-06-15", True, False, False, id="warning_day"),
        pytest.param("2018-06-14", True, False, False, id="day_before_critical"),
        # a ladder: from the critical day on the item is critical, no longer «warning»
        pytest.param("2018-06-15", False, True, True, id="critical_day"),
        pytest.param("2020-01-01", False, True, True, id="after_critical"),
    ],
)
def test_rebased_flags(as_of, warning, critical, must_plan):
    result = compute(REBASED_40, d(as_of))
    assert result.warning is warning
    assert result.critical is critical
    assert result.must_plan is must_plan
    assert result.life_expired is False
    assert result.reasons == (("critical",) if critical else ())


def test_assessment_below_age_wear_lowers_the_curve():
    # Age alone: 2000-01-01 → 2015-01-01 = 5479 days ≈ 75 % of 20 years. Assessed 10 % instead.
    # Warning (60 %): 50 % × 73.05 = 3652.5 → 3653 days → 2025-01-01 (leap days 2016/20/24).
    # Critical (80 %): 70 % × 73.05 = 5113.5 → 5114 days → 2029-01-01 (leap days 2016…2028).
    inputs = WearInputs(
        commissioned_on=d("2000-01-01"),
        service_life_years=20,
        assessed_pct=10,
        assessed_on=d("2015-01-01"),
    )
    curve = wear_curve(inputs)
    assert curve.warning_on == d("2025-01-01")
    assert curve.critical_on == d("2029-01-01")
    result = compute(inputs, d("2015-01-01"))
    assert result.wear_pct == 10.0
    assert result.band == Band.GOOD
    assert result.warning is False


# ---------------------------------------------------------------------------- expertise

# Commissioned 2000-01-01, 20-year life ending 2020-01-01, extended by expertise.
EXTENDED = WearInputs(
    commissioned_on=d("2000-01-01"), service_life_years=20, extended_until=d("2025-06-30")
)


@pytest.mark.parametrize(
    ("as_of", "expired"),
    [
        pytest.param("2020-01-01", False, id="original_life_end_no_longer_counts"),
        pytest.param("2025-06-29", False, id="day_before_extension_ends"),
        pytest.param("2025-06-30", True, id="extension_end_day"),
        pytest.param("2026-01-01", True, id="after_extension"),
    ],
)
def test_expertise_extension_replaces_life_end(as_of, expired):
    result = compute(EXTENDED, d(as_of))
    assert result.life_end == d("2025-06-30")
    assert result.life_expired is expired
    assert ("life_expired" in result.reasons) is expired
    # Extension does not reset wear: it is 100 %, the item is critical either way.
    assert result.wear_pct == 100.0
    assert result.critical is True


@pytest.mark.parametrize(
    ("as_of", "must_plan"),
    [
        pytest.param("2023-12-31", False, id="day_before_extension_ends"),
        pytest.param("2024-01-01", True, id="extension_end_day"),
    ],
)
def test_expertise_extension_of_item_without_life(as_of, must_plan):
    # Without a stated life the item would expire on 2020-01-01 (commissioning + 20 years).
    inputs = WearInputs(commissioned_on=d("2000-01-01"), extended_until=d("2024-01-01"))
    result = compute(inputs, d(as_of))
    assert result.life_end == d("2024-01-01")
    assert result.life_expired is must_plan
    assert result.must_plan is must_plan


@pytest.mark.parametrize(
    ("inputs", "expected_pct"),
    [
        # 2010-01-01 → 2018-03-15: 2922 + 73 = 2995 days; 2995 / 7305 = 40.9993 %.
        pytest.param(
            WearInputs(
                commissioned_on=d("2010-01-01"),
                service_life_years=20,
                refused_on=d("2018-03-15"),
            ),
            40.9993,
            id="known_life",
        ),
        pytest.param(
            WearInputs(commissioned_on=d("2010-01-01"), refused_on=d("2018-03-15")),
            None,
            id="unknown_life",
        ),
    ],
)
def test_expertise_refused(inputs, expected_pct):
    # The refusal is its own reason to plan the item; the life end stays the normative one
    # (2010 + 20 years), or 2010 + 20 years by the rule for an unknown life.
    curve = wear_curve(inputs)
    assert curve.life_end == d("2030-01-01")
    assert curve.must_plan_on == d("2018-03-15")

    result = compute(inputs, d("2018-03-15"))
    assert result.life_end == d("2030-01-01")
    assert result.life_expired is False
    assert result.must_plan is True
    assert result.critical is False
    assert result.reasons == ("expertise_refused",)
    if expected_pct is None:
        assert result.wear_pct is None
    else:
        assert result.wear_pct == pytest.approx(expected_pct, abs=1e-4)


def test_refusal_after_the_life_ended_gives_both_reasons():
    inputs = WearInputs(
        commissioned_on=d("1990-01-01"), service_life_years=20, refused_on=d("2018-03-15")
    )
    result = compute(inputs, d("2018-03-15"))
    assert result.life_end == d("2010-01-01")
    assert result.life_expired is True
    assert set(result.reasons) == {"critical", "life_expired", "expertise_refused"}


# ---------------------------------------------------------------------------- load cycles


@pytest.mark.parametrize(
    ("cycle_limit", "cycle_count", "exhausted"),
    [
        pytest.param(10_000, 10_000, True, id="count_equals_limit"),
        pytest.param(10_000, 12_500, True, id="count_over_limit"),
        pytest.param(10_000, 9_999, False, id="one_below_limit"),
        pytest.param(10_000, 0, False, id="new"),
        pytest.param(10_000, None, False, id="count_unknown"),
        pytest.param(None, 50_000, False, id="no_limit"),
    ],
)
def test_cycles(cycle_limit, cycle_count, exhausted):
    # 2015-01-01 → 2016-01-01: 365 / 7305 = 5 % wear; life ends 2035-01-01.
    inputs = WearInputs(
        commissioned_on=d("2015-01-01"),
        service_life_years=20,
        cycle_limit=cycle_limit,
        cycle_count=cycle_count,
    )
    result = compute(inputs, d("2016-01-01"))
    assert result.life_expired is exhausted
    assert result.must_plan is exhausted
    assert result.reasons == (("cycles_exhausted",) if exhausted else ())
    assert result.critical is False
    assert result.life_end == d("2035-01-01")


# ---------------------------------------------------------------- condition «предельное»


@pytest.mark.parametrize(
    ("condition", "as_of", "must_plan"),
    [
        pytest.param(Condition.LIMIT, "2019-04-09", False, id="limit_day_before_assessment"),
        pytest.param(Condition.LIMIT, "2019-04-10", True, id="limit_assessment_day"),
        pytest.param(Condition.LIMIT, "2024-01-01", True, id="limit_later"),
        pytest.param("limit", "2019-04-10", True, id="limit_as_plain_string"),
        pytest.param(Condition.LIMITED, "2019-04-10", False, id="limited_is_not_limit"),
        pytest.param(Condition.INOPERABLE, "2019-04-10", False, id="inoperable"),
        pytest.param(Condition.SERVICEABLE, "2019-04-10", False, id="serviceable"),
        pytest.param(None, "2019-04-10", False, id="no_condition"),
    ],
)
def test_limit_condition(condition, as_of, must_plan):
    # Assessed 30 % on 2019-04-10: far from the thresholds; life ends 2035-01-01.
    inputs = WearInputs(
        commissioned_on=d("2015-01-01"),
        service_life_years=20,
        assessed_pct=30,
        assessed_on=d("2019-04-10"),
        condition=condition,
    )
    result = compute(inputs, d(as_of))
    assert result.must_plan is must_plan
    assert result.critical is False
    assert result.life_expired is False
    if must_plan:
        assert result.reasons == ("limit_state",)
        assert wear_curve(inputs).must_plan_on == d("2019-04-10")


# ------------------------------------------------------------------------ inspection due


@pytest.mark.parametrize(
    ("due", "as_of", "overdue"),
    [
        pytest.param("2024-05-20", "2024-05-19", False, id="day_before_due"),
        pytest.param("2024-05-20", "2024-05-20", False, id="due_date_itself"),
        pytest.param("2024-05-20", "2024-05-21", True, id="day_after_due"),
        pytest.param("2024-05-20", "2025-01-01", True, id="long_overdue"),
        pytest.param(None, "2024-05-21", False, id="no_due_date"),
    ],
)
def test_inspection_overdue(due, as_of, overdue):
    due_date = d(due) if due else None
    inputs = WearInputs(
        commissioned_on=d("2015-01-01"), service_life_years=20, next_inspection_due=due_date
    )
    result = compute(inputs, d(as_of))
    assert result.inspection_overdue is overdue
    assert result.next_inspection_due == due_date
    # An overdue inspection alone does not put the item into the renewal plan.
    assert result.must_plan is False


# ---------------------------------------------------------------------------- thresholds


@pytest.mark.parametrize(
    ("device_type", "config", "expected"),
    [
        pytest.param("crane", THRESHOLD_CONFIG, (60, 70), id="crane_override"),
        pytest.param(DeviceType.CRANE, THRESHOLD_CONFIG, (60, 70), id="crane_enum"),
        pytest.param("pressure_vessel", THRESHOLD_CONFIG, (60, 80), id="vessel_default"),
        pytest.param(None, THRESHOLD_CONFIG, (60, 80), id="no_type_default"),
        pytest.param("crane", {}, (60, 80), id="empty_config_60_80"),
        pytest.param("crane", {"crane": {"warning": 50}}, (50, 80), id="partial_without_default"),
        pytest.param(
            "lift",
            {"default": {"warning": 50, "critical": 90}},
            (50, 90),
            id="custom_default",
        ),
    ],
)
def test_thresholds_for(device_type, config, expected):
    thresholds = thresholds_for(device_type, config)
    assert (thresholds.warning, thresholds.critical) == expected


@pytest.mark.parametrize(
    "config",
    [
        pytest.param({"crane": {"warning": 90, "critical": 70}}, id="warning_above_critical"),
        pytest.param({"crane": {"warning": 0}}, id="zero_warning"),
        pytest.param({"crane": {"warning": -5}}, id="negative_warning"),
        pytest.param({"crane": {"critical": 101}}, id="critical_above_100"),
        pytest.param(
            {"default": {"warning": 75}, "crane": {"critical": 70}},
            id="override_below_default_warning",
        ),
    ],
)
def test_invalid_thresholds_raise(config):
    with pytest.raises(ValueError):
        thresholds_for("crane", config)


@pytest.mark.parametrize(
    ("warning", "critical"),
    [
        pytest.param(80, 60, id="warning_above_critical"),
        pytest.param(0, 80, id="zero_warning"),
        pytest.param(60, 100.5, id="critical_above_100"),
    ],
)
def test_invalid_thresholds_object_raises(warning, critical):
    with pytest.raises(ValueError):
        Thresholds(warning=warning, critical=critical)


# Assessed 75 % on 2020-01-01, 20-year life from 2010-01-01 (life ends 2030-01-01).
ASSESSED_75 = WearInputs(
    commissioned_on=d("2010-01-01"),
    service_life_years=20,
    assessed_pct=75,
    assessed_on=d("2020-01-01"),
)


@pytest.mark.parametrize(
    ("device_type", "critical"),
    [
        pytest.param("crane", True, id="crane_critical_at_70"),
        pytest.param("pressure_vessel", False, id="vessel_critical_at_80"),
        pytest.param(DeviceType.STEAM_BOILER, False, id="boiler_uses_default"),
    ],
)
def test_thresholds_per_device_type(device_type, critical):
    thresholds = thresholds_for(device_type, THRESHOLD_CONFIG)
    result = compute(ASSESSED_75, d("2020-01-01"), thresholds)
    assert result.wear_pct == 75.0
    assert result.band == Band.DILAPIDATED
    assert result.warning is not critical  # warning is below critical
    assert result.critical is critical
    assert result.must_plan is critical
    assert result.reasons == (("critical",) if critical else ())


def test_vessel_forecast_from_75_percent():
    # 5 % more × 73.05 days = 365.25 → 366 days → 2021-01-01 (2020 is a leap year).
    curve = wear_curve(ASSESSED_75, thresholds_for("pressure_vessel", THRESHOLD_CONFIG))
    assert curve.critical_on == d("2021-01-01")


def test_crane_forecast_uses_its_own_threshold():
    # Assessed 40 % on 2010-06-15; crane critical at 70 %: 30 % × 73.05 = 2191.5 → 2192 days
    # = 6 years with leap days 2012 and 2016 → 2016-06-15 (80 % would be 2018-06-15).
    curve = wear_curve(REBASED_40, thresholds_for("crane", THRESHOLD_CONFIG))
    assert curve.critical_on == d("2016-06-15")
    assert curve.warning_on == d("2014-06-15")


# ------------------------------------------------------------------------------ bands


@pytest.mark.parametrize(
    ("wear_pct", "expected"),
    [
        pytest.param(None, Band.UNKNOWN, id="unknown"),
        pytest.param(0.0, Band.GOOD, id="0"),
        pytest.param(19.99, Band.GOOD, id="19.99"),
        pytest.param(20.0, Band.SATISFACTORY, id="20"),
        pytest.param(39.99, Band.SATISFACTORY, id="39.99"),
        pytest.param(40.0, Band.UNSATISFACTORY, id="40"),
        pytest.param(59.99, Band.UNSATISFACTORY, id="59.99"),
        pytest.param(60.0, Band.DILAPIDATED, id="60"),
        pytest.param(79.99, Band.DILAPIDATED, id="79.99"),
        pytest.param(80.0, Band.UNFIT, id="80"),
        pytest.param(100.0, Band.UNFIT, id="100"),
    ],
)
def test_band_boundaries(wear_pct, expected):
    assert band_of(wear_pct) == expected


# ------------------------------------------------------- flags switch exactly on their day

DEFAULT = Thresholds()
REBASED_40_AT_31_4 = WearInputs(
    commissioned_on=d("2005-01-01"),
    service_life_years=20,
    assessed_pct=31.4,
    assessed_on=d("2010-06-15"),
)


@pytest.mark.parametrize(
    ("inputs", "thresholds", "warning_on", "critical_on"),
    [
        # 60 % × 73.05 = 4383 days (12 years); 80 % = 5844 days (16 years).
        pytest.param(LIFE_20_FROM_2000, DEFAULT, "2012-01-01", "2016-01-01", id="20_years"),
        # 12.5 years = 4565.625 days: 60 % = 2739.375 → 2740 days, 80 % = 3652.5 → 3653 days.
        pytest.param(
            WearInputs(commissioned_on=d("2000-01-01"), service_life_years=12.5),
            DEFAULT,
            "2007-07-03",
            "2010-01-01",
            id="12.5_years",
        ),
        # 7.5 years = 2739.375 days: 60 % = 1643.625 → 1644 days, 80 % = 2191.5 → 2192 days.
        pytest.param(
            WearInputs(commissioned_on=d("2000-01-01"), service_life_years=7.5),
            DEFAULT,
            "2004-07-02",
            "2006-01-01",
            id="7.5_years",
        ),
        # 0.5 years = 182.625 days: 60 % = 109.575 → 110 days, 80 % = 146.1 → 147 days.
        pytest.param(
            WearInputs(commissioned_on=d("2021-03-10"), service_life_years=0.5),
            DEFAULT,
            "2021-06-28",
            "2021-08-04",
            id="half_year",
        ),
        # 10 years = 3652.5 days; from 33.3 % on 29 Feb 2020: 26.7 % = 975.2175 → 976 days,
        # 46.7 % = 1705.7175 → 1706 days.
        pytest.param(
            WearInputs(
                commissioned_on=d("2015-01-01"),
                service_life_years=10,
                assessed_pct=33.3,
                assessed_on=d("2020-02-29"),
            ),
            DEFAULT,
            "2022-11-01",
            "2024-10-31",
            id="rebased_fractional_pct_from_29feb",
        ),
        # Re-based from 31.4 % with thresholds 51.4 / 71.4: exactly +20 % (1461 days) and +40 %
        # (2922 days). In floating point 71.4 - 31.4 is a hair above 40; the day must still be
        # exactly 2922 days after the assessment, not 2923.
        pytest.param(
            REBASED_40_AT_31_4,
            Thresholds(warning=51.4, critical=71.4),
            "2014-06-15",
            "2018-06-15",
            id="exact_day_despite_float_rounding",
        ),
    ],
)
def test_flags_switch_on_their_day(inputs, thresholds, warning_on, critical_on):
    curve = wear_curve(inputs, thresholds)
    assert curve.warning_on == d(warning_on)
    assert curve.critical_on == d(critical_on)

    for flag, day, threshold in (
        ("warning", d(warning_on), thresholds.warning),
        ("critical", d(critical_on), thresholds.critical),
    ):
        before = compute(inputs, date.fromordinal(day.toordinal() - 1), thresholds)
        on = compute(inputs, day, thresholds)
        assert getattr(before, flag) is False
        assert getattr(on, flag) is True
        # The wear shown agrees with the flag: below the threshold the day before, at or
        # above it on the day.
        assert before.wear_pct < threshold <= on.wear_pct

    # In all these cases the life ends after the critical day, so planning starts with it.
    day_before = date.fromordinal(d(critical_on).toordinal() - 1)
    assert compute(inputs, day_before, thresholds).must_plan is False
    assert compute(inputs, d(critical_on), thresholds).must_plan is True


# ------------------------------------------------------------------ inspections and expertise

EXAM, HYDRO, EXPERTISE = "examination", "hydraulic_test", "expertise"


def ev(kind, done, result="passed", due=None, until=None, id=0):
    return Event(
        kind=kind,
        done_on=d(done),
        result=result,
        next_due_on=d(due) if due else None,
        extended_until=d(until) if until else None,
        id=id,
    )


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        pytest.param([], EventFacts(), id="no_events"),
        pytest.param(
            [ev(EXAM, "2020-05-01", due="2024-05-01"), ev(EXAM, "2024-04-20", due="2028-04-20")],
            EventFacts(next_due=d("2028-04-20")),
            id="the_latest_examination_sets_the_due_date",
        ),
        pytest.param(
            [ev(EXAM, "2024-04-20", due="2028-04-20"), ev(HYDRO, "2022-01-10", due="2030-01-10")],
            EventFacts(next_due=d("2028-04-20")),
            id="earliest_over_kinds",
        ),
        pytest.param(
            [ev(EXAM, "2024-04-20", result="failed", due="2028-04-20")],
            EventFacts(next_due=d("2024-04-19")),
            id="failed_examination_is_due_at_once",
        ),
        pytest.param(
            [
                ev(EXAM, "2024-04-20", result="failed", due="2028-04-20"),
                ev(EXAM, "2024-05-02", due="2028-05-02"),
            ],
            EventFacts(next_due=d("2028-05-02")),
            id="passed_again_after_failing",
        ),
        pytest.param(
            [
                ev(EXAM, "2024-04-20", due="2028-04-20", id=1),
                ev(EXAM, "2024-04-20", result="failed", id=2),
            ],
            EventFacts(next_due=d("2024-04-19")),
            id="same_day_the_later_entry_wins",
        ),
        pytest.param(
            [ev(EXPERTISE, "2020-01-15", result="extended", until="2025-01-15")],
            EventFacts(extended_until=d("2025-01-15")),
            id="extension",
        ),
        pytest.param(
            [
                ev(EXPERTISE, "2020-01-15", result="extended", until="2025-01-15"),
                ev(EXPERTISE, "2023-06-01", result="passed"),
            ],
            EventFacts(extended_until=d("2025-01-15")),
            id="a_later_expertise_without_extension_keeps_it",
        ),
        pytest.param(
            [
                ev(EXPERTISE, "2020-01-15", result="extended", until="2030-01-15"),
                ev(EXPERTISE, "2024-06-01", result="extended", until="2027-06-01"),
            ],
            EventFacts(extended_until=d("2027-06-01")),
            id="the_latest_extension_wins_even_if_shorter",
        ),
        pytest.param(
            [
                ev(EXPERTISE, "2020-01-15", result="extended", until="2025-01-15"),
                ev(EXPERTISE, "2023-06-01", result="refused"),
            ],
            EventFacts(extended_until=d("2025-01-15"), refused_on=d("2023-06-01")),
            id="refusal_keeps_the_life_end_and_adds_the_refusal",
        ),
        pytest.param(
            [
                ev(EXPERTISE, "2023-06-01", result="refused"),
                ev(EXPERTISE, "2024-02-01", result="extended", until="2026-02-01"),
            ],
            EventFacts(extended_until=d("2026-02-01")),
            id="extended_after_repair_lifts_the_refusal",
        ),
    ],
)
def test_event_facts(events, expected):
    assert facts_of_events(events) == expected


def test_obligations_per_kind_name_the_latest_event_of_each_kind():
    events = [
        ev(EXAM, "2020-05-01", due="2024-05-01"),
        ev(EXAM, "2024-04-20", result="failed"),
        ev(EXPERTISE, "2023-11-30", result="extended", due="2026-12-24", until="2026-12-24"),
    ]
    by_kind = {o.kind: o for o in map(obligation, latest_by_kind(events))}
    assert by_kind[EXAM].failed is True and by_kind[EXAM].due == d("2024-04-19")
    assert by_kind[EXAM].last.done_on == d("2024-04-20")
    assert by_kind[EXPERTISE].failed is False and by_kind[EXPERTISE].due == d("2026-12-24")
