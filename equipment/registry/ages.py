"""Years in service (from the commissioning date): the dashboard's age profile and the list's
``age`` filter, one definition for both so that a figure and its list always agree.

A group ``"5-10"`` holds the items commissioned more than 5 and at most 10 years before the
day (5 full years make an item 5 years old); ``"over-30"`` more than 30; ``"unknown"`` the
items without a commissioning date. An item commissioned after the day counts in ``"0-5"``.
"""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case

from equipment.models import Equipment

# (code, lower bound in years, upper bound in years or None), youngest first
GROUPS: tuple[tuple[str, int, int | None], ...] = (
    ("0-5", 0, 5),
    ("5-10", 5, 10),
    ("10-20", 10, 20),
    ("20-30", 20, 30),
    ("over-30", 30, None),
)
UNKNOWN = "unknown"
CODES = (*(code for code, _lo, _hi in GROUPS), UNKNOWN)


def labels() -> dict[str, str]:
    """The groups as the dashboard names them («0–5 лет» …, «нет даты ввода»)."""
    out = {}
    for code, lo, hi in GROUPS:
        if hi is None:
            out[code] = _l("over %(lo)s years", lo=lo)
        else:
            out[code] = _l("%(lo)s–%(hi)s years", lo=lo, hi=hi)
    out[UNKNOWN] = _l("no commissioning date")
    return out


def years_before(day: date, years: int) -> date:
    """The same calendar day ``years`` earlier (29 February: the 28th)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def condition(code: str, as_of: date):
    """SQL: the item is in the age group ``code`` on ``as_of``."""
    column = Equipment.commissioned_on
    if code == UNKNOWN:
        return column.is_(None)
    _code, lo, hi = next(g for g in GROUPS if g[0] == code)
    conds = [column.is_not(None)]
    if lo:
        conds.append(column <= years_before(as_of, lo))
    if hi is not None:
        conds.append(column > years_before(as_of, hi))
    return and_(*conds)


def group_expr(as_of: date):
    """SQL: the item's age group on ``as_of`` (for one GROUP BY)."""
    whens = [(Equipment.commissioned_on.is_(None), UNKNOWN)]
    for code, lo, _hi in reversed(GROUPS[1:]):  # oldest first: the first bound passed wins
        whens.append((Equipment.commissioned_on <= years_before(as_of, lo), code))
    return case(*whens, else_=GROUPS[0][0])


def parse(args, errors: dict, for_people: bool) -> dict:
    """The list's ``age`` argument: one of CODES."""
    raw = args.get("age")
    if not raw:
        return {}
    if raw in CODES:
        return {"age": raw}
    names = labels()
    allowed = ", ".join(str(names[c]) if for_people else c for c in CODES)
    errors["age"] = _l(
        "Unknown value «%(value)s»; expected one of: %(allowed)s.", value=raw, allowed=allowed
    )
    return {}
