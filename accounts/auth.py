"""Session login for pages (Flask-Login over server-side sessions) and bearer tokens for the API.

A page login is a row of ``user_sessions`` (accounts.sessions); the session cookie carries only
its random key (Flask-Login's ``id_attribute``), and the user loader accepts the key while the
row is live, so a logout, a password change or a deactivation ends the session on the server.
Flask-Login's "strong" session protection stays on: a cookie that arrives from another browser
or address than at login is dropped, and its server-side session ended with it.

The API never trusts the session cookie: it is exempt from CSRF, so it must authenticate each
request with ``Authorization: Bearer <token>`` instead.
"""

from __future__ import annotations

import functools

from flask import abort, current_app, g, make_response, request, session
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from flask_login.signals import session_protected

from accounts import sessions
from accounts.models import Role, User, UserSession
from accounts.services import TokenExpired, user_for_token
from core.access import NOTHING, Scope, get_visible_or_404, require_editor
from core.errors import render_error
from core.extensions import db, login_manager
from core.request_input import has_body, refuse_oversized_body

# The only requests that may send a body before anyone is logged in: the login form and the
# token endpoint (their bodies are small, capped like every other one by MAX_BODY_BYTES).
OPEN_FOR_BODIES = frozenset({"accounts.login", "accounts_api.issue_token"})


def init_app(app) -> None:
    """Call before CSRFProtect's init_app: its before_request reads the form."""
    app.before_request(admit_body)
    app.before_request(authenticate_api_routes)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Please log in to open this page.")
    login_manager.login_message_category = "info"
    # Strong protection works for non-permanent sessions only (Flask-Login then merely marks a
    # permanent one "not fresh"): the session cookie stays a browser-session cookie.
    login_manager.session_protection = "strong"
    login_manager.id_attribute = "get_session_key"
    session_protected.connect(_end_dropped_session, app)
    app.register_error_handler(TokenExpired, _token_expired)


def too_many_attempts(wait: int):
    """The API's 429 for a delayed login, with Retry-After: the seconds to wait (the login page
    renders its own form with the same header, accounts.views.login)."""
    response = make_response(
        render_error(429, _("Too many failed attempts. Try again in %(n)s s.", n=wait))
    )
    response.headers["Retry-After"] = str(wait)
    return response


def _token_expired(exc: TokenExpired):
    """401 for a token past its expiry, saying so: a script's owner must know to make a new
    token rather than look for a typo (an unknown or revoked token gets the plain 401)."""
    return render_error(
        401,
        _(
            "The token expired on %(date)s. Create a new one on the profile page.",
            date=format_date(exc.expired_at),
        ),
    )


@login_manager.user_loader
def load_user(key: str) -> User | None:
    row = sessions.live_session(db.session, key, current_app.config)
    if row is None:
        return None
    g.login_session = row
    row.user.session_key = key
    return row.user


def _end_dropped_session(app, **_extra) -> None:
    """Flask-Login's strong protection dropped this request's login (its cookie came from
    another browser or address): end the server-side session as well, so that the key the
    cookie carried stops working for everyone."""
    if "_user_id" in session:  # not dropped, only marked "not fresh"
        return
    sent = app.session_interface.open_session(app, request)  # the cookie as the browser sent it
    key = sent.get("_user_id") if sent is not None else None
    if isinstance(key, str) and sessions.end_session_by_key(db.session, key, sessions.PROTECTION):
        db.session.commit()


def log_in(user: User) -> UserSession:
    """Start a login session for the user and put its key into the session cookie."""
    row, key = sessions.start_session(
        db.session, user, request.remote_addr or "?", request.user_agent.string
    )
    db.session.commit()
    user.session_key = key
    login_user(user)
    g.login_session = row
    return row


def log_out() -> None:
    """End this request's login session on the server and in the cookie."""
    row = current_login_session()
    if row is not None:
        sessions.end_session(db.session, row, sessions.LOGOUT)
        db.session.commit()
    logout_user()


def current_login_session() -> UserSession | None:
    """The login session of this page request (None when not logged in)."""
    if not current_user.is_authenticated:
        return None
    return g.get("login_session")


def bearer_user() -> User | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return user_for_token(db.session, token.strip())


def admit_body():
    """App-wide before_request, ahead of every hook that could read the body: a body from
    nobody logged in is refused unread (401 under /api/, the login page elsewhere) unless the
    endpoint is open for it; then a body above its limit is refused (413) unread. So an
    anonymous client cannot make a worker read, parse or store anything it sends."""
    if not has_body(request):
        return None
    if request.endpoint not in OPEN_FOR_BODIES:
        if request.path.startswith("/api/"):
            authenticate_api_request()
        elif not current_user.is_authenticated:
            return login_manager.unauthorized()
    refuse_oversized_body(request)
    return None


def authenticate_api_routes():
    """App-wide before_request: every route under /api/v1/ needs a bearer token, whichever
    package's blueprint it belongs to (core's jobs API too, which cannot name accounts); a
    path that is no route stays a 404."""
    if request.endpoint is not None and request.path.startswith("/api/v1/"):
        return authenticate_api_request()
    return None


def authenticate_api_request():
    """before_request of every API blueprint: set g.api_user or answer 401."""
    if request.endpoint in OPEN_FOR_BODIES or g.get("api_user") is not None:
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


def editable_scope() -> Scope:
    """The caller's scope, once it is known to allow changes (else 403, with the reason for an
    engineer without an organization). Forms about an existing object call this after the
    scoped lookup: what the user cannot see answers 404, what they see but may not change 403."""
    scope = current_scope()
    require_editor(scope)
    return scope


def editor_before_the_body(model=None, arg: str | None = None):
    """For API changes: the object the URL names (``model`` by the URL's ``arg``) must be
    visible (else 404, as for a missing id) and the caller an editor (else 403) before the body
    is read. Put it above ``@blp.arguments``."""

    def check(obj_id=None):
        if model is not None:
            get_visible_or_404(db.session, model, obj_id, current_scope())
        editable_scope()

    from core.api_blueprint import found_before_the_body

    return found_before_the_body(check, arg)


def admins_only(view):
    """404 for everyone but administrators, before anything else (an API body is not even
    read: a non-admin learns nothing from the answer, whatever they send). Pages put
    ``login_required`` above it, so that an anonymous visitor is sent to the login first."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        user = acting_user()
        if user is None or getattr(user, "role", None) != Role.ADMIN:
            abort(404)
        return view(*args, **kwargs)

    return wrapper
