"""Session login for pages (Flask-Login) and bearer tokens for the API.

The API never trusts the session cookie: it is exempt from CSRF, so it must authenticate each
request with ``Authorization: Bearer <token>`` instead.
"""

from __future__ import annotations

from flask import abort, g, redirect, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from accounts.models import User
from accounts.services import user_for_token
from core.access import NOTHING, Scope
from core.extensions import db, login_manager


def init_app(app) -> None:
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Please log in to open this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    try:
        return db.session.get(User, int(user_id))
    except (TypeError, ValueError):
        return None


def bearer_user() -> User | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return user_for_token(db.session, token.strip())


def authenticate_api_request():
    """before_request of every API blueprint: set g.api_user or answer 401."""
    if request.endpoint and request.endpoint.endswith(".issue_token"):
        return None
    user = bearer_user()
    if user is None:
        abort(401)
    g.api_user = user
    return None


def acting_user() -> User:
    """The user of this request: the token's user under /api/, else the logged-in user."""
    if request.path.startswith("/api/"):
        return g.get("api_user")
    return current_user


def current_scope() -> Scope:
    user = acting_user()
    if user is None or not getattr(user, "is_authenticated", False):
        return NOTHING
    return user.scope


def require_login():
    """before_request of page blueprints that are closed to anonymous users."""
    if not current_user.is_authenticated:
        return redirect(url_for("accounts.login", next=request.full_path))
    return None
