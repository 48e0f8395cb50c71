"""Jinja filters and globals: dates and numbers in the user's locale, links that keep filters."""

from __future__ import annotations

from datetime import date, datetime
from urllib.parse import urlencode

from flask import current_app, request, url_for
from flask_babel import format_decimal, get_locale, to_user_timezone


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


def fmt_number(value, digits: int = 1) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return format_decimal(value, format="#,##0")
    return format_decimal(round(float(value), digits), format="#,##0." + "#" * digits)


def url_with(**changes) -> str:
    """The current URL with some query arguments replaced (None removes one)."""
    args = request.args.to_dict(flat=False)
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = value if isinstance(value, list) else [value]
    if request.endpoint is None:  # error pages of unknown URLs
        return request.path + "?" + urlencode(args, doseq=True)
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def init_app(app) -> None:
    app.add_template_filter(fmt_date, "date")
    app.add_template_filter(fmt_number, "num")
    app.add_template_global(url_with)
    app.add_template_global(lambda: str(get_locale()), "current_locale")
    app.add_template_global(lambda: current_app.config["LANGUAGES"], "languages")
