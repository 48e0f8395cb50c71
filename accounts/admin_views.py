"""Administrators' pages: users (list, create, edit, reset the password, (de)activate) and the
forms of the organizations. Anyone else gets 404, as for a page that does not exist.

The organizations' list and card are in accounts.organization_views."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from accounts import services
from accounts.auth import admins_only
from accounts.forms import (
    ROLE_LABELS,
    NewUserForm,
    OrganizationForm,
    ResetPasswordForm,
    UserForm,
)
from accounts.models import Organization, Region, Role, User
from core.access import get_or_404, valid_id
from core.extensions import db
from core.form_fields import apply_errors
from core.text import fold
from core.validation import ValidationFailed

# Nested in the accounts blueprint: endpoints accounts.admin.*
bp = Blueprint("admin", __name__)


@bp.app_context_processor
def _role_labels():
    return {"role_labels": ROLE_LABELS}


def admin_page(view):
    """Log in first; then 404 for everyone but administrators, before anything is read."""
    return login_required(admins_only(view))


def _get_or_404(model, obj_id: int):
    return get_or_404(db.session, model, obj_id)


def _region_choices(blank: str) -> list[SelectChoice]:
    locale = str(get_locale())
    regions = sorted(db.session.execute(select(Region)).scalars(), key=lambda r: r.name(locale))
    return [SelectChoice("", blank), *(SelectChoice(r.code, r.name(locale)) for r in regions)]


def _organization_choices() -> list[SelectChoice]:
    orgs = db.session.execute(select(Organization).order_by(Organization.search_name)).scalars()
    return [SelectChoice("", "—"), *(SelectChoice(o.bin, f"{o.name} — {o.bin}") for o in orgs)]


def _with_choices(form):
    form.org.choices = _organization_choices()
    form.region.choices = _region_choices("—")
    return form


# ---------------------------------------------------------------------------- users


@bp.get("/users")
@admin_page
def users():
    """Users, filtered by role, organization and a search over e-mail and name (folded in
    Python: an installation has hundreds of users, not hundreds of thousands)."""
    role = request.args.get("role") if request.args.get("role") in ROLE_LABELS else None
    org_id = request.args.get("organization_id", type=int)
    org = db.session.get(Organization, org_id) if valid_id(org_id) else None
    q = fold(request.args.get("q", "")[:200])
    stmt = select(User).order_by(User.email)
    if role:
        stmt = stmt.where(User.role == Role(role))
    if org is not None:
        stmt = stmt.where(User.organization_id == org.id)
    rows = list(db.session.execute(stmt).scalars())
    if q:
        rows = [u for u in rows if q in fold(u.email) or q in fold(u.name)]
    return render_template(
        "accounts/users.html", users=rows, role=role, organization=org, q=request.args.get("q")
    )


def _show_password_once(user: User, password: str, created: bool):
    return render_template(
        "accounts/password_once.html", user=user, password=password, created=created
    )


@bp.route("/users/new", methods=["GET", "POST"])
@admin_page
def new_user():
    form = _with_choices(NewUserForm())
    if request.method == "GET":
        org = services.organization_by_bin(db.session, request.args.get("org", "")[:40])
        if org is not None:  # "Add an engineer" on an organization's card
            form.role.data, form.org.data = Role.ENGINEER.value, org.bin
    if form.validate_on_submit():
        password = form.chosen_password()
        if password is not None:
            try:
                user = services.create_user(
                    db.session, current_user, password=password, **form.data_for_service()
                )
                db.session.commit()
            except ValidationFailed as err:
                db.session.rollback()
                apply_errors(form, err)
            else:
                if form.password_mode.data == "generate":
                    return _show_password_once(user, password, created=True)
                flash(_("User %(email)s created.", email=user.email), "success")
                return redirect(url_for("accounts.admin.users"))
    status = 400 if request.method == "POST" else 200
    return render_template("accounts/user_form.html", form=form, user=None), status


def _user_form_of(user: User) -> UserForm:
    data = {
        "email": user.email,
        "name": user.name,
        "role": user.role.value,
        "org": user.organization.bin if user.organization else "",
        "region": user.region.code if user.region else "",
    }
    return _with_choices(UserForm(formdata=None, data=data))


def _edit_page(user: User, form=None, password_form=None, status: int = 200):
    return render_template(
        "accounts/user_form.html",
        form=form or _user_form_of(user),
        password_form=password_form or ResetPasswordForm(formdata=None),
        user=user,
    ), status


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@admin_page
def edit_user(user_id: int):
    user = _get_or_404(User, user_id)
    if request.method == "GET":
        return _edit_page(user)
    form = _with_choices(UserForm())
    if form.validate_on_submit():
        try:
            changed = services.update_user(
                db.session, current_user, user, **form.data_for_service()
            )
            db.session.commit()
        except ValidationFailed as err:
            db.session.rollback()
            apply_errors(form, err)
        else:
            if changed:
                flash(_("The user %(email)s has been saved.", email=user.email), "success")
            if user.id == current_user.id and user.role != Role.ADMIN:
                return redirect(url_for("core.home"))  # no longer sees the users
            return redirect(url_for("accounts.admin.users"))
    return _edit_page(user, form=form, status=400)


@bp.post("/users/<int:user_id>/password")
@admin_page
def reset_user_password(user_id: int):
    """Set a user's password (generated and shown once, or typed); their sessions end and their
    API tokens are revoked."""
    user = _get_or_404(User, user_id)
    form = ResetPasswordForm()
    if user.id == current_user.id:
        form.password_mode.errors = [_("Change your own password on your profile page.")]
    elif form.validate_on_submit() and (password := form.chosen_password()) is not None:
        try:
            services.reset_password(db.session, current_user, user, password)
            db.session.commit()
        except ValidationFailed as err:
            db.session.rollback()
            apply_errors(form, err)
        else:
            if form.password_mode.data == "generate":
                return _show_password_once(user, password, created=False)
            flash(
                _(
                    "The password of %(email)s is set; their sessions have ended and their "
                    "API tokens are revoked.",
                    email=user.email,
                ),
                "success",
            )
            return redirect(url_for("accounts.admin.edit_user", user_id=user.id))
    return _edit_page(user, password_form=form, status=400)


@bp.post("/users/<int:user_id>/deactivate", defaults={"active": False})
@bp.post("/users/<int:user_id>/activate", defaults={"active": True})
@admin_page
def set_user_active(user_id: int, active: bool):
    """Deactivating a user ends their login sessions and revokes their API tokens at once."""
    user = _get_or_404(User, user_id)
    try:
        services.set_active(db.session, current_user, user, active)
        db.session.commit()
    except ValidationFailed as err:
        db.session.rollback()
        for message in err.errors.values():
            flash(str(message), "error")
    else:
        if active:
            flash(_("%(email)s can log in again.", email=user.email), "success")
        else:
            message = _(
                "%(email)s is deactivated; their sessions have ended and their API tokens are "
                "revoked.",
                email=user.email,
            )
            flash(message, "info")
    return redirect(url_for("accounts.admin.users"))


# ---------------------------------------------------------------------------- organizations


@bp.route("/organizations/new", methods=["GET", "POST"])
@bp.route("/organizations/<int:org_id>/edit", methods=["GET", "POST"])
@admin_page
def organization_form(org_id: int | None = None):
    org = _get_or_404(Organization, org_id) if org_id is not None else None
    bin_locked = org is not None and services.organization_has_facilities(db.session, org)
    if request.method == "GET" and org is not None:
        data = {name: getattr(org, name) for name in ("name", "bin", "address", "phone", "email")}
        form = OrganizationForm(formdata=None, data={**data, "region": org.region_code})
    else:
        form = OrganizationForm()
    form.region.choices = _region_choices(_("— choose —"))
    if form.validate_on_submit():
        data = form.data_for_service()
        if bin_locked and "bin" not in request.form:  # the field is read-only on the page
            data.pop("bin")
        try:
            if org is None:
                org = services.create_organization(db.session, current_user, **data)
                message = _("Organization %(name)s registered.", name=org.name)
            else:
                services.update_organization(db.session, current_user, org, **data)
                message = _("Organization %(name)s saved.", name=org.name)
            db.session.commit()
        except ValidationFailed as err:
            db.session.rollback()
            apply_errors(form, err)
        else:
            flash(message, "success")
            return redirect(url_for("accounts.organizations.card", org_id=org.id))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "accounts/organization_form.html", form=form, org=org, bin_locked=bin_locked
    ), status
