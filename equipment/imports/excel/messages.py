"""What the reader says to the user: a gettext message kept as its msgid and parameters.

A row error is stored (the import batch's report, the parsed-list snapshot) and shown later,
perhaps to someone who reads another language, so it is kept as ``Message(msgid, **params)``
and rendered by ``str()`` in the locale of whoever looks at it: the request's locale in the
app, the product's first language (Russian) outside an app, as in the CLI's first language.
``to_json``/``from_json`` give the stored form. A ``Message`` compares equal to the text it
renders and answers the ``str`` methods, so callers that treat it as text keep working.

Everything that cannot be used at all raises ``FileRejected``; its ``message`` is plain text,
rendered when it is raised (it is shown at once, in flashes and API errors).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from babel.support import Translations
from flask import has_app_context
from flask_babel import get_translations

_TRANSLATIONS = Path(__file__).resolve().parents[3] / "core" / "translations"
FIRST_LANGUAGE = "ru"


@cache
def _first_language() -> Translations:
    return Translations.load(str(_TRANSLATIONS), [FIRST_LANGUAGE])


def render(msgid: str, params: dict[str, Any]) -> str:
    """The message in the current locale; parameters that are messages are rendered too."""
    catalog = get_translations() if has_app_context() else _first_language()
    text = catalog.ugettext(msgid)
    if not params:  # as flask_babel: a message without parameters is not %-formatted
        return text
    return text % {k: str(v) if v.__class__ is Message else v for k, v in params.items()}


class Message:
    """A user-facing message: its English msgid and parameters, rendered when shown."""

    __slots__ = ("msgid", "params")

    def __init__(self, msgid: str, **params: Any):
        self.msgid = msgid
        self.params = params

    def __str__(self) -> str:
        return render(self.msgid, self.params)

    def __repr__(self) -> str:
        return f"Message({self.msgid!r}, **{self.params!r})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is Message:
            return self.msgid == other.msgid and self.params == other.params
        if isinstance(other, str):
            return str(self) == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.msgid)

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __contains__(self, part: str) -> bool:
        return part in str(self)

    def __len__(self) -> int:
        return len(str(self))

    def __add__(self, other: str) -> str:
        return str(self) + other

    def __radd__(self, other: str) -> str:
        return other + str(self)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name in Message.__slots__:
            raise AttributeError(name)
        return getattr(str(self), name)  # startswith, split…: the rendered text's own

    def to_json(self) -> dict[str, Any]:
        return {
            "msgid": self.msgid,
            "params": {
                k: v.to_json() if v.__class__ is Message else v for k, v in self.params.items()
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | str) -> Message:
        """The stored form back; a plain text (stored before messages were kept) is its own
        msgid, shown as it was written."""
        if isinstance(data, str):
            return cls(data)
        params = {
            k: cls.from_json(v) if isinstance(v, dict) and "msgid" in v else v
            for k, v in (data.get("params") or {}).items()
        }
        return cls(data["msgid"], **params)


def N_(msgid: str, **params: Any) -> Message:  # noqa: N802 - the gettext marker's own name
    """A message to render later; the name is the one ``pybabel extract -k N_`` looks for."""
    return Message(msgid, **params)


def quoted(names) -> str:
    """«a», «b»: names as the messages list them (the quotes are the same in every language)."""
    return ", ".join(f"«{name}»" for name in names)


class FileRejected(Exception):
    """The file cannot be imported; ``message`` is the text for the user, in their language."""

    def __init__(self, message: Message | str):
        text = str(message)
        super().__init__(text)
        self.message = text
