"""Errors answered as JSON under /api/ and as HTML pages elsewhere, never as a bare 500."""

from __future__ import annotations

import logging

from flask import jsonify, render_template, request
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
    return render_error(exc.code, description, errors)


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


def _has_nul(value) -> bool:
    """Whether a string anywhere in a JSON-like value holds U+0000 (no recursion: a deeply
    nested body must not exhaust the stack)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def reject_nul_characters():
    """before_request: refuse text with the NUL character (U+0000) in the query, a form or a
    JSON body, or the name of an uploaded file. PostgreSQL cannot store it in text and fails
    the whole statement (a 500), and no legitimate browser form or API client sends one.
    The uploaded files themselves are not scanned here.
    """
    fields = [*request.args.items(multi=True)]
    names: list[str] = []
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        fields += request.form.items(multi=True)
        names = [upload.filename or "" for upload in request.files.values()]
    found = any(_has_nul(k) or _has_nul(v) for k, v in fields) or any(map(_has_nul, names))
    if not found and request.is_json:
        try:
            body = request.get_json(silent=True)
        except RecursionError:  # nested deeper than the JSON parser goes: not a real client
            return render_error(400, _("The request could not be understood."))
        found = _has_nul(body)
    if found:
        return render_error(400, _("Text cannot contain the NUL character (code 0)."))
    return None


def init_app(app) -> None:
    app.before_request(reject_nul_characters)
    app.register_error_handler(ValidationFailed, handle_validation_failed)
    app.register_error_handler(IntegrityError, handle_integrity_error)
    app.register_error_handler(CSRFError, handle_csrf)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(InternalServerError, lambda e: render_error(500))
    app.register_error_handler(Exception, handle_unexpected)
