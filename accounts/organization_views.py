"""The organizations' list and card, within the caller's scope (engineers their own
organization, regulators those of their region, admins and the national regulator all).
Admins also see each organization's engineers and its change history, and reach the forms
(accounts.admin_views) from here. The packages above add their figures through core.hooks:
columns of the list (``organizations``) and sections of the card (``organization``)."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select

from accounts.auth import current_scope
from accounts.bin import normalise_bin
from accounts.models import Organization, Region, Role, User
from accounts.services import region_by_code
from core import hooks
from core.access import get_visible_or_404, scoped
from core.audit import ACTION_LABELS, AuditEvent
from core.extensions import db
from core.text import fold

# Nested in the accounts blueprint: endpoints accounts.organizations.*
bp = Blueprint("organizations", __name__, url_prefix="/organizations")


@bp.before_request
@login_required
def _login_first():
    return None


ORG_FIELDS = {
    "name": _l("Name"),
    "bin": _l("BIN"),
    "region_id": _l("Region"),
    "address": _l("Address"),
    "phone": _l("Phone"),
    "email": _l("E-mail"),
}


def _engineer_counts():
    return (
        select(User.organization_id, func.count().label("n"))
        .where(User.role == Role.ENGINEER, User.active.is_(True))
        .group_by(User.organization_id)
        .subquery()
    )


def _is_admin() -> bool:
    return current_user.role == Role.ADMIN


@bp.get("")
def index():
    """Search by name (case and ё ignored) or by BIN digits; filter by region; paged."""
    scope = current_scope()
    admin = _is_admin()
    q = (request.args.get("q") or "")[:200].strip()
    region = region_by_code(db.session, (request.args.get("region") or "")[:20])
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), 10**6)
    per_page = current_app.config["PAGE_SIZE"]

    stmt = scoped(Organization, scope, select(Organization))
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
    columns = hooks.table_columns("organizations", current_user)
    values = hooks.column_values(columns, db.session, [row[0].id for row in rows], scope)
    locale = str(get_locale())
    regions = sorted(db.session.execute(select(Region)).scalars(), key=lambda r: r.name(locale))
    return render_template(
        "accounts/organizations.html",
        rows=rows,
        columns=columns,
        values=values,
        admin=admin,
        q=q,
        region=region,
        regions=regions,
        total=total,
        page=page,
        pages=max(1, -(-total // per_page)),
    )


@bp.get("/<int:org_id>")
def card(org_id: int):
    """What the caller may see of the organization: its details, the sections the packages
    above add (within the caller's scope), and for admins its users and change history."""
    scope = current_scope()
    org = get_visible_or_404(db.session, Organization, org_id, scope)
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
        "accounts/organization.html",
        org=org,
        scope=scope,
        admin=admin,
        users=list(users),
        events=list(events),
        regions=regions,
        org_fields=ORG_FIELDS,
        audit_actions=ACTION_LABELS,
    )
