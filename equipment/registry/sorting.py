"""The equipment list's sort keys: the column behind each, the order a user reads (device types
by their label, statuses in their life-cycle order, facilities by code), and how a sort by a
category is paged (see ``query.fetch_page``)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Select, case, select

from accounts.models import Organization
from equipment import labels
from equipment.catalog import DeviceType, EquipmentStatus
from equipment.indicators_sql import wear_expr
from equipment.models import Equipment, Facility


def sort_columns(as_of: date) -> dict:
    """The plain column (or expression) behind each sort key; device type, status, facility
    and organization are ordered as the user reads them (see ``order_keys``)."""
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


def order_terms(exprs, desc: bool, nullable: bool, tiebreak) -> list:
    """ORDER BY terms: each expression in the direction, empty values last either way (said
    only where NULLs can occur: NOT NULL columns sort the same either way), ties by id."""
    out = []
    for expr in exprs:
        term = expr.desc() if desc else expr.asc()
        out.append(term.nulls_last() if nullable else term)
    out.append(tiebreak.desc() if desc else tiebreak.asc())
    return out


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


# sort key -> (the column, the order of its values given those present); the same order as
# ``order_keys`` gives in SQL
CATEGORIES = {
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
