"""Form fields for what Russian users type, with one clear message per field.

Numbers and dates are plain text inputs, parsed on the server: a browser's ``type=number``
silently drops what it cannot read (chromium turns «1,6» into 16 and «12e» into nothing), and
``type=date`` shows the browser's own format (mm/dd/yyyy in an English chromium). Here the
text reaches the server as typed, and what cannot be read is refused with the field's own
message instead of WTForms' generic one followed by a second message from the validators.

The parsers at the top are plain functions (no Flask), tested on their own.
"""

from __future__ import annotations

import math
import re
from datetime import date

from flask import flash
from flask_babel import format_decimal
from flask_babel import lazy_gettext as _l
from wtforms import Field, SelectField
from wtforms.validators import StopValidation
from wtforms.widgets import TextInput

# ---------------------------------------------------------------------------- parsers

_SPACES = re.compile(r"[\s\u00a0\u202f\u2007\u2009']")
_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_WHOLE = re.compile(r"[+-]?\d+")
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_DMY_DATE = re.compile(r"(\d{1,2})[./-](\d{1,2})[./-](\d+)")
_YEAR_MARK = re.compile(r"\s*г(ода|\.)?\s*$")  # «12.05.2020 г.»


class TwoDigitYear(ValueError):
    """«01.02.24»: 1924 or 2024? Refused rather than guessed (commissioning dates are in the
    past, next inspection dates in the future: no single pivot year suits both)."""


def parse_decimal(text: str | None) -> float | None:
    """«1,6», «1 250,5», «1.250,5», «1,250.5», «−3» → float; empty → None; else ValueError.

    A comma alone is the decimal separator (Russian); with both, the last one is.
    """
    raw = _SPACES.sub("", text or "").replace("\u2212", "-")
    if not raw:
        return None
    if "," in raw and "." in raw:
        if raw.rfind(",") > raw.rfind("."):
            raw = raw.replace(".", "").replace(",", ".")
        else:
            raw = raw.replace(",", "")
    else:
        raw = raw.replace(",", ".")
    if not _DECIMAL.fullmatch(raw):
        raise ValueError(text)
    value = float(raw)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def parse_whole(text: str | None) -> int | None:
    """«200 000», «2024» → int; empty → None; «1,5», «12e» → ValueError."""
    raw = _SPACES.sub("", text or "").replace("\u2212", "-")
    if not raw:
        return None
    if not _WHOLE.fullmatch(raw):
        raise ValueError(text)
    return int(raw)


def parse_date(text: str | None) -> date | None:
    """dd.mm.yyyy (also d.m.yyyy, with / or -) or ISO yyyy-mm-dd → date; empty → None.

    Raises TwoDigitYear for «01.02.24» and ValueError for anything else (31.02.2024 too).
    """
    raw = _YEAR_MARK.sub("", (text or "").strip())
    if not raw:
        return None
    if match := _ISO_DATE.fullmatch(raw):
        year, month, day = (int(g) for g in match.groups())
        return date(year, month, day)
    if match := _DMY_DATE.fullmatch(raw):
        day, month = int(match[1]), int(match[2])
        if len(match[3]) == 2:
            raise TwoDigitYear(text)
        if len(match[3]) != 4:
            raise ValueError(text)
        return date(int(match[3]), month, day)
    raise ValueError(text)


def format_plain_number(value) -> str:
    """A number for an input box in the user's locale, without grouping: 1250.5 → «1250,5»."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        return str(value)
    return format_decimal(value, format="0.##########")


# ---------------------------------------------------------------------------- widgets


class TextWithMode(TextInput):
    """``<input type=text>`` with a hint for touch keyboards (``inputmode``) and defaults."""

    def __init__(self, inputmode: str | None = None, placeholder=None):
        super().__init__()
        self.inputmode = inputmode
        self.placeholder = placeholder

    def __call__(self, field, **kwargs):
        if self.inputmode:
            kwargs.setdefault("inputmode", self.inputmode)
        if self.placeholder is not None:
            kwargs.setdefault("placeholder", str(self.placeholder))
        kwargs.setdefault("autocomplete", "off")
        return super().__call__(field, **kwargs)


# ---------------------------------------------------------------------------- fields


class _OneMessage:
    """Input that cannot be read gets only the field's own message: the validators (which
    would add «required» or a range message about a value that does not exist) are skipped."""

    def pre_validate(self, form):
        if self.process_errors:
            raise StopValidation()


def _resolve(value):
    return value() if callable(value) else value


REQUIRED = _l("This field is required.")


class DecimalField(Field):
    """A number as Russian users type it, within ``lo``..``hi`` (either may be a callable).

    ``message`` says what is expected; it is the one message for text that is not a number
    and for a number out of range alike. Empty is None, refused when ``required``.
    """

    widget = TextWithMode("decimal")
    default_message = _l("Enter a number, e.g. 1,6.")

    def __init__(
        self,
        label=None,
        validators=None,
        *,
        lo=None,
        hi=None,
        message=None,
        required: bool = False,
        **kwargs,
    ):
        super().__init__(label, validators, **kwargs)
        self.lo, self.hi = lo, hi
        self.message = message
        self.required = required

    def _message(self) -> str:
        return str(_resolve(self.message) or self.default_message)

    def _parse(self, text: str):
        return parse_decimal(text)

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        try:
            self.data = self._parse(valuelist[0])
        except ValueError as exc:
            self.data = None
            raise ValueError(self._message()) from exc

    def pre_validate(self, form):
        if self.process_errors:
            raise StopValidation()
        if self.data is None:
            raise StopValidation(str(REQUIRED) if self.required else None)
        lo, hi = _resolve(self.lo), _resolve(self.hi)
        if (lo is not None and self.data < lo) or (hi is not None and self.data > hi):
            raise StopValidation(self._message())

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return format_plain_number(self.data)


class WholeNumberField(DecimalField):
    """A whole number; spaces between the thousands are fine («200 000»)."""

    widget = TextWithMode("numeric")
    default_message = _l("Enter a whole number.")

    def _parse(self, text: str):
        return parse_whole(text)


INVALID_DATE = _l("Invalid date: expected dd.mm.yyyy.")
TWO_DIGIT_YEAR = _l("Invalid date: write the year with four digits, dd.mm.yyyy.")


class DateField(_OneMessage, Field):
    """A date typed as dd.mm.yyyy (ISO yyyy-mm-dd accepted too), shown as dd.mm.yyyy."""

    widget = TextWithMode(placeholder=_l("dd.mm.yyyy"))

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        try:
            self.data = parse_date(valuelist[0])
        except TwoDigitYear as exc:
            self.data = None
            raise ValueError(str(TWO_DIGIT_YEAR)) from exc
        except ValueError as exc:
            self.data = None
            raise ValueError(str(INVALID_DATE)) from exc

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return self.data.strftime("%d.%m.%Y") if self.data else ""


REQUIRED_CHOICE = _l("Choose a value from the list.")
BLANK = _l("— choose —")
UNKNOWN_CHOICE = _l("This value is not in the list: choose one from the list.")


class ChoiceField(SelectField):
    """A drop-down that starts on a blank «— choose —» option, so nothing is chosen for the
    user. ``required``: the blank is refused with ``required_message``; a value that is not
    an option (or not a number, for ``coerce=int``) gets ``invalid_message``.
    Without ``blank`` the first option is preselected, as in a plain select."""

    def __init__(
        self,
        label=None,
        validators=None,
        coerce=str,
        choices=None,
        blank=BLANK,
        required: bool = True,
        required_message=None,
        invalid_message=None,
        **kwargs,
    ):
        def coerce_or_none(value):
            return None if value is None or value == "" else coerce(value)

        super().__init__(label, validators, coerce=coerce_or_none, choices=None, **kwargs)
        self.blank = blank
        self.required = required
        self.required_message = required_message or REQUIRED_CHOICE
        self.invalid_message = invalid_message or UNKNOWN_CHOICE
        if choices is not None:
            self.choices = choices

    @property
    def choices(self):
        return SelectField.choices.fget(self)

    @choices.setter
    def choices(self, value):
        from wtforms.fields.choices import SelectChoice

        value = list(value or [])
        if self.blank is not None and not any(_value_of(c) in ("", None) for c in value):
            value = [SelectChoice("", self.blank), *value]
        SelectField.choices.fset(self, value)

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        try:
            self.data = self.coerce(valuelist[0])
        except (ValueError, TypeError) as exc:
            self.data = None
            raise ValueError(str(self.invalid_message)) from exc

    def pre_validate(self, form):
        if self.process_errors:
            raise StopValidation()
        if self.data is None:
            if self.required:
                raise StopValidation(str(self.required_message))
            return
        if not any(choice.selected for choice in self._iter_choices_normalized()):
            raise StopValidation(str(self.invalid_message))


def _value_of(choice):
    return getattr(choice, "value", choice[0] if isinstance(choice, tuple) else choice)


def apply_errors(form, error) -> None:
    """A service's ValidationFailed shown on the form: each message under its field, or flashed
    when the form has no such field (an error about the whole object)."""
    for name, message in error.errors.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = [*field.errors, str(message)]
        else:
            flash(str(message), "error")
