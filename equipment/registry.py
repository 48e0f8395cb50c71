"""The equipment list query: filters, search, sorting and paging, shared by pages, API, export.

``RegistryQuery`` is parsed from request arguments (strings) with field-level errors; ``build``
turns it into SQL statements scoped to what the user may see, and ``fetch_page`` reads one page
and the total (the list page and the API).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, Select, Text, and_, case, func, literal, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import selectinload
from sqlalchemy.sql.functions import FunctionElement

from accounts.models import Organization
from core.access import MAX_ID, Scope, scoped, valid_id
from core.validation import ValidationFailed
from equipment import labels
from equipment.catalog import Band, DeviceType, EquipmentStatus
from equipment.indicators_sql import band_expr, band_filter, flag_exprs, wear_expr
from equipment.models import Equipment, Facility
from equipment.search import needles
from equipment.wear import WearCurve

FLAGS = ("critical", "warning", "life_expired", "inspection_overdue", "must_plan")


def sort_columns(as_of: date) -> dict:
    """The plain column (or expression) behind each sort key; device type, status, facility
    and organization are ordered as the user reads them (see ``order_by``)."""
    return {
        "inventory_no": Equipment.inventory_no,
        "name": Equipment.name,
        "device_type": Equipment.device_type,
        "facility": Equipment.facility_id,
        "organization": Equipment.organization_id,
        "manufacture_year": Equipment.manufacture_year,
        "commissioned_on": Equipment.commissioned_on,
        "wear": wear_expr(as_of),
        "life_end": Equipment.life_end,
        "next_inspection_due": Equipment.next_inspection_due,
        "critical_on": Equipment.critical_on,
        "status": Equipment.status,
    }


# the keys only: any date gives the same names
SORT_KEYS = tuple(sort_columns(date.min))


def _collation_key(text: str) -> str:
    return text.replace("ё", "е").replace("Ё", "Е").casefold()


def device_types_by_label() -> list[DeviceType]:
    """Device types in the alphabetical order of their labels in the current language."""
    return sorted(labels.DEVICE_TYPES, key=lambda t: _collation_key(str(labels.DEVICE_TYPES[t])))


def _rank(column, ordered) -> case:
    """Each code's position in ``ordered``: sorting by it sorts by what the user reads, not
    by the internal English code."""
    return case({code.value: i for i, code in enumerate(ordered)}, value=column, else_=len(ordered))


def order_keys(stmt: Select, key: str, as_of: date) -> tuple[Select, list, bool]:
    """(statement with the joins the sort needs, the expressions to sort by, whether they
    can be NULL). Facility sorts by the facility's code then name, organization by its name
    (joined only for that sort); device type by its label, status in its life-cycle order."""
    if key == "device_type":
        return stmt, [_rank(Equipment.device_type, device_types_by_label())], False
    if key == "status":  # in service, suspended, conserved, decommissioned
        return stmt, [_rank(Equipment.status, list(EquipmentStatus))], False
    if key == "facility":
        stmt = stmt.join(Facility, Facility.id == Equipment.facility_id)
        return stmt, [Facility.code, Facility.name, Equipment.facility_id], False
    if key == "organization":
        stmt = stmt.join(Organization, Organization.id == Equipment.organization_id)
        return stmt, [Organization.name, Equipment.organization_id], False
    column = sort_columns(as_of)[key]
    return stmt, [column], getattr(getattr(column, "expression", None), "nullable", True)


def _terms(exprs, desc: bool, nullable: bool, tiebreak) -> list:
    """ORDER BY terms: each expression in the direction, empty values last either way (said
    only where NULLs can occur: NOT NULL columns sort the same either way), ties by id."""
    out = []
    for expr in exprs:
        term = expr.desc() if desc else expr.asc()
        out.append(term.nulls_last() if nullable else term)
    out.append(tiebreak.desc() if desc else tiebreak.asc())
    return out


@dataclass
class RegistryQuery:
    q: str = ""
    facility_id: int | None = None
    organization_id: int | None = None
    device_type: DeviceType | None = None
    status: EquipmentStatus | None = None
    band: Band | None = None
    flags: list[str] = field(default_factory=list)
    sort: str = "inventory_no"
    desc: bool = False
    page: int = 1
    per_page: int = 50

    @classmethod
    def from_args(
        cls, args, max_per_page: int = 500, default_per_page: int = 50, for_people: bool = False
    ):
        """Parse ``request.args``-like input; raise ValidationFailed naming each bad field.

        The messages list what is allowed: the codes for the API, the labels the page shows
        when ``for_people``.
        """
        errors: dict[str, str] = {}

        def allowed(codes, table) -> str:
            if for_people:
                return ", ".join(str(table[code]) for code in codes)
            return ", ".join(getattr(code, "value", code) for code in codes)

        out = cls(per_page=default_per_page)
        out.q = (args.get("q") or "").strip()[:100]
        for name in ("facility_id", "organization_id"):
            raw = args.get(name)
            if raw:
                try:
                    value = int(raw)
                except ValueError:
                    errors[name] = _l("Expected a whole number.")
                    continue
                if valid_id(value):
                    setattr(out, name, value)
                else:  # no row has it; beyond the INTEGER column the database would fail
                    errors[name] = _l(
                        "Expected a whole number from %(lo)s to %(hi)s.", lo=1, hi=MAX_ID
                    )
        for name, enum_cls, table in (
            ("device_type", DeviceType, labels.DEVICE_TYPES),
            ("status", EquipmentStatus, labels.EQUIPMENT_STATUSES),
            ("band", Band, labels.BANDS),
        ):
            raw = args.get(name)
            if raw:
                try:
                    setattr(out, name, enum_cls(raw))
                except ValueError:
                    errors[name] = _l(
                        "Unknown value «%(value)s»; expected one of: %(allowed)s.",
                        value=raw,
                        allowed=allowed(list(enum_cls), table),
                    )
        flags = args.getlist("flag") if hasattr(args, "getlist") else args.get("flag", [])
        if isinstance(flags, str):
            flags = [flags]
        bad = [f for f in flags if f not in FLAGS]
        if bad:
            errors["flag"] = _l(
                "Unknown flag «%(value)s»; expected one of: %(allowed)s.",
                value=bad[0],
                allowed=allowed(FLAGS, labels.FLAGS),
            )
        out.flags = [f for f in flags if f in FLAGS]
        sort = args.get("sort") or "inventory_no"
        if sort.startswith("-"):
            out.desc, sort = True, sort[1:]
        if sort not in SORT_KEYS:
            errors["sort"] = _l(
                "Cannot sort by «%(value)s»; expected one of: %(allowed)s.",
                value=sort,
                allowed=allowed(SORT_KEYS, labels.SORT_KEYS),
            )
        else:
            out.sort = sort
        for name, lo, hi in (("page", 1, 10**6), ("per_page", 1, max_per_page)):
            raw = args.get(name)
            if raw:
                try:
                    value = int(raw)
                    if not lo <= value <= hi:
                        raise ValueError
                    setattr(out, name, value)
                except ValueError:
                    errors[name] = _l(
                        "Expected a whole number from %(lo)s to %(hi)s.", lo=lo, hi=hi
                    )
        if errors:
            raise ValidationFailed(errors)
        return out

    def has_filter(self) -> bool:
        """Whether anything narrows the list (sorting and paging do not)."""
        return bool(
            self.q
            or self.facility_id
            or self.organization_id
            or self.device_type
            or self.status
            or self.band
            or self.flags
        )

    def as_args(self, **overrides) -> dict:
        """The query as URL arguments (for links that keep the filter)."""
        out = {}
        for f in fields(self):
            value = overrides.get(f.name, getattr(self, f.name))
            if f.name == "sort":
                value = ("-" if overrides.get("desc", self.desc) else "") + value
            if f.name == "desc" or value in (None, "", [], False):
                continue
            if f.name == "per_page" and value == 50:
                continue
            if f.name == "page" and value == 1:
                continue
            out["flag" if f.name == "flags" else f.name] = getattr(value, "value", value)
        return out

    def conditions(self, as_of: date) -> list:
        conds = []
        if found := needles(self.q):
            # A substring of the folded name and numbers (equipment.search), taken literally
            # (no LIKE wildcards at all). A query with a digit is also looked up compacted:
            # «4626 Г» finds «4626-Г».
            conds.append(or_(*(_contains(Equipment.search_text, n) for n in found)))
        if self.facility_id:
            conds.append(Equipment.facility_id == self.facility_id)
        if self.organization_id:
            conds.append(Equipment.organization_id == self.organization_id)
        if self.device_type:
            conds.append(Equipment.device_type == self.device_type)
        if self.status:
            conds.append(Equipment.status == self.status)
        else:
            conds.append(Equipment.status != EquipmentStatus.DECOMMISSIONED)
        if self.band:
            conds.append(band_filter(self.band, as_of))
        exprs = flag_exprs(as_of)
        conds.extend(exprs[f] for f in self.flags)
        return conds


class _Contains(FunctionElement):
    """``needle`` is a substring of ``text``: ``strpos`` on PostgreSQL, ``instr`` on SQLite.
    A plain search for a substring, cheaper than ``LIKE '%…%'`` with its escapes (a search
    reads the folded text of every visible item: 200,000 on PostgreSQL 111 -> 62-74 ms)."""

    type = Boolean()
    inherit_cache = True
    name = "contains"


@compiles(_Contains)
def _contains_pg(element, compiler, **kw):
    text, needle = (compiler.process(c, **kw) for c in element.clauses)
    return f"(strpos({text}, {needle}) > 0)"


@compiles(_Contains, "sqlite")
def _contains_sqlite(element, compiler, **kw):
    text, needle = (compiler.process(c, **kw) for c in element.clauses)
    return f"(instr({text}, {needle}) > 0)"


def _contains(column, needle: str):
    return _Contains(column, literal(needle, Text()))


def build(
    query: RegistryQuery, scope: Scope, as_of: date, paged: bool = True
) -> tuple[Select, Select]:
    """(page statement, count statement) for the query within the scope; with ``paged``
    False the first one is every matching item in order (the export).

    A page is picked in two steps: the ids of the page by the sort key alone, then those
    rows. Sorting only (key, id) lets both databases read the narrow covering indexes
    (models.Equipment) instead of carrying every column of every visible row into the sort
    (admin, sort by wear, 200,000 items on SQLite: 193 -> 161 ms for that statement, and
    independent of how wide the rows are, e.g. the search text).
    """
    where = and_(scope.clause(Equipment), *query.conditions(as_of))
    count = select(func.count()).select_from(Equipment).where(where)
    # The facility (with its organization and region) in a second, small query rather than
    # joined to every row.
    load_facility = selectinload(Equipment.facility)
    if not paged:
        stmt, exprs, nullable = order_keys(select(Equipment), query.sort, as_of)
        stmt = stmt.options(load_facility).where(where)
        return stmt.order_by(*_terms(exprs, query.desc, nullable, Equipment.id)), count
    ids, exprs, nullable = order_keys(select(Equipment.id.label("id")), query.sort, as_of)
    keys = [expr.label(f"k{i}") for i, expr in enumerate(exprs)]
    chosen = (
        ids.add_columns(*keys)
        .where(where)
        # by the labels: "ORDER BY k0", so SQLite computes the wear of a row once, not twice
        .order_by(*_terms(keys, query.desc, nullable, Equipment.id))
        .limit(query.per_page)
        .offset((query.page - 1) * query.per_page)
        .subquery("page_ids")
    )
    page = (
        select(Equipment)
        .options(load_facility)
        .join(chosen, chosen.c.id == Equipment.id)
        .order_by(*_terms([chosen.c[k.name] for k in keys], query.desc, nullable, chosen.c.id))
    )
    return page, count


def fetch_page(session, query: RegistryQuery, scope: Scope, as_of: date) -> tuple[list, int]:
    """(the items of the page in order, the number of matching items).

    Sorts by a category (device type, status, facility, organization) are paged by the
    counts of each category instead of sorting every visible row by a CASE or a join: the
    counts (one GROUP BY, which also gives the total) tell which categories the page falls
    in, and only those are read, each in id order. Same order as ``build``'s ORDER BY (rank,
    then id; reversed for a descending sort). Admin, 200,000 items, sort by facility, p95
    (bench/registry.py): SQLite 215 -> 45 ms, PostgreSQL 199 -> 89 ms. The export keeps
    ``build``'s ORDER BY: it reads every row anyway."""
    if query.sort in _CATEGORIES:
        return _page_by_category(session, query, scope, as_of)
    page_stmt, count_stmt = build(query, scope, as_of)
    items = session.execute(page_stmt).unique().scalars().all()
    return items, session.execute(count_stmt).scalar_one()


def _ordered_facilities(session, ids) -> list:
    return list(
        session.scalars(
            select(Facility.id)
            .where(Facility.id.in_(ids))
            .order_by(Facility.code, Facility.name, Facility.id)
        )
    )


def _ordered_organizations(session, ids) -> list:
    return list(
        session.scalars(
            select(Organization.id)
            .where(Organization.id.in_(ids))
            .order_by(Organization.name, Organization.id)
        )
    )


# sort key -> (the column, the order of its values given those present)
_CATEGORIES = {
    "device_type": (
        Equipment.device_type,
        lambda session, present: [t for t in device_types_by_label() if t in present],
    ),
    "status": (
        Equipment.status,
        lambda session, present: [s for s in EquipmentStatus if s in present],
    ),
    "facility": (Equipment.facility_id, _ordered_facilities),
    "organization": (Equipment.organization_id, _ordered_organizations),
}


def _page_by_category(session, query: RegistryQuery, scope: Scope, as_of: date):
    column, ordered = _CATEGORIES[query.sort]
    where = and_(scope.clause(Equipment), *query.conditions(as_of))
    counts = dict(session.execute(select(column, func.count()).where(where).group_by(column)).all())
    total = sum(counts.values())
    order = ordered(session, list(counts))
    if query.desc:
        order.reverse()
    start = (query.page - 1) * query.per_page
    end = start + query.per_page
    by_id = Equipment.id.desc() if query.desc else Equipment.id.asc()
    ids: list[int] = []
    seen = 0
    for value in order:
        n = counts[value]
        if seen + n > start:
            offset = max(0, start - seen)
            limit = min(end, seen + n) - seen - offset
            ids += session.scalars(
                select(Equipment.id)
                .where(where, column == value)
                .order_by(by_id)
                .limit(limit)
                .offset(offset)
            )
        seen += n
        if seen >= end:
            break
    if not ids:
        return [], total
    rows = session.scalars(
        select(Equipment).options(selectinload(Equipment.facility)).where(Equipment.id.in_(ids))
    ).unique()
    position = {item_id: i for i, item_id in enumerate(ids)}
    return sorted(rows, key=lambda item: position[item.id]), total


def curve_of(item: Equipment) -> WearCurve:
    """The cached wear curve stored on the item."""
    return WearCurve(
        base_pct=item.wear_base_pct,
        base_day=item.wear_base_day,
        life_days=item.life_days,
        life_end=item.life_end,
        warning_on=item.warning_on,
        critical_on=item.critical_on,
        must_plan_on=item.must_plan_on,
        next_inspection_due=item.next_inspection_due,
        cycles_exhausted=bool(item.cycles_exhausted),
        expertise_refused=bool(item.expertise_refused),
        limit_state=bool(item.limit_state),
    )


def dashboard_counts(session, scope: Scope, as_of: date) -> dict[str, int]:
    """Counts by band and flag over the items the user can see (decommissioned excluded).

    Grouped by the band, so that each item's band (and the wear formula in it) is computed
    once: with a count per band, each of the six evaluated the wear formula in each branch
    of the band's CASE, 36 times per item (admin's dashboard at 50,000 items on PostgreSQL:
    170 ms of its CPU, now 42 ms)."""
    band = band_expr(as_of).label("band")
    visible = (scope.clause(Equipment), Equipment.status != EquipmentStatus.DECOMMISSIONED)

    def count_if(cond):
        return func.sum(case((cond, 1), else_=0))

    flags = flag_exprs(as_of)
    cols = [band, func.count().label("total")]
    cols += [count_if(expr).label(name) for name, expr in flags.items()]
    cols.append(count_if(Equipment.status == EquipmentStatus.IN_SERVICE).label("in_service"))
    summed = ("total", *flags, "in_service")
    counts = dict.fromkeys((*summed, *(f"band_{b.value}" for b in Band)), 0)
    for row in session.execute(select(*cols).where(*visible).group_by(band)).mappings():
        counts[f"band_{row['band']}"] = int(row["total"])
        for name in summed:
            counts[name] += int(row[name] or 0)
    # The facilities with an item to count: one index probe per visible facility, where
    # count(DISTINCT facility_id) sorted every item again (57 ms at 50,000, under 1 ms).
    has_items = select(Equipment.id).where(Equipment.facility_id == Facility.id, *visible)
    counts["facilities"] = session.execute(
        scoped(Facility, scope, select(func.count()).select_from(Facility)).where(
            has_items.exists()
        )
    ).scalar_one()
    return counts


def facility_choices(session, scope: Scope) -> list[Facility]:
    return list(
        session.execute(
            select(Facility).where(scope.clause(Facility)).order_by(Facility.code)
        ).scalars()
    )


def organization_choices(session, scope: Scope) -> list[Organization]:
    """The organizations whose equipment the user can see: those with a visible facility."""
    with_facility = select(Facility.organization_id).where(scope.clause(Facility))
    return list(
        session.execute(
            select(Organization)
            .where(scope.clause(Organization), Organization.id.in_(with_facility))
            .order_by(Organization.name, Organization.id)
        ).scalars()
    )
