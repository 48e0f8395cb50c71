"""Why an import cannot go ahead, in the user's language."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l


class ImportRefused(Exception):
    """The import cannot go ahead. It is raised with a lazy gettext message and its
    parameters (``_l("… %(n)s …", n=…)``), so ``message`` is in the language of whoever reads
    it: the request's (page or API), or the CLI's (OPO_LOCALE, else the default locale)."""

    def __init__(self, message):
        super().__init__(message)
        self._message = message

    @property
    def message(self) -> str:
        return str(self._message)


class DecommissionNotConfirmed(ImportRefused):
    """Decommissioning the items the file does not list was asked for without the number of
    items it will decommission (``confirm_decommission``), or with another number (a typo, or
    the registry changed since the preview). Each interface names its own field or option."""

    def __init__(self, expected: int, given: int | None, field: str = "confirm_decommission"):
        self.expected, self.given, self.field = expected, given, field
        super().__init__(decommission_message(expected, given, field))

    def for_field(self, field: str) -> DecommissionNotConfirmed:
        """The same refusal naming another field (the CLI's option)."""
        return DecommissionNotConfirmed(self.expected, self.given, field)


def decommission_message(expected: int, given: int | None, field: str):
    """The refusal in the user's language; ``field`` an API field or a CLI option («--…»)."""
    what = f"{field} {expected}" if field.startswith("--") else f"{field} = {expected}"
    if given is None:
        return _l(
            "Decommissioning the items not in the file must be confirmed with their number: "
            "give %(what)s (the load will decommission %(n)s items).",
            what=what,
            n=expected,
        )
    return _l(
        "The confirmation gives %(given)s items, but the load would decommission %(n)s (the "
        "registry may have changed since the preview): check the list and give %(what)s.",
        given=given,
        n=expected,
        what=what,
    )
