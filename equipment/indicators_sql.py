"""Today's indicators as SQL expressions over the cached wear curve of ``Equipment``.

Mirrors ``wear.wear_at`` / ``wear.indicators`` so that lists filter, sort and count in the
database (set-based, on both SQLite and PostgreSQL). ``tests/integration`` checks that both
sides agree item by item.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Float, and_, case, cast, literal, not_, or_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from equipment.catalog import BAND_LOWER_BOUNDS, Band
from equipment.models import Equipment as E


class _Least(FunctionElement):
    """The smaller of two numbers: ``LEAST`` on PostgreSQL, SQLite's two-argument ``min``."""

    type = Float()
    inherit_cache = True
    name = "least"


class _Greatest(FunctionElement):
    type = Float()
    inherit_cache = True
    name = "greatest"


@compiles(_Least)
def _least(element, compiler, **kw):
    return f"LEAST({compiler.process(element.clauses, **kw)})"


@compiles(_Least, "sqlite")
def _least_sqlite(element, compiler, **kw):
    return f"min({compiler.process(element.clauses, **kw)})"


@compiles(_Greatest)
def _greatest(element, compiler, **kw):
    return f"GREATEST({compiler.process(element.clauses, **kw)})"


@compiles(_Greatest, "sqlite")
def _greatest_sqlite(element, compiler, **kw):
    return f"max({compiler.process(element.clauses, **kw)})"


def _clamped(value):
    """``min(100, max(0, value))`` as in ``wear.wear_at``, the value written once: a CASE
    needed it three times, and the wear sort of 200,000 items computes it for every row
    (PostgreSQL 335 -> 185-240 ms for that statement). The callers guard NULL first:
    PostgreSQL's LEAST and GREATEST skip a NULL argument, SQLite's min and max return NULL."""
    return _Least(literal(100.0, Float), _Greatest(literal(0.0, Float), value))


def wear_expr(as_of: date):
    raw = E.wear_base_pct + (literal(as_of.toordinal()) - E.wear_base_day) * 100.0 / E.life_days
    return cast(
        case(
            (or_(E.wear_base_pct.is_(None), E.wear_base_day.is_(None)), None),
            (E.life_days.is_(None), _clamped(E.wear_base_pct)),
            else_=_clamped(raw),
        ),
        Float,
    )


def band_expr(as_of: date):
    wear = wear_expr(as_of)
    whens = [(wear.is_(None), Band.UNKNOWN.value)]
    whens += [(wear >= lower, band.value) for band, lower in BAND_LOWER_BOUNDS]
    return case(*whens, else_=Band.GOOD.value)


def band_filter(band: Band, as_of: date):
    """Rows in a band, as a range on wear (keeps the expression simple for the planner)."""
    if band == Band.UNKNOWN:
        return E.wear_base_pct.is_(None)
    bounds = dict(BAND_LOWER_BOUNDS)
    lower = bounds[band]
    upper = min((v for v in bounds.values() if v > lower), default=None)
    wear = wear_expr(as_of)
    return and_(wear >= lower, wear < upper) if upper is not None else wear >= lower


def reached(column, as_of: date):
    return and_(column.is_not(None), column <= as_of)


def flag_exprs(as_of: date) -> dict:
    return {
        "critical": reached(E.critical_on, as_of),
        # below critical: the same ladder as equipment.wear.indicators
        "warning": and_(reached(E.warning_on, as_of), not_(reached(E.critical_on, as_of))),
        "life_expired": or_(reached(E.life_end, as_of), E.cycles_exhausted.is_(True)),
        "inspection_overdue": and_(
            E.next_inspection_due.is_not(None), E.next_inspection_due < as_of
        ),
        "must_plan": or_(reached(E.must_plan_on, as_of), E.cycles_exhausted.is_(True)),
    }
