"""What a request may send, checked where it is read.

- The body: how many bytes a request may send is decided before a byte of it is read
  (``body_limit``, ``refuse_oversized_body``): a multipart upload keeps ``IMPORT_MAX_BYTES``,
  every other body (JSON, a page form) ``MAX_BODY_BYTES``. Werkzeug then enforces the same
  limit while reading a chunked body, which has no Content-Length to decide by.
- The NUL character (U+0000): PostgreSQL cannot store it in text and fails the whole statement.
  Query arguments, form fields and upload file names refuse it when the code *reads* them
  (``CheckedParams``), so the answer names the field, and a request for something that is not
  the caller's still answers 404 first: views look their objects up before they read the
  input. JSON bodies are checked by ``load_json`` as they are parsed (the API's parser).
- Numbers of JSON bodies: a whole number too long for any field is read as ``±10**100``
  instead of failing inside ``int()`` (Python refuses to convert more than 4,300 digits, a
  ValueError the JSON parser does not catch): every field's range then refuses it, naming
  the field.
"""

from __future__ import annotations

import json

from flask import Request, current_app
from flask.json.provider import DefaultJSONProvider
from flask_babel import format_decimal
from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage, ImmutableMultiDict
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

NUL = "\x00"
# Longer whole numbers no field takes (the widest column is a 64-bit integer, 19 digits)
MAX_DIGITS = 100
OUT_OF_RANGE = 10**MAX_DIGITS
# What a multipart form adds to the file it carries (boundaries, the options, a mapping)
MB = 1024 * 1024
MULTIPART_OVERHEAD = 64 * 1024


# ---------------------------------------------------------------------------- body size


def has_body(request: Request) -> bool:
    """Whether the request sends a body: a Content-Length above 0, or a chunked one."""
    if request.content_length:
        return True
    return "chunked" in request.headers.get("Transfer-Encoding", "").lower()


def is_upload(request: Request) -> bool:
    return request.mimetype == "multipart/form-data"


def body_limit(request: Request, config) -> int:
    """The most bytes this request's body may have: an upload's limit for multipart forms,
    ``MAX_BODY_BYTES`` for anything else."""
    if is_upload(request):
        return config["IMPORT_MAX_BYTES"] + MULTIPART_OVERHEAD
    return config["MAX_BODY_BYTES"]


def refuse_oversized_body(request: Request) -> None:
    """413 naming the limit when Content-Length is above it (nothing is read); a chunked body
    is cut at the same limit while it is read (werkzeug raises 413 then)."""
    config = current_app.config
    request.max_content_length = body_limit(request, config)
    if request.content_length is None or request.content_length <= request.max_content_length:
        return
    if is_upload(request):
        message = _(
            "The upload is too large: %(size)s MB, at most %(limit)s MB.",
            size=format_decimal(request.content_length / MB, format="#,##0.0"),
            limit=format_decimal(config["IMPORT_MAX_BYTES"] / MB, format="#,##0.##"),
        )
    else:
        limit = format_decimal(config["MAX_BODY_BYTES"] / MB, format="#,##0.##")
        message = _("The request is too large: at most %(limit)s MB.", limit=limit)
    raise RequestEntityTooLarge(message)


# ---------------------------------------------------------------------------- NUL characters


class NulCharacter(BadRequest):
    """400 naming the field whose text holds U+0000 (``data`` as flask-smorest's errors)."""

    def __init__(self, location: str, field: str):
        message = _(
            "Text cannot contain the NUL character (code 0): field «%(field)s».",
            field=visible(field),
        )
        super().__init__(message)
        self.data = {"message": message, "errors": {location: {visible(field): [message]}}}


def visible(text: str) -> str:
    """A field name as it can be shown: its NUL characters written \\u0000, at most 100
    characters."""
    return text.replace(NUL, "\\u0000")[:100]


def _refuse_nul(location: str, key, value) -> None:
    name = value.filename if isinstance(value, FileStorage) else value
    if (isinstance(key, str) and NUL in key) or (isinstance(name, str) and NUL in name):
        raise NulCharacter(location, key if isinstance(key, str) else "?")


class CheckedParams(ImmutableMultiDict):
    """Query arguments, form fields and uploaded files that refuse a NUL character in a key,
    a value or an upload's file name at the moment the code reads them (a value never read is
    never stored). The request's ``parameter_storage_class``."""

    location = "query"

    def __getitem__(self, key):
        value = super().__getitem__(key)
        _refuse_nul(self.location, key, value)
        return value

    def getlist(self, key, type=None):  # noqa: A002 - werkzeug's signature
        values = super().getlist(key)
        for value in values:
            _refuse_nul(self.location, key, value)
        return super().getlist(key, type) if type is not None else values

    def items(self, multi=False):
        for key, value in super().items(multi=multi):
            _refuse_nul(self.location, key, value)
            yield key, value

    def lists(self):
        for key, values in super().lists():
            for value in values:
                _refuse_nul(self.location, key, value)
            yield key, values

    def values(self):
        for _key, value in self.items():
            yield value

    def listvalues(self):
        for _key, values in self.lists():
            yield values

    def to_dict(self, flat=True):
        if flat:
            return dict(self.items())
        return dict(self.lists())


class FormParams(CheckedParams):
    location = "form"


def peek(params, key: str):
    """The first value of ``key`` without the NUL check: for code that only compares it with
    known values (the language switch) or carries the query into a link, never stores it."""
    values = dict.get(params, key)
    return values[0] if values else None


def raw_lists(params) -> dict[str, list]:
    """Every key with its values, without the NUL check (see ``peek``)."""
    return {key: list(values) for key, values in dict.items(params)}


# ---------------------------------------------------------------------------- JSON


def _whole_number(digits: str) -> int:
    """``parse_int`` of the JSON parser: see the module's docstring."""
    if len(digits) <= MAX_DIGITS:
        return int(digits)
    return -OUT_OF_RANGE if digits.startswith("-") else OUT_OF_RANGE


def loads(data: str | bytes):
    """JSON as the app reads it (numbers as described above). Raises ValueError
    (json.JSONDecodeError, UnicodeDecodeError) for what is not JSON, RecursionError for
    nesting deeper than the parser goes."""
    text = data.decode("utf-8") if isinstance(data, bytes | bytearray) else data
    return json.loads(text, parse_int=_whole_number)


def nul_field(data: bytes | str, value) -> str | None:
    """The top-level field of a parsed JSON body whose text (a key or a string anywhere in
    it) holds U+0000, ``_schema`` for a body that is not an object; None if there is none.
    JSON can carry a NUL only as the escape \\u0000 (a raw one is invalid JSON): a body
    without that sequence is not walked at all."""
    marker = b"\\u0000" if isinstance(data, bytes | bytearray) else "\\u0000"
    if marker not in data:
        return None
    if not isinstance(value, dict):
        return "_schema" if _has_nul(value) else None
    for key, item in value.items():
        if NUL in key or _has_nul(item):
            return key
    return None


def _has_nul(value) -> bool:
    """Whether a string anywhere in a JSON value holds U+0000 (no recursion: a deeply nested
    body must not exhaust the stack)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if NUL in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


class JSONProvider(DefaultJSONProvider):
    """``app.json``: request.get_json() reads numbers as ``loads`` does."""

    def loads(self, s, **kwargs):
        return loads(s)


class CheckedRequest(Request):
    """The app's request class: its parameters check for NUL characters when read."""

    parameter_storage_class = CheckedParams

    def close(self) -> None:
        """Close the uploaded files (werkzeug's close, without reading their names)."""
        for uploads in dict.values(self.__dict__.get("files") or {}):
            for upload in uploads:
                upload.close()

    def _load_form_data(self) -> None:
        # form fields and files are named "form" in the answers; the query stays "query"
        previous = self.parameter_storage_class
        self.parameter_storage_class = FormParams
        try:
            super()._load_form_data()
        finally:
            self.parameter_storage_class = previous


def init_app(app) -> None:
    app.request_class = CheckedRequest
    app.json = JSONProvider(app)
