"""Errors answered as JSON under /api/ and as HTML pages elsewhere, never as a bare 500."""

from __future__ import annotations

import logging

from flask import jsonify, make_response, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException, InternalServerError

from core.api_messages import translate_errors
from core.validation import ValidationFailed

log = logging.getLogger(__name__)


def wants_json() -> bool:
    return request.path.startswith("/api/")


def _messages():
    return {
        400: _("The request could not be understood."),
        401: _("Please log in."),
        403: _("You do not have access to this."),
        404: _("Not found."),
        405: _("This method is not allowed here."),
        409: _("The request conflicts with the current state. Reload and try again."),
        413: _("The upload is too large."),
        422: _("Some fields are invalid."),
        429: _("Too many attempts. Please wait and try again."),
        500: _("Something went wrong on our side. The error has been logged."),
    }


def render_error(code: int, description: str | None = None, errors: dict | None = None):
    message = description or _messages().get(code) or _messages()[500]
    if wants_json():
        body = {"code": code, "status": message, "message": message}
        if errors:
            body["errors"] = errors
        return jsonify(body), code
    return render_template("core/error.html", code=code, message=message), code


def handle_http_exception(exc: HTTPException):
    if exc.code == 500 or exc.code is None:
        return render_error(500)
    errors = None
    data = getattr(exc, "data", None)
    if isinstance(data, dict):  # flask-smorest / webargs validation errors
        errors = translate_errors(data.get("messages") or data.get("errors"))
    description = None
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        description = data["message"]
    elif exc.code in (400, 403, 409, 413, 422) and errors is None:
        custom = exc.description != type(exc).description  # not werkzeug's English default
        description = exc.description if custom else None
    if exc.code in (404, 401, 405, 429):
        description = None
    response = make_response(render_error(exc.code, description, errors))
    for name, value in exc.get_headers():  # Allow of a 405, Retry-After of a 429
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def handle_csrf(exc: CSRFError):
    return render_error(400, _("The form has expired. Reload the page and try again."))


def handle_unexpected(exc: Exception):
    if isinstance(exc, HTTPException):
        return handle_http_exception(exc)
    log.exception("Unhandled error on %s %s", request.method, request.path)
    return render_error(500)


def handle_integrity_error(exc: IntegrityError):
    """A uniqueness or reference check the database caught and the use case did not: two users
    saving the same facility code or inventory number at the same moment. Nothing was stored.
    Any other integrity error (NOT NULL, CHECK) is a bug: logged in full and answered 500."""
    from core.extensions import db

    db.session.rollback()
    if not _is_conflict(exc):
        log.exception("Integrity error on %s %s", request.method, request.path)
        return render_error(500)
    log.warning("Conflicting write on %s %s: %s", request.method, request.path, exc.orig)
    return render_error(
        409,
        _(
            "Someone saved a conflicting change at the same moment (for example the same "
            "number). Nothing was saved: reload the page and try again."
        ),
    )


def _is_conflict(exc: IntegrityError) -> bool:
    """A unique or foreign-key violation (PostgreSQL SQLSTATE 23505 / 23503, SQLite's text)."""
    state = getattr(exc.orig, "sqlstate", None)
    if state is not None:
        return state in ("23505", "23503")
    message = str(exc.orig)
    return message.startswith(("UNIQUE constraint failed", "FOREIGN KEY constraint failed"))


def handle_validation_failed(exc: ValidationFailed):
    """Domain validation that reached the edge: 422 with the field messages."""
    from core.extensions import db

    db.session.rollback()
    return render_error(422, errors={"json": {k: [v] for k, v in exc.as_strings().items()}})


def init_app(app) -> None:
    app.register_error_handler(ValidationFailed, handle_validation_failed)
    app.register_error_handler(IntegrityError, handle_integrity_error)
    app.register_error_handler(CSRFError, handle_csrf)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(InternalServerError, lambda e: render_error(500))
    app.register_error_handler(Exception, handle_unexpected)
