"""The API's blueprint: flask-smorest's, with the app's reading of request bodies.

- JSON is parsed by ``core.request_input.loads`` (whole numbers beyond every field read as
  out of range, never a 500), and a body holding a NUL character answers 400 naming the
  field. The body is parsed by ``@blp.arguments``, which views put below their scope and
  role checks, so a caller gets their 401/403/404 before anything about the body.
- A required JSON body (every ``@blp.arguments`` but those with ``required=False``) that is
  absent, empty or not JSON is a 422, as for a POST: a PATCH without a body changes nothing
  only by mistake. ``{}`` is a body, and a PATCH with it changes nothing.
"""

from __future__ import annotations

import copy
import functools
import http
import json

import flask_smorest
from flask import request
from flask_babel import gettext as _
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import RequestEntityTooLarge

from core.request_input import NulCharacter, loads, nul_field


def _abort(code: int, field: str, message: str):
    flask_smorest.abort(code, message=message, errors={"json": {field: [message]}})


class ArgumentsParser(FlaskParser):
    def _raw_load_json(self, req):
        if not is_json_request(req):
            return core.missing
        data = req.get_data(cache=True)
        if req.content_length is None and len(data) >= (req.max_content_length or len(data) + 1):
            # a chunked body: werkzeug stops reading at the limit, without an error
            raise RequestEntityTooLarge()
        try:
            value = loads(data)
        except UnicodeDecodeError as exc:  # webargs answers both as "Invalid JSON body."
            raise json.JSONDecodeError("Not UTF-8", repr(data[:20]), 0) from exc
        except RecursionError:  # nested deeper than the parser goes: not a real client
            _abort(400, "_schema", _("The request could not be understood."))
        field = nul_field(data, value)
        if field is not None:
            raise NulCharacter("json", field)
        return value


def _json_body_sent() -> bool:
    """Whether the request carries a JSON document (not only whitespace)."""
    return is_json_request(request) and bool(request.get_data(cache=True).strip())


def require_json_body() -> None:
    if not _json_body_sent():
        message = _("Send a JSON object (Content-Type: application/json), e.g. {}.")
        _abort(422, "_schema", message)


# What an operation may answer besides its own success, unless it names its own
# (Blueprint.errors): 401 and 404 (what is not yours is not found) everywhere; a change
# also 400 (not JSON, a NUL character), 403 (read-only), 409 (a conflicting change), 413
# (too large) and 422 (invalid fields).
READ_ERRORS = (401, 404)
CHANGE_ERRORS = (400, 401, 403, 404, 409, 413, 422)


def document_error_answers(doc, doc_info, *, method, **kwargs):
    """Every error answer of the operation in its OpenAPI description (flask-smorest's
    component responses, by status name); a view's own alt_response stays as it is."""
    default = CHANGE_ERRORS if method in ("post", "patch", "put", "delete") else READ_ERRORS
    responses = doc.setdefault("responses", {})
    documented = {str(code) for code in responses}
    for code in doc_info.get("errors", default):
        if str(code) not in documented:
            responses[code] = http.HTTPStatus(code).name
    return doc


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = ArgumentsParser()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._prepare_doc_cbks.append(document_error_answers)

    @staticmethod
    def errors(*codes: int):
        """The error answers of an operation that are not the defaults above; put it right
        below @blp.route (or on top of a method)."""

        def decorator(func):
            func._apidoc = {**copy.deepcopy(getattr(func, "_apidoc", {})), "errors": codes}
            return func

        return decorator

    def arguments(self, schema, *, location="json", required=True, **kwargs):
        decorator = super().arguments(schema, location=location, required=required, **kwargs)
        if location != "json" or not required:
            return decorator

        def with_required_body(func):
            parsed = decorator(func)

            @functools.wraps(parsed)
            def wrapper(*args, **kw):
                require_json_body()
                return parsed(*args, **kw)

            return wrapper

        return with_required_body


def found_before_the_body(lookup, arg: str | None = None):
    """Above ``@blp.arguments``, which parses the body first: ``lookup`` (given the URL's
    ``arg``, or nothing) runs before anything about the body is answered, so that its 404 or
    403 never depends on what was sent."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            lookup() if arg is None else lookup(kwargs[arg])
            return view(*args, **kwargs)

        return wrapper

    return decorator
