"""The equipment list query: filters, search and paging, shared by the page, the API and the
export (the sort keys and their order: ``sorting``).

``RegistryQuery`` is parsed from request arguments (strings) with field-level errors; ``build``
turns it into SQL statements scoped to what the user may see, and ``fetch_page`` reads one page
and the total (the list page and the API). The list's filter choices (facilities,
organizations) and ``curve_of`` (an item's stored wear curve) are here too.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import Integer, Select, Text, and_, case, func, literal, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import selectinload
from sqlalchemy.sql.functions import FunctionElement

from accounts.models import Organization, Region
from core.access import MAX_ID, Scope, valid_id
from core.validation import ValidationFailed
from equipment import labels
from equipment.catalog import Band, DeviceType, EquipmentStatus
from equipment.indicators_sql import band_filter, flag_exprs
from equipment.models import Equipment, Facility
from equipment.registry import ages, deadlines
from equipment.registry.sorting import CATEGORIES, SORT_KEYS, order_keys, order_terms
from equipment.search import SEPARATOR, needles
from equipment.wear import WearCurve

FLAGS = ("critical", "warning", "life_expired", "inspection_overdue", "must_plan")
# Orders that are no column: by search rank (the default of a search) and by the chosen
# deadline kind's date (the default of a ``due`` filter with a ``due_kind``).
RELEVANCE = "relevance"
DUE_DATE = "due_date"
MAX_PAGE = 10**6
DEFAULT_PER_PAGE = 50  # the page size a link leaves out (``as_args``)


@dataclass
class RegistryQuery:
    q: str = ""
    facility_id: int | None = None
    organization_id: int | None = None
    region_id: int | None = None
    age: str | None = None  # years in service: one of AGE_GROUPS (equipment.registry.ages)
    device_type: DeviceType | None = None
    status: EquipmentStatus | None = None
    band: Band | None = None
    flags: list[str] = field(default_factory=list)
    due: str | None = None  # deadlines.DUE_VALUES
    due_kind: str | None = None  # deadlines.DUE_KINDS; None: any kind
    sort: str = "inventory_no"
    desc: bool = False
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE

    @classmethod
    def from_args(
        cls,
        args,
        max_per_page: int = 500,
        default_per_page: int = DEFAULT_PER_PAGE,
        for_people: bool = False,
    ):
        """Parse ``request.args``-like input; raise ValidationFailed naming each bad field.

        The messages list what is allowed: the codes for the API, the labels the page shows
        when ``for_people``.
        """
        errors: dict[str, str] = {}
        values: dict = {"q": (args.get("q") or "").strip()[:100], "per_page": default_per_page}
        values.update(_ids(args, errors))
        values.update(_codes(args, errors, for_people))
        values.update(ages.parse(args, errors, for_people))
        values["flags"] = _flags(args, errors, for_people)
        values.update(_due(args, errors, for_people))
        values.update(_sort(args, errors, for_people))
        values["sort"] = _default_sort(values, args)
        values.update(_paging(args, errors, max_per_page))
        if errors:
            raise ValidationFailed(errors)
        return cls(**values)

    def has_filter(self) -> bool:
        """Whether anything narrows the list (sorting and paging do not)."""
        return bool(
            self.q
            or self.facility_id
            or self.organization_id
            or self.region_id
            or self.age
            or self.device_type
            or self.status
            or self.band
            or self.flags
            or self.due
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
            if f.name == "per_page" and value == DEFAULT_PER_PAGE:
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
            # «4626 Г» finds «4626-Г». A facility's code finds the facility's items.
            conds.append(
                or_(
                    *(_contains(Equipment.search_text, n) for n in found),
                    Equipment.facility_id.in_(_facilities_coded(self.q)),
                )
            )
        if self.region_id:
            conds.append(
                Equipment.facility_id.in_(
                    select(Facility.id).where(Facility.region_id == self.region_id)
                )
            )
        if self.due:
            conds.append(deadlines.due_condition(self.due, self.due_kind, as_of))
        if self.facility_id:
            conds.append(Equipment.facility_id == self.facility_id)
        if self.organization_id:
            conds.append(Equipment.organization_id == self.organization_id)
        if self.age:
            conds.append(ages.condition(self.age, as_of))
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

    def where(self, scope: Scope, as_of: date):
        """The condition of the matching items the scope lets the user see."""
        return and_(scope.clause(Equipment), *self.conditions(as_of))


# ---------------------------------------------------------------------------- parsing


def _allowed(codes, table, for_people: bool) -> str:
    """What a field accepts, for its error message: the labels on a page, else the codes."""
    if for_people:
        return ", ".join(str(table[code]) for code in codes)
    return ", ".join(getattr(code, "value", code) for code in codes)


def _ids(args, errors: dict) -> dict:
    """The facility and organization filters: ids that a row may have."""
    out = {}
    for name in ("facility_id", "organization_id", "region_id"):
        raw = args.get(name)
        if not raw:
            continue
        try:
            value = int(raw)
        except ValueError:
            errors[name] = _l("Expected a whole number.")
            continue
        if valid_id(value):
            out[name] = value
        else:  # no row has it; beyond the INTEGER column the database would fail
            errors[name] = _l("Expected a whole number from %(lo)s to %(hi)s.", lo=1, hi=MAX_ID)
    return out


def _codes(args, errors: dict, for_people: bool) -> dict:
    """Device type, status and condition band: one of their codes each."""
    out = {}
    for name, enum_cls, table in (
        ("device_type", DeviceType, labels.DEVICE_TYPES),
        ("status", EquipmentStatus, labels.EQUIPMENT_STATUSES),
        ("band", Band, labels.BANDS),
    ):
        raw = args.get(name)
        if not raw:
            continue
        try:
            out[name] = enum_cls(raw)
        except ValueError:
            errors[name] = _l(
                "Unknown value «%(value)s»; expected one of: %(allowed)s.",
                value=raw,
                allowed=_allowed(list(enum_cls), table, for_people),
            )
    return out


def _flags(args, errors: dict, for_people: bool) -> list[str]:
    """The flags asked for (``flag`` repeated: a MultiDict, or a list or one string in a
    plain dict); the known ones are kept, the first unknown one is named."""
    flags = args.getlist("flag") if hasattr(args, "getlist") else args.get("flag", [])
    if isinstance(flags, str):
        flags = [flags]
    bad = [f for f in flags if f not in FLAGS]
    if bad:
        errors["flag"] = _l(
            "Unknown flag «%(value)s»; expected one of: %(allowed)s.",
            value=bad[0],
            allowed=_allowed(FLAGS, labels.FLAGS, for_people),
        )
    return [f for f in flags if f in FLAGS]


def _sort(args, errors: dict, for_people: bool) -> dict:
    """``sort``: a key, ``-`` before it for descending."""
    sort = args.get("sort") or "inventory_no"
    desc = sort.startswith("-")
    if desc:
        sort = sort[1:]
    if sort not in SORT_KEYS and sort not in (RELEVANCE, DUE_DATE):
        errors["sort"] = _l(
            "Cannot sort by «%(value)s»; expected one of: %(allowed)s.",
            value=sort,
            allowed=_allowed(SORT_KEYS, labels.SORT_KEYS, for_people),
        )
        return {"desc": desc}
    return {"sort": sort, "desc": desc}


def _due(args, errors: dict, for_people: bool) -> dict:
    """``due`` (a horizon, overdue or none) and ``due_kind`` (which deadline; none: any)."""
    out = {}
    for name, allowed, table in (
        ("due", deadlines.DUE_VALUES, labels.DUE_HORIZONS),
        ("due_kind", deadlines.DUE_KINDS, labels.DUE_KINDS),
    ):
        raw = args.get(name)
        if not raw:
            continue
        if raw in allowed:
            out[name] = raw
        else:
            errors[name] = _l(
                "Unknown value «%(value)s»; expected one of: %(allowed)s.",
                value=raw,
                allowed=_allowed(allowed, table, for_people),
            )
    return out


def _default_sort(values: dict, args) -> str:
    """The sort asked for; without one, a search sorts by its rank and a deadline filter of
    one kind by that deadline. The two orders that are no column fall back to the inventory
    number where they mean nothing (no search, no deadline kind)."""
    sort = values.get("sort", "inventory_no")
    if not args.get("sort"):
        if values.get("q"):
            sort = RELEVANCE
        elif values.get("due_kind") and values.get("due") not in (None, "none"):
            sort = DUE_DATE
    if (sort == RELEVANCE and not needles(values.get("q", ""))) or (
        sort == DUE_DATE and not values.get("due_kind")
    ):
        return "inventory_no"
    return sort


def _paging(args, errors: dict, max_per_page: int) -> dict:
    out = {}
    for name, lo, hi in (("page", 1, MAX_PAGE), ("per_page", 1, max_per_page)):
        raw = args.get(name)
        if not raw:
            continue
        try:
            value = int(raw)
        except ValueError:
            value = None
        if value is not None and lo <= value <= hi:
            out[name] = value
        else:
            errors[name] = _l("Expected a whole number from %(lo)s to %(hi)s.", lo=lo, hi=hi)
    return out


# ---------------------------------------------------------------------------- search


def _contains(column, needle: str):
    """``needle`` is a substring of ``column``: a plain position search, cheaper than
    ``LIKE '%…%'`` with its escapes (a search reads the folded text of every visible item:
    200,000 on PostgreSQL 111 -> 62-74 ms)."""
    return _Position(column, literal(needle, Text())) > 0


class _Position(FunctionElement):
    """Where ``needle`` first starts in ``text`` (1-based; 0: nowhere)."""

    type = Integer()
    inherit_cache = True
    name = "position"


@compiles(_Position)
def _position_pg(element, compiler, **kw):
    text, needle = (compiler.process(c, **kw) for c in element.clauses)
    return f"strpos({text}, {needle})"


@compiles(_Position, "sqlite")
def _position_sqlite(element, compiler, **kw):
    text, needle = (compiler.process(c, **kw) for c in element.clauses)
    return f"instr({text}, {needle})"


def _facilities_coded(q: str):
    """The facilities whose code is the query (case ignored: «opo-01» finds «OPO-01»)."""
    code = q.strip()
    return select(Facility.id).where(
        or_(Facility.code == code, func.upper(Facility.code) == code.upper())
    )


# The lines of search_text (equipment.search.SEARCHED, then the compact numbers) and the rank
# of a match in each, best first: a number typed whole or its beginning, then the name, a
# number's middle, the model, the manufacturer; a facility code last.
_LINE_INVENTORY, _LINE_NAME, _LINE_FACTORY, _LINE_REGISTRATION, _LINE_MODEL, _LINE_MAKER = range(6)
_NUMBER_LINES = (_LINE_FACTORY, _LINE_REGISTRATION)
RANK_NUMBER_EXACT, RANK_NUMBER_PREFIX, RANK_NAME, RANK_NUMBER, RANK_MODEL, RANK_MAKER = range(6)
RANK_FACILITY = 6


def _separators_in(text, upto):
    """How many field separators ``text`` has in its first ``upto`` characters (``upto``
    is a position in it, so the head's length is ``upto`` itself)."""
    return upto - func.length(func.replace(func.substr(text, 1, upto), SEPARATOR, ""))


def _rank_of(needle: str):
    """The rank (RANK_*) of ``needle`` in the row's search_text, in string functions that
    both databases have (no split, no regex): the field of a match is told by counting the
    separators before it. Read: the first occurrence (its field), and the first occurrence
    at the beginning of a field (a factory or registration number, or a compact copy, that
    starts with the needle). So a needle first found in the inventory number's middle ranks
    as a number's middle even if the name has it too, and a number that begins with it is
    missed when the name begins with it as well: both rare, and the price of a rank that
    costs a few string functions per matching row (the sort reads every match: 17,308 for
    «котел» at 50,000 items). Simple CASEs (``CASE x WHEN …``) evaluate each position
    once per row; a searched CASE would compute it again in every branch."""
    t = Equipment.search_text
    n = literal(needle, Text())
    first = _Position(t, n)
    line = _separators_in(t, first)
    starts = _Position(t, literal(SEPARATOR + needle, Text()))
    # the line a field-opening match opens (0 when none: the "\n" itself is counted)
    starts_line = _separators_in(t, starts)
    by_line = case(
        {_LINE_NAME: RANK_NAME, _LINE_MODEL: RANK_MODEL, _LINE_MAKER: RANK_MAKER},
        value=line,
        else_=RANK_NUMBER,  # the middle of a number or of its compact copy
    )
    not_a_number = (0, _LINE_NAME, _LINE_MODEL, _LINE_MAKER)  # lines a match may open
    by_start = case(
        dict.fromkeys(not_a_number, by_line), value=starts_line, else_=RANK_NUMBER_PREFIX
    )
    return case(
        (func.substr(t, 1, len(needle) + 1) == needle + SEPARATOR, RANK_NUMBER_EXACT),
        else_=case({0: RANK_FACILITY, 1: RANK_NUMBER_PREFIX}, value=first, else_=by_start),
    )


def rank_expr(q: str):
    """The best rank of the query's needles (as typed and, with a digit, compacted)."""
    found = needles(q)
    if len(found) == 1:
        return _rank_of(found[0])
    folded, squeezed = found
    return case(
        (_contains(Equipment.search_text, folded), _rank_of(folded)), else_=_rank_of(squeezed)
    )


def _order(stmt: Select, query: RegistryQuery, as_of: date):
    """``sorting.order_keys`` with the two orders that are no column: the search's rank
    (then the inventory number) and the chosen deadline kind's date."""
    if query.sort == RELEVANCE:
        return stmt, [rank_expr(query.q), Equipment.inventory_no], False
    if query.sort == DUE_DATE:
        return stmt, [deadlines.due_date_expr(query.due_kind)], True
    return order_keys(stmt, query.sort, as_of)


# ---------------------------------------------------------------------------- reading


# The facility (with its organization and region) in a second, small query rather than
# joined to every row.
_LOAD_FACILITY = selectinload(Equipment.facility)


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
    where = query.where(scope, as_of)
    count = select(func.count()).select_from(Equipment).where(where)
    if not paged:
        stmt, exprs, nullable = _order(select(Equipment), query, as_of)
        stmt = stmt.options(_LOAD_FACILITY).where(where)
        return stmt.order_by(*order_terms(exprs, query.desc, nullable, Equipment.id)), count
    ids, exprs, nullable = _order(select(Equipment.id.label("id")), query, as_of)
    keys = [expr.label(f"k{i}") for i, expr in enumerate(exprs)]
    chosen = (
        ids.add_columns(*keys)
        .where(where)
        # by the labels: "ORDER BY k0", so SQLite computes the wear of a row once, not twice
        .order_by(*order_terms(keys, query.desc, nullable, Equipment.id))
        .limit(query.per_page)
        .offset((query.page - 1) * query.per_page)
        .subquery("page_ids")
    )
    page = (
        select(Equipment)
        .options(_LOAD_FACILITY)
        .join(chosen, chosen.c.id == Equipment.id)
        .order_by(*order_terms([chosen.c[k.name] for k in keys], query.desc, nullable, chosen.c.id))
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
    if query.sort in CATEGORIES:
        return _page_by_category(session, query, scope, as_of)
    page_stmt, count_stmt = build(query, scope, as_of)
    items = session.execute(page_stmt).unique().scalars().all()
    return items, session.execute(count_stmt).scalar_one()


def _page_by_category(session, query: RegistryQuery, scope: Scope, as_of: date):
    column, ordered = CATEGORIES[query.sort]
    where = query.where(scope, as_of)
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
        select(Equipment).options(_LOAD_FACILITY).where(Equipment.id.in_(ids))
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


# ---------------------------------------------------------------------------- filter choices


def facility_choices(
    session, scope: Scope, region_id: int | None = None, organization_id: int | None = None
) -> list[Facility]:
    """The visible facilities, of the chosen region and organization only (the filters
    narrow each other)."""
    conds = [scope.clause(Facility)]
    if region_id:
        conds.append(Facility.region_id == region_id)
    if organization_id:
        conds.append(Facility.organization_id == organization_id)
    return list(
        session.execute(
            select(Facility).where(*conds).order_by(Facility.code, Facility.name, Facility.id)
        ).scalars()
    )


def region_choices(session, scope: Scope) -> list:
    """The regions with a visible facility."""
    with_facility = select(Facility.region_id).where(scope.clause(Facility))
    return list(
        session.execute(
            select(Region).where(Region.id.in_(with_facility)).order_by(Region.name_ru)
        ).scalars()
    )


def organization_choices(session, scope: Scope, region_id: int | None = None) -> list[Organization]:
    """The organizations whose equipment the user can see: those with a visible facility
    (in the chosen region, when one is)."""
    with_facility = select(Facility.organization_id).where(scope.clause(Facility))
    if region_id:
        with_facility = with_facility.where(Facility.region_id == region_id)
    return list(
        session.execute(
            select(Organization)
            .where(scope.clause(Organization), Organization.id.in_(with_facility))
            .order_by(Organization.name, Organization.id)
        ).scalars()
    )
