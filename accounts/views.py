"""Login, logout, profile with API tokens, and the admin's user list."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from accounts.forms import LoginForm, TokenForm
from accounts.models import ApiToken, Role, User
from accounts.services import authenticate, issue_token, revoke_token
from core.extensions import db

bp = Blueprint("accounts", __name__, template_folder="templates")


def safe_next(target: str | None) -> str:
    """Only same-site relative paths; anything else goes home."""
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("equipment.home")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("equipment.home"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        user, wait = authenticate(
            db.session,
            form.email.data,
            form.password.data,
            request.remote_addr or "?",
            current_app.config,
        )
        if wait:
            flash(_("Too many failed attempts. Try again in %(n)s s.", n=wait), "error")
            status = 429
        elif user is None:
            flash(_("Wrong e-mail or password."), "error")
            status = 401
        else:
            login_user(user)
            return redirect(safe_next(request.args.get("next")))
    elif request.method == "POST":
        status = 400
    return render_template("accounts/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    flash(_("You have logged out."), "info")
    return redirect(url_for("accounts.login"))


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    form = TokenForm()
    new_token = None
    if form.validate_on_submit():
        _token, new_token = issue_token(db.session, current_user, form.name.data)
        db.session.commit()
        form.name.data = ""
    tokens = db.session.execute(
        select(ApiToken).where(ApiToken.user_id == current_user.id).order_by(ApiToken.id.desc())
    ).scalars()
    return render_template(
        "accounts/profile.html", form=form, tokens=list(tokens), new_token=new_token
    )


@bp.post("/profile/tokens/<int:token_id>/revoke")
@login_required
def revoke(token_id: int):
    if not revoke_token(db.session, current_user, token_id):
        abort(404)
    db.session.commit()
    flash(_("The token has been revoked."), "info")
    return redirect(url_for("accounts.profile"))


@bp.get("/users")
@login_required
def users():
    if current_user.role != Role.ADMIN:
        abort(404)
    rows = db.session.execute(select(User).order_by(User.email)).scalars()
    return render_template("accounts/users.html", users=list(rows))
