"""Facilities, equipment, wear indicators, Excel import/export, registry pages and API.

Plugs into the app with ``init_app``: the pages, the API, the CLI, the equipment list
(equipment.registry: its pages nested as ``equipment.registry``, the export's API and job
kind), the Excel import (equipment.imports: its pages nested as ``equipment.imports``, its
API and command), its figures on the dashboard and the organization pages (core.hooks) and
the navigation entries. The packages above read the registry through equipment.queries."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l


def _may_import(user) -> bool:
    scope = user.scope
    return bool(scope.organization_id or scope.everything)


def init_app(app) -> None:
    from core import hooks
    from core.extensions import api as rest_api
    from core.extensions import csrf
    from equipment import api, cli, imports, organization_figures, registry, views

    rest_api.register_blueprint(api.blp)
    csrf.exempt(api.blp)
    # the sub-packages nest their pages in views.bp, so before it is registered
    registry.init_app(app, views.bp)
    imports.init_app(app, views.bp, cli.equipment_cli)
    app.register_blueprint(views.bp)
    app.cli.add_command(cli.equipment_cli)
    app.cli.add_command(cli.seed_demo_command)
    organization_figures.init_app(app)
    hooks.add_section(app, "dashboard", views.dashboard_section, order=10)
    hooks.add_nav_entry(app, "equipment.facilities", _l("Facilities"), order=20)
    hooks.add_nav_entry(app, "equipment.registry.index", _l("Equipment"), order=30)
    hooks.add_nav_entry(app, "equipment.registry.deadlines_page", _l("Deadlines"), order=35)
    hooks.add_nav_entry(app, "equipment.imports.index", _l("Excel import"), 50, _may_import)
