"""Wear indicators (DESIGN §3). Pure functions: no Flask, no database.

The computation has two steps:

* ``wear_curve(inputs, thresholds)`` turns the facts about one item (dates, service life, the
  latest assessment and expertise, cycles) into a ``WearCurve``: a straight line of wear over
  time plus the dates on which the flags switch on. It does not depend on today's date, so the
  registry keeps it next to each item and SQL can filter and sort by it (see ``indicators_sql``).
* ``indicators(curve, as_of)`` reads the curve on a given day: wear %, band and flags.

Wear grows linearly with age: ``age / service_life × 100``. The latest condition assessment
re-bases the line: ``assessed + (t − t_assessed) / service_life × 100``. Both are capped to
0…100; with no known service life the wear stays at the assessed value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from equipment.catalog import BAND_LOWER_BOUNDS, Band, Condition, InspectionKind, InspectionResult

DAYS_PER_YEAR = 365.25
DEFAULT_LIFE_WITHOUT_DATA_YEARS = 20  # Kazakh rule: expertise of devices without a stated life


@dataclass(frozen=True)
class Thresholds:
    warning: float = 60.0
    critical: float = 80.0

    def __post_init__(self):
        if not 0 < self.warning <= self.critical <= 100:
            raise ValueError("thresholds must satisfy 0 < warning <= critical <= 100")


def thresholds_for(
    device_type: str | None, config: Mapping[str, Mapping[str, float]]
) -> Thresholds:
    """Thresholds of a device type, falling back to ``config["default"]`` then to 60/80."""
    base = dict(config.get("default", {}))
    base.update(config.get(device_type or "", {}))
    return Thresholds(**base) if base else Thresholds()


@dataclass(frozen=True)
class WearInputs:
    commissioned_on: date | None = None
    manufacture_year: int | None = None
    service_life_years: float | None = None
    assessed_pct: float | None = None
    assessed_on: date | None = None
    condition: str | None = None  # condition of the latest assessment
    extended_until: date | None = None  # life extended by expertise until (see event_facts)
    refused_on: date | None = None  # latest expertise, when it refused further use
    next_inspection_due: date | None = None
    cycle_limit: int | None = None
    cycle_count: int | None = None


@dataclass(frozen=True)
class WearCurve:
    """Time-independent description of an item's wear; stored as a cache on each item."""

    base_pct: float | None = None  # wear at base_day
    base_day: int | None = None  # date.toordinal()
    life_days: float | None = None  # normative service life in days
    life_end: date | None = None
    warning_on: date | None = None  # first day wear >= warning threshold
    critical_on: date | None = None  # first day wear >= critical threshold
    must_plan_on: date | None = None  # first day the item must be in the plan
    next_inspection_due: date | None = None
    cycles_exhausted: bool = False
    expertise_refused: bool = False
    limit_state: bool = False


@dataclass(frozen=True)
class Indicators:
    as_of: date
    wear_pct: float | None
    band: Band
    life_end: date | None
    life_expired: bool
    inspection_overdue: bool
    warning: bool
    critical: bool
    must_plan: bool
    critical_forecast: date | None  # when the curve reaches the critical threshold
    next_inspection_due: date | None
    reasons: tuple[str, ...] = field(default=())  # why the item must be planned


def start_date(inputs: WearInputs) -> date | None:
    """Commissioning date, else 1 January of the manufacture year."""
    if inputs.commissioned_on:
        return inputs.commissioned_on
    if inputs.manufacture_year:
        return date(inputs.manufacture_year, 1, 1)
    return None


def add_years(start: date, years: float) -> date:
    """Calendar years for whole numbers (29 Feb -> 28 Feb), days for fractions."""
    if float(years).is_integer():
        target = start.year + int(years)
        try:
            return start.replace(year=target)
        except ValueError:
            return start.replace(year=target, day=28)
    return start + timedelta(days=round(years * DAYS_PER_YEAR))


def normative_life_end(inputs: WearInputs) -> date | None:
    """Start + the normative life; with no life data, start + 20 years (DESIGN §3)."""
    start = start_date(inputs)
    if start is None:
        return None
    return add_years(start, inputs.service_life_years or DEFAULT_LIFE_WITHOUT_DATA_YEARS)


def life_end(inputs: WearInputs) -> date | None:
    """The expertise extension if any, else the normative life end. A refusal does not move
    it: it is a reason of its own to plan the item (DESIGN §3), shown beside the life end."""
    if inputs.extended_until:
        return inputs.extended_until
    return normative_life_end(inputs)


def _day_reaching(
    base_pct: float, base_day: int, life_days: float | None, pct: float
) -> date | None:
    """First whole day on which the line reaches ``pct``."""
    if life_days is None:
        return date.fromordinal(base_day) if base_pct >= pct else None
    return date.fromordinal(math.ceil(base_day + (pct - base_pct) * life_days / 100.0 - 1e-9))


def wear_curve(inputs: WearInputs, thresholds: Thresholds = Thresholds()) -> WearCurve:
    life_days = (
        inputs.service_life_years * DAYS_PER_YEAR
        if inputs.service_life_years and inputs.service_life_years > 0
        else None
    )
    base_pct: float | None = None
    base_day: int | None = None
    if inputs.assessed_pct is not None and inputs.assessed_on is not None:
        base_pct, base_day = float(inputs.assessed_pct), inputs.assessed_on.toordinal()
    elif life_days is not None and (start := start_date(inputs)) is not None:
        base_pct, base_day = 0.0, start.toordinal()

    warning_on = critical_on = None
    if base_pct is not None and base_day is not None:
        warning_on = _day_reaching(base_pct, base_day, life_days, thresholds.warning)
        critical_on = _day_reaching(base_pct, base_day, life_days, thresholds.critical)
        if inputs.assessed_on is not None and base_day == inputs.assessed_on.toordinal():
            # An assessment already above a threshold tells us about that day, not before it.
            warning_on = max(warning_on, inputs.assessed_on) if warning_on else None
            critical_on = max(critical_on, inputs.assessed_on) if critical_on else None

    end = life_end(inputs)
    limit_state = inputs.condition == Condition.LIMIT
    cycles_exhausted = bool(
        inputs.cycle_limit
        and inputs.cycle_count is not None
        and inputs.cycle_count >= inputs.cycle_limit
    )
    triggers = [d for d in (critical_on, end, inputs.refused_on) if d is not None]
    if limit_state and inputs.assessed_on:
        triggers.append(inputs.assessed_on)
    return WearCurve(
        base_pct=base_pct,
        base_day=base_day,
        life_days=life_days,
        life_end=end,
        warning_on=warning_on,
        critical_on=critical_on,
        must_plan_on=min(triggers) if triggers else None,
        next_inspection_due=inputs.next_inspection_due,
        cycles_exhausted=cycles_exhausted,
        expertise_refused=inputs.refused_on is not None,
        limit_state=limit_state,
    )


def wear_at(curve: WearCurve, as_of: date) -> float | None:
    if curve.base_pct is None or curve.base_day is None:
        return None
    if curve.life_days is None:
        return min(100.0, max(0.0, curve.base_pct))
    value = curve.base_pct + (as_of.toordinal() - curve.base_day) * 100.0 / curve.life_days
    return min(100.0, max(0.0, value))


def band_of(wear_pct: float | None) -> Band:
    if wear_pct is None:
        return Band.UNKNOWN
    for band, lower in BAND_LOWER_BOUNDS:
        if wear_pct >= lower:
            return band
    return Band.GOOD


def _reached(day: date | None, as_of: date) -> bool:
    return day is not None and as_of >= day


def indicators(curve: WearCurve, as_of: date) -> Indicators:
    life_expired = _reached(curve.life_end, as_of) or curve.cycles_exhausted
    critical = _reached(curve.critical_on, as_of)
    reasons = []
    if critical:
        reasons.append("critical")
    if _reached(curve.life_end, as_of):
        reasons.append("life_expired")
    if curve.cycles_exhausted:
        reasons.append("cycles_exhausted")
    must_plan = _reached(curve.must_plan_on, as_of) or curve.cycles_exhausted
    # the curve keeps that a refusal happened, not its day: it is on record, so it is past
    if curve.expertise_refused and must_plan:
        reasons.append("expertise_refused")
    if curve.limit_state and must_plan:
        reasons.append("limit_state")
    wear = wear_at(curve, as_of)
    return Indicators(
        as_of=as_of,
        wear_pct=wear,
        band=band_of(wear),
        life_end=curve.life_end,
        life_expired=life_expired,
        inspection_overdue=curve.next_inspection_due is not None
        and as_of > curve.next_inspection_due,
        # a ladder, as the bands: «warning» is wear at or above the warning threshold and
        # still below the critical one; a critical item is counted and flagged once (critical)
        warning=_reached(curve.warning_on, as_of) and not critical,
        critical=critical,
        must_plan=must_plan,
        critical_forecast=curve.critical_on,
        next_inspection_due=curve.next_inspection_due,
        reasons=tuple(reasons),
    )


def compute(inputs: WearInputs, as_of: date, thresholds: Thresholds = Thresholds()) -> Indicators:
    """Convenience: the indicators of one item on one day."""
    return indicators(wear_curve(inputs, thresholds), as_of)


# ---------------------------------------------------------------------------- inspections


@dataclass(frozen=True)
class Event:
    """An inspection or expertise as the rules read it."""

    kind: str
    done_on: date
    result: str
    next_due_on: date | None = None
    extended_until: date | None = None
    id: int = 0  # the later of two events on one day wins


@dataclass(frozen=True)
class Obligation:
    """Where one kind of inspection stands: its latest event and when the next is due."""

    kind: str
    last: Event
    due: date | None  # None: the latest event set no next date
    failed: bool  # the latest event failed: no further use until it is passed again


def obligation(latest: Event) -> Obligation:
    """The obligation a kind's latest event leaves. A failed examination or test means the
    device may not be used until the defects are removed and it passes again, so the next
    one is due at once: overdue from the day of the failure."""
    failed = latest.result == InspectionResult.FAILED
    due = latest.done_on - timedelta(days=1) if failed else latest.next_due_on
    return Obligation(kind=latest.kind, last=latest, due=due, failed=failed)


def latest_by_kind(events) -> list[Event]:
    """Each kind's latest event (by date, then id)."""
    latest: dict[str, Event] = {}
    for event in events:
        known = latest.get(event.kind)
        if known is None or (event.done_on, event.id) > (known.done_on, known.id):
            latest[event.kind] = event
    return list(latest.values())


@dataclass(frozen=True)
class EventFacts:
    next_due: date | None = None  # the earliest obligation
    extended_until: date | None = None
    refused_on: date | None = None


def event_facts(latest: list[Event], longest_extension: date | None = None) -> EventFacts:
    """What the inspections mean for the wear rules, from each kind's latest event and the
    longest extension any expertise granted: the earliest due date over the kinds; the
    extension of the latest expertise, or else the longest earlier one (a later expertise that
    neither extends nor refuses leaves it standing); the day the latest expertise refused."""
    dues = [o.due for o in map(obligation, latest) if o.due is not None]
    expertise = next((e for e in latest if e.kind == InspectionKind.EXPERTISE), None)
    refused_on = extended = None
    if expertise is not None and expertise.result == InspectionResult.REFUSED:
        refused_on = expertise.done_on
    if expertise is not None and expertise.result == InspectionResult.EXTENDED:
        extended = expertise.extended_until
    return EventFacts(
        next_due=min(dues) if dues else None,
        extended_until=extended or longest_extension,
        refused_on=refused_on,
    )


def facts_of_events(events) -> EventFacts:
    """``event_facts`` of all of an item's events (the card; the registry does it in SQL)."""
    events = list(events)
    extensions = [
        e.extended_until
        for e in events
        if e.kind == InspectionKind.EXPERTISE and e.extended_until is not None
    ]
    return event_facts(latest_by_kind(events), max(extensions, default=None))
