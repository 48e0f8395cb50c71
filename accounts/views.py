"""Login, logout and the profile (password, login sessions, API tokens). The administrators'
pages are in accounts.admin_views."""

from __future__ import annotations

import math
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from accounts import services, sessions
from accounts.auth import current_login_session, log_in, log_out
from accounts.forms import LoginForm, PasswordForm, TokenForm
from accounts.models import ApiToken
from accounts.services import authenticate, issue_token, revoke_token
from accounts.useragent import browser_label
from core.db import as_utc, utcnow
from core.extensions import db
from core.validation import ValidationFailed

bp = Blueprint("accounts", __name__, template_folder="templates")


def safe_next(target: str | None) -> str:
    """Only same-site relative paths; anything else goes home."""
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("core.home")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
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
            page = render_template("accounts/login.html", form=form)
            return page, 429, {"Retry-After": str(wait)}
        elif user is None:
            flash(_("Wrong e-mail or password."), "error")
            status = 401
        else:
            log_in(user)
            return redirect(safe_next(request.args.get("next")))
    elif request.method == "POST":
        status = 400
    return render_template("accounts/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    log_out()
    flash(_("You have logged out."), "info")
    return redirect(url_for("accounts.login"))


def _profile(token_form=None, password_form=None, new_token=None, status=200):
    tokens = (
        db.session.execute(
            select(ApiToken).where(ApiToken.user_id == current_user.id).order_by(ApiToken.id.desc())
        )
        .scalars()
        .all()
    )
    this = current_login_session()
    now = utcnow()
    return render_template(
        "accounts/profile.html",
        form=token_form or _token_form(formdata=None),
        password_form=password_form or PasswordForm(formdata=None),
        tokens=tokens,
        live_ids={t.id for t in tokens if t.revoked_at is None and as_utc(t.expires_at) > now},
        days_left=lambda token: token_days_left(token, now),
        new_token=new_token,
        login_sessions=sessions.active_sessions(db.session, current_user.id, current_app.config),
        this_session_id=this.id if this is not None else None,
        browser=browser_label,
        min_password=services.MIN_PASSWORD,
    ), status


def token_days_left(token: ApiToken, now) -> int:
    """Whole days (rounded up) until the token expires; 0 once it has."""
    left = (as_utc(token.expires_at) - now).total_seconds()
    return max(0, math.ceil(left / 86400))


def _token_form(**kwargs) -> TokenForm:
    """The new-token form, offering the longest lifetime allowed (API_TOKEN_DAYS)."""
    longest = current_app.config["API_TOKEN_DAYS"]
    form = TokenForm(days=longest, **kwargs)
    form.days.render_kw = {"min": 1, "max": longest}
    return form


def _kept_token_ids() -> list[int]:
    """The ids of the tokens ticked "keep" on the profile page (anything else is ignored: the
    revocation only ever touches the user's own tokens)."""
    return [int(v) for v in request.form.getlist("keep_tokens") if v.isdigit() and len(v) < 12]


def _flash_revoked(revoked: list) -> None:
    if revoked:
        flash(_("API tokens revoked: %(n)s.", n=len(revoked)), "info")


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    form = _token_form()
    new_token = None
    status = 200
    if form.validate_on_submit():
        try:
            _token, new_token = issue_token(
                db.session, current_user, form.name.data, form.days.data
            )
            db.session.commit()
        except ValidationFailed as err:
            db.session.rollback()
            form.days.errors = [str(err.errors["days"])]
            status = 400
        else:
            form.name.data = ""
    elif request.method == "POST":
        status = 400
    return _profile(token_form=form, new_token=new_token, status=status)


@bp.post("/profile/password")
@login_required
def change_password():
    form = PasswordForm()
    if form.validate_on_submit():
        this = current_login_session()
        try:
            revoked = services.change_password(
                db.session,
                current_user,
                form.current_password.data,
                form.new_password.data,
                request.remote_addr or "?",
                current_app.config,
                keep_session_id=this.id if this is not None else None,
                keep_token_ids=_kept_token_ids(),
            )
            db.session.commit()
        except ValidationFailed as err:
            db.session.rollback()
            for name, message in err.errors.items():
                getattr(form, name).errors = [str(message)]
        else:
            flash(_("Your password has been changed; your other sessions have ended."), "success")
            _flash_revoked(revoked)
            return redirect(url_for("accounts.profile"))
    return _profile(password_form=form, status=400)


@bp.post("/profile/sessions/end-others")
@login_required
def end_other_sessions():
    """End every other login session and revoke every API token not ticked "keep": whoever
    ends the other sessions suspects someone else has been in."""
    this = current_login_session()
    ended = sessions.end_user_sessions(
        db.session, current_user.id, sessions.ENDED_BY_USER, this.id if this else None
    )
    revoked = services.revoke_user_tokens(
        db.session, current_user, current_user, sessions.ENDED_BY_USER, _kept_token_ids()
    )
    db.session.commit()
    flash(_("Other sessions ended: %(n)s.", n=ended), "info")
    _flash_revoked(revoked)
    return redirect(url_for("accounts.profile"))


@bp.post("/profile/sessions/<int:session_id>/end")
@login_required
def end_session(session_id: int):
    if not sessions.end_own_session(db.session, current_user, session_id):
        abort(404)
    db.session.commit()
    flash(_("The session has been ended."), "info")
    return redirect(url_for("accounts.profile"))


@bp.post("/profile/tokens/<int:token_id>/revoke")
@login_required
def revoke(token_id: int):
    if not revoke_token(db.session, current_user, token_id):
        abort(404)
    db.session.commit()
    flash(_("The token has been revoked."), "info")
    return redirect(url_for("accounts.profile"))
