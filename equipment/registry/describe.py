"""The list's filter in words, in the user's language: the printed list's title and the
export's title row say which items they hold («Условие: Ветхое; ОПО: A-01 — Котельная»).

Facilities, organizations and regions are named only within the user's scope (an id the
user cannot see is shown as the number it is, never with another organization's name).
"""

from __future__ import annotations

from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from accounts.models import Organization, Region
from core.access import Scope
from equipment import labels
from equipment.models import Facility
from equipment.registry import ages
from equipment.registry.query import RegistryQuery


def _visible(session, model, obj_id: int, scope: Scope):
    return session.execute(
        select(model).where(model.id == obj_id, scope.clause(model))
    ).scalar_one_or_none()


def filter_parts(session, query: RegistryQuery, scope: Scope) -> list[tuple[str, str]]:
    """``(what, value)`` of each filter applied, in the list's order."""
    args = labels.LIST_ARGS
    parts: list[tuple[str, str]] = []
    if query.q:
        parts.append((str(args["q"]), f"«{query.q}»"))
    if query.region_id:
        region = _visible(session, Region, query.region_id, scope)
        name = region.name(str(get_locale())) if region else f"#{query.region_id}"
        parts.append((_("Region"), name))
    if query.organization_id:
        org = _visible(session, Organization, query.organization_id, scope)
        parts.append(
            (str(args["organization_id"]), org.name if org else f"#{query.organization_id}")
        )
    if query.facility_id:
        fac = _visible(session, Facility, query.facility_id, scope)
        parts.append((str(args["facility_id"]), str(fac) if fac else f"#{query.facility_id}"))
    if query.device_type:
        parts.append((str(args["device_type"]), str(labels.DEVICE_TYPES[query.device_type])))
    if query.status:
        parts.append((str(args["status"]), str(labels.EQUIPMENT_STATUSES[query.status])))
    if query.band:
        parts.append((str(args["band"]), str(labels.BANDS[query.band])))
    if query.age:
        parts.append((_("Years in service"), str(ages.labels()[query.age])))
    if query.flags:
        flags = ", ".join(str(labels.FLAGS[f]) for f in query.flags)
        parts.append((str(args["flag"]), flags))
    return parts


def filter_text(session, query: RegistryQuery, scope: Scope) -> str:
    """The filter as one line; without one, says the list is the whole registry."""
    parts = filter_parts(session, query, scope)
    if not parts:
        return _("all items (no filter)")
    return "; ".join(f"{what}: {value}" for what, value in parts)
