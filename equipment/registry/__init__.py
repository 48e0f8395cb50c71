"""The equipment list: its query (filters, search, paging: ``query``; sort keys: ``sorting``),
the dashboard's figures (``counts``), the .xlsx export in the request or as a background job
(``export``), the page and its export (``views``, endpoints ``equipment.registry.*``) and the
export's API (``api``)."""

from __future__ import annotations

from functools import cache


@cache
def _nest(pages, registry_pages) -> None:
    """Nest the list pages once per process: a blueprint registered on the same parent twice
    would be registered twice on every app (tests create many)."""
    pages.register_blueprint(registry_pages)


def init_app(app, pages) -> None:
    """Plug the list in under equipment: its pages nested in the blueprint ``pages`` (before
    ``pages`` itself is registered: endpoints equipment.registry.*), the export's API and its
    job kind (the export above EXPORT_SYNC_MAX_ROWS)."""
    from core.extensions import api as rest_api
    from core.extensions import csrf
    from equipment.registry import api, export, views

    _nest(pages, views.bp)
    rest_api.register_blueprint(api.blp)
    csrf.exempt(api.blp)
    export.register_job_kind(app)
