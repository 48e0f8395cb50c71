"""Facilities, equipment, wear indicators, Excel import/export, registry pages and API.

Plugs into the app with ``init_app``: the pages (nested: ``registry`` for the equipment list
and its export, ``imports`` for the Excel import), the API, the CLI, its figures on the
dashboard and the organization pages (core.hooks) and the navigation entries. The packages
above read the registry through equipment.queries."""

from __future__ import annotations

from functools import cache

from flask_babel import lazy_gettext as _l


def _may_import(user) -> bool:
    scope = user.scope
    return bool(scope.organization_id or scope.everything)


@cache
def _pages(views, import_views, registry_views):
    """The page blueprints nested once per process (see accounts._pages)."""
    views.bp.register_blueprint(registry_views.bp)
    views.bp.register_blueprint(import_views.bp)
    return views.bp


def init_app(app) -> None:
    from core import hooks
    from core.extensions import api as rest_api
    from core.extensions import csrf
    from equipment import api, cli, import_views, organization_figures, registry, views
    from equipment.registry import views as registry_views

    app.register_blueprint(_pages(views, import_views, registry_views))
    rest_api.register_blueprint(api.blp)
    csrf.exempt(api.blp)
    app.cli.add_command(cli.equipment_cli)
    app.cli.add_command(cli.seed_demo_command)
    organization_figures.init_app(app)
    registry.init_app(app)  # the export's API and job kind
    hooks.add_section(app, "dashboard", views.dashboard_section, order=10)
    hooks.add_nav_entry(app, "equipment.facilities", _l("Facilities"), order=20)
    hooks.add_nav_entry(app, "equipment.registry.index", _l("Equipment"), order=30)
    hooks.add_nav_entry(app, "equipment.imports.index", _l("Excel import"), 50, _may_import)
