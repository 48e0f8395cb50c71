"""The equipment list: its query (filters, search, paging: ``query``; sort keys: ``sorting``),
the dashboard's figures (``counts``), the .xlsx export in the request or as a background job
(``export``), the page and its export (``views``, endpoints ``equipment.registry.*``) and the
export's API (``api``).

``init_app`` registers the API and the export's job kind; the page blueprint is nested in the
equipment blueprint by ``equipment.init_app`` (a nested blueprint is registered before its
parent)."""

from __future__ import annotations


def init_app(app) -> None:
    from core.extensions import api as rest_api
    from core.extensions import csrf
    from equipment.registry import api, export

    rest_api.register_blueprint(api.blp)
    csrf.exempt(api.blp)
    export.register_job_kind(app)  # the export above EXPORT_SYNC_MAX_ROWS
