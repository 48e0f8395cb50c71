"""Marshmallow/webargs validation messages in the user's language.

Marshmallow writes its messages in English; the API answers in the request's language, so the
error handler passes each message through this table before sending it.
"""

from __future__ import annotations

import re

from flask_babel import gettext


def N_(message: str) -> str:  # noqa: N802 - marks a message for extraction only
    return message


EXACT = {
    "Missing data for required field.": N_("This field is required."),
    "Field may not be null.": N_("This field cannot be empty."),
    "Field may not be blank.": N_("This field cannot be empty."),
    "Not a valid integer.": N_("Expected a whole number."),
    "Not a valid number.": N_("Expected a number."),
    "Not a valid date.": N_("Expected a date in the form YYYY-MM-DD."),
    "Not a valid string.": N_("Expected text."),
    "Not a valid email address.": N_("Enter an e-mail address like name@example.kz."),
    "Not a valid boolean.": N_("Expected true or false."),
    "Not a valid list.": N_("Expected a list."),
    "Unknown field.": N_("Unknown field."),
    "Invalid input type.": N_("Invalid value type."),
    "Invalid value.": N_("Invalid value."),
    "The date cannot be in the future.": N_("The date cannot be in the future."),
    "Must be after done_on.": N_("The next due date must be after the date of the event."),
    "Special numeric values (nan or infinity) are not permitted.": N_(
        "Expected a number: NaN and infinity are not numbers."
    ),
    "Invalid JSON body.": N_("The body is not valid JSON."),
    "Not a valid datetime.": N_("Expected a date and time in the form YYYY-MM-DDTHH:MM:SS."),
    "Not a valid mapping type.": N_("Expected a JSON object."),
    "Expected a whole number of years from 1 to 100.": N_(
        "Expected a whole number of years from 1 to 100."
    ),
}

PATTERNS = (
    (re.compile(r"^Must be one of: (?P<choices>.*)\.$"), N_("Expected one of: %(choices)s.")),
    (
        re.compile(
            r"^Must be greater than or equal to (?P<min>\S+) and less than or equal to "
            r"(?P<max>\S+)\.$"
        ),
        N_("Expected a value from %(min)s to %(max)s."),
    ),
    (
        re.compile(r"^Must be greater than or equal to (?P<min>\S+)\.$"),
        N_("Expected a value of at least %(min)s."),
    ),
    (
        re.compile(r"^Must be less than or equal to (?P<max>\S+)\.$"),
        N_("Expected a value of at most %(max)s."),
    ),
    (re.compile(r"^Longer than maximum length (?P<max>\d+)\.$"), N_("At most %(max)s characters.")),
    (
        re.compile(r"^Shorter than minimum length (?P<min>\d+)\.$"),
        N_("At least %(min)s characters."),
    ),
    (
        re.compile(r"^Length must be between (?P<min>\d+) and (?P<max>\d+)\.$"),
        N_("From %(min)s to %(max)s characters."),
    ),
)


def translate_message(message: str) -> str:
    if message in EXACT:
        return gettext(EXACT[message])
    for pattern, msgid in PATTERNS:
        match = pattern.match(message)
        if match:
            return gettext(msgid, **match.groupdict())
    return message


def translate_errors(errors):
    """The same structure with every message translated."""
    if isinstance(errors, dict):
        return {key: translate_errors(value) for key, value in errors.items()}
    if isinstance(errors, list | tuple):
        return [translate_errors(value) for value in errors]
    if isinstance(errors, str):
        return translate_message(errors)
    return errors
