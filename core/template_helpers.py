"""Jinja filters and globals: dates and numbers in the user's locale, links that keep filters."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from urllib.parse import quote, urlencode

from babel.numbers import parse_pattern
from flask import current_app, request
from flask_babel import format_decimal, get_locale, to_user_timezone

from core import charts
from core.request_input import raw_lists


def fmt_date(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return value
    if isinstance(value, datetime):
        return to_user_timezone(value).strftime("%d.%m.%Y %H:%M")
    return value.strftime("%d.%m.%Y")


# A pattern parsed once per process, not at every number (babel parses the string each call,
# half the cost of formatting one): the same NumberPattern serves every locale.
_pattern = lru_cache(maxsize=16)(parse_pattern)


def fmt_number(value, digits: int = 1, fixed: bool = False) -> str:
    """A number in the user's locale: «29 526», «68,5». ``fixed`` always shows ``digits``
    decimals («48,0»), for columns where «48» next to «68,5» reads as a different kind."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int) and not fixed:
        return format_decimal(value, format=_pattern("#,##0"))
    decimals = ("0" if fixed else "#") * digits
    pattern = "#,##0." + decimals if digits else "#,##0"
    return format_decimal(round(float(value), digits), format=_pattern(pattern))


def url_with(**changes) -> str:
    """The current URL with some query arguments replaced (None removes one).

    Built from the request's own path and an encoded query string, never through
    ``url_for``: the query's keys are the user's, and url_for gives meaning to some of them
    (``_external``, ``_scheme``, ``_anchor``, ``_method``, a view argument's name), which
    raised TypeError (a 500) or produced an absolute link to whatever Host the request named.
    The link is always relative to this site (a path such as ``//evil.example`` is folded).
    """
    args = raw_lists(request.args)  # into a link only: an error page must render for any query
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = [str(v) for v in value] if isinstance(value, list) else [str(value)]
    path = request.script_root + "/" + request.path.lstrip("/")
    query = urlencode(args, doseq=True)
    return quote(path, safe="/:@!$&'()*+,;=-._~") + ("?" + query if query else "")


def init_app(app) -> None:
    app.add_template_filter(fmt_date, "date")
    app.add_template_filter(fmt_number, "num")
    app.add_template_global(url_with)
    # core.charts for the macros of _ui.html (charts section)
    app.add_template_global(charts.bar_chart, "svg_bar_chart")
    app.add_template_global(charts.stacked_bar, "svg_stacked_bar")
    app.add_template_global(fmt_number, "fmt_number")
    app.add_template_global(lambda: str(get_locale()), "current_locale")
    app.add_template_global(lambda: current_app.config["LANGUAGES"], "languages")
