"""The registry's figures on accounts' organization pages, added through core.hooks: the
facilities and items columns of the organizations list, and the facilities section of the
organization card. Counted within the viewer's scope (a regional regulator: the region's)."""

from __future__ import annotations

from flask import render_template
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from core import hooks
from core.access import scoped
from core.extensions import db
from equipment import labels
from equipment.catalog import EquipmentStatus
from equipment.models import Equipment, Facility


def _item_counts(scope, by):
    return (
        select(by.label("key"), func.count().label("n"))
        .where(scope.clause(Equipment), Equipment.status != EquipmentStatus.DECOMMISSIONED)
        .group_by(by)
    )


def facility_counts(session, org_ids, scope) -> dict[int, int]:
    stmt = (
        select(Facility.organization_id, func.count())
        .where(scope.clause(Facility), Facility.organization_id.in_(org_ids))
        .group_by(Facility.organization_id)
    )
    return dict(session.execute(stmt).all())


def item_counts(session, org_ids, scope) -> dict[int, int]:
    stmt = _item_counts(scope, Equipment.organization_id).where(
        Equipment.organization_id.in_(org_ids)
    )
    return dict(session.execute(stmt).all())


def facilities_section(org, scope) -> str:
    items = _item_counts(scope, Equipment.facility_id).subquery()
    facilities = db.session.execute(
        scoped(Facility, scope, select(Facility, func.coalesce(items.c.n, 0)))
        .outerjoin(items, items.c.key == Facility.id)
        .where(Facility.organization_id == org.id)
        .order_by(Facility.code)
    ).all()
    return render_template(
        "equipment/_organization_facilities.html",
        org=org,
        facilities=facilities,
        items_total=sum(n for _f, n in facilities),
        labels=labels.for_templates(),
    )


def init_app(app) -> None:
    hooks.add_column(app, "organizations", "facilities", _l("Facilities"), facility_counts, 10)
    hooks.add_column(app, "organizations", "items", _l("Equipment"), item_counts, 20)
    hooks.add_section(app, "organization", facilities_section, order=10)
