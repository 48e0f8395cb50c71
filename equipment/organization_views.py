"""The organizations' list and card, with their registry figures: what each role may see
(engineers their own organization, regulators those of their region, admins and the national
regulator all). Admins also see each organization's engineers and its change history, and
reach the forms (accounts.admin_views) from here."""

from __future__ import annotations

from flask import current_app, render_template, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, or_, select

from accounts.auth import current_scope
from accounts.bin import normalise_bin
from accounts.models import Organization, Region, Role, User
from accounts.services import region_by_code
from core.access import get_visible_or_404, scoped
from core.audit import AuditEvent
from core.extensions import db
from core.text import fold
from equipment.catalog import EquipmentStatus
from equipment.models import Equipment, Facility
from equipment.views import bp

ORG_FIELDS = {
    "name": _l("Name"),
    "bin": _l("BIN"),
    "region_id": _l("Region"),
    "address": _l("Address"),
    "phone": _l("Phone"),
    "email": _l("E-mail"),
}


def _facility_counts(scope):
    return (
        select(Facility.organization_id, func.count().label("n"))
        .where(scope.clause(Facility))
        .group_by(Facility.organization_id)
        .subquery()
    )


def _item_counts(scope, by=Equipment.organization_id):
    return (
        select(by.label("key"), func.count().label("n"))
        .where(scope.clause(Equipment), Equipment.status != EquipmentStatus.DECOMMISSIONED)
        .group_by(by)
        .subquery()
    )


def _engineer_counts():
    return (
        select(User.organization_id, func.count().label("n"))
        .where(User.role == Role.ENGINEER, User.active.is_(True))
        .group_by(User.organization_id)
        .subquery()
    )


def _is_admin() -> bool:
    return current_user.role == Role.ADMIN


@bp.get("/organizations")
def organizations():
    """Search by name (case and ё ignored) or by BIN digits; filter by region; paged."""
    scope = current_scope()
    admin = _is_admin()
    q = (request.args.get("q") or "")[:200].strip()
    region = region_by_code(db.session, (request.args.get("region") or "")[:20])
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), 10**6)
    per_page = current_app.config["PAGE_SIZE"]

    facilities, items = _facility_counts(scope), _item_counts(scope)
    columns = [Organization, func.coalesce(facilities.c.n, 0), func.coalesce(items.c.n, 0)]
    stmt = (
        scoped(Organization, scope, select(*columns))
        .outerjoin(facilities, facilities.c.organization_id == Organization.id)
        .outerjoin(items, items.c.key == Organization.id)
    )
    if admin:
        engineers = _engineer_counts()
        stmt = stmt.add_columns(func.coalesce(engineers.c.n, 0)).outerjoin(
            engineers, engineers.c.organization_id == Organization.id
        )
    conditions = []
    if q:
        found = Organization.search_name.contains(fold(q), autoescape=True)
        digits = normalise_bin(q)
        if digits.isascii() and digits.isdigit():
            found = or_(found, Organization.bin.contains(digits, autoescape=True))
        conditions.append(found)
    if region is not None:
        conditions.append(Organization.region_id == region.id)
    stmt = stmt.where(*conditions)
    total = db.session.execute(
        scoped(Organization, scope, select(func.count(Organization.id))).where(*conditions)
    ).scalar_one()
    rows = db.session.execute(
        stmt.order_by(Organization.search_name, Organization.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    locale = str(get_locale())
    regions = sorted(db.session.execute(select(Region)).scalars(), key=lambda r: r.name(locale))
    return render_template(
        "equipment/organizations.html",
        rows=rows,
        admin=admin,
        q=q,
        region=region,
        regions=regions,
        total=total,
        page=page,
        pages=max(1, -(-total // per_page)),
    )


@bp.get("/organizations/<int:org_id>")
def organization_card(org_id: int):
    """What the caller may see of the organization: its facilities within their scope (a
    regional regulator: those of the region) with their items in service; for admins also
    its users and its change history."""
    scope = current_scope()
    org = get_visible_or_404(db.session, Organization, org_id, scope)
    items = _item_counts(scope, by=Equipment.facility_id)
    facilities = db.session.execute(
        scoped(Facility, scope, select(Facility, func.coalesce(items.c.n, 0)))
        .outerjoin(items, items.c.key == Facility.id)
        .where(Facility.organization_id == org.id)
        .order_by(Facility.code)
    ).all()
    admin = _is_admin()
    users = events = ()
    if admin:
        users = db.session.execute(
            select(User).where(User.organization_id == org.id).order_by(User.email)
        ).scalars()
        events = db.session.execute(
            select(AuditEvent)
            .where(AuditEvent.entity_type == Organization.__tablename__)
            .where(AuditEvent.entity_id == org.id)
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
            .limit(100)
        ).scalars()
    regions = {r.id: r for r in db.session.execute(select(Region)).scalars()} if admin else {}
    return render_template(
        "equipment/organization.html",
        org=org,
        facilities=facilities,
        items_total=sum(n for _f, n in facilities),
        admin=admin,
        users=list(users),
        events=list(events),
        regions=regions,
        org_fields=ORG_FIELDS,
    )
