"""The figures of the registry's dashboard section as chart bars (core.charts), each linking to
the list filtered to exactly the items it counts (the list's own query arguments).

The counts are set-based (``registry.counts``: one GROUP BY per breakdown) and scoped like the
list; the views only render. The organization and region breakdowns are for who sees more
than one organization (regulators, administrators); the region one for who sees more than one
region (national regulators, administrators).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from accounts.models import Organization, Region
from core.access import Scope
from core.charts import Bar
from equipment import labels
from equipment.catalog import Band
from equipment.models import Facility
from equipment.queries import Deadline, next_deadlines
from equipment.registry import ages
from equipment.registry.counts import by_key, names_of, top

TOP = 12  # the largest facilities and organizations shown; the rest are counted
DEADLINES = 10

DEADLINE_LABELS = {
    "examination": _l("Technical examination"),
    "hydraulic": _l("Hydraulic test"),
    "expertise": _l("Industrial-safety expertise"),
    "life": _l("End of service life"),
}


def _list(**args) -> str:
    return url_for("equipment.registry.index", **args)


@dataclass
class Breakdown:
    key: str
    title: str
    bars: list[Bar]
    more: int = 0  # values left out (beyond TOP)


@dataclass
class DashboardFigures:
    bands: list[Bar]
    breakdowns: list[Breakdown]
    ages: list[Bar]
    deadlines: list[Deadline]


def band_bars(counts: dict) -> list[Bar]:
    names = labels.for_templates().BANDS  # with their ranges: «Ветхое (60–80 %)»
    return [
        Bar(
            names[band],
            counts[f"band_{band.value}"],
            href=_list(band=band.value),
            css=f"band-{band.value}",
            key=band.value,
        )
        for band in Band
    ]


def _named(session, model, counts, label, arg: str) -> tuple[list[Bar], int]:
    pairs, more = top(counts, TOP)
    rows = names_of(session, model, [value for value, _n in pairs])
    bars = [
        Bar(label(rows[value]), n, href=_list(**{arg: value}), key=str(value))
        for value, n in pairs
        if value in rows
    ]
    return bars, more


def figures(session, scope: Scope, as_of: date, counts: dict) -> DashboardFigures:
    """Every chart of the section; ``counts`` are ``dashboard_counts`` (already read)."""
    breakdowns = []
    types = labels.for_templates().DEVICE_TYPES
    by_type = sorted(by_key(session, scope, "device_type", as_of).items(), key=lambda kv: -kv[1])
    type_bars = [
        Bar(types[code], n, href=_list(device_type=code.value), key=code.value)
        for code, n in by_type
    ]
    facility_bars, more = _named(
        session, Facility, by_key(session, scope, "facility", as_of), str, "facility_id"
    )
    breakdowns.append(Breakdown("facility", str(_l("Items by facility")), facility_bars, more))
    breakdowns.append(Breakdown("device_type", str(_l("Items by device type")), type_bars))
    if scope.organization_id is None:
        org_bars, more = _named(
            session,
            Organization,
            by_key(session, scope, "organization", as_of),
            lambda o: o.name,
            "organization_id",
        )
        if len(org_bars) > 1 or more:
            title = str(_l("Items by organization"))
            breakdowns.append(Breakdown("organization", title, org_bars, more))
    if scope.organization_id is None and scope.region_id is None:
        region_counts = by_key(session, scope, "region", as_of)
        rows = names_of(session, Region, list(region_counts))
        locale = str(get_locale())
        region_bars = [
            Bar(rows[rid].name(locale), n, href=_list(region_id=rid), key=str(rid))
            for rid, n in sorted(region_counts.items(), key=lambda kv: -kv[1])
        ]
        breakdowns.append(Breakdown("region", str(_l("Items by region")), region_bars))
    age_counts = by_key(session, scope, "age", as_of)
    age_names = ages.labels()
    age_bars = [
        Bar(str(age_names[code]), age_counts.get(code, 0), href=_list(age=code), key=code)
        for code in ages.CODES
    ]
    return DashboardFigures(
        band_bars(counts), breakdowns, age_bars, next_deadlines(session, scope, as_of, DEADLINES)
    )
