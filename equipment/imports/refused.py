"""Why an import cannot go ahead, in the user's language."""

from __future__ import annotations


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
