"""Users, roles, organizations, regions, login and API tokens.

Plugs into the app with ``init_app``: login (accounts.auth), the pages (login and profile;
nested: ``admin`` for administrators, ``organizations`` for the list and card), the API,
the CLI and the navigation entries."""

from __future__ import annotations

from functools import cache

from flask_babel import lazy_gettext as _l


def _is_admin(user) -> bool:
    from accounts.models import Role

    return user.role == Role.ADMIN


@cache
def _pages(views, admin_views, organization_views):
    """The page blueprints nested once per process: they are module-level objects, and a
    second app (tests, a CLI next to the server) registers the same tree again."""
    views.bp.register_blueprint(admin_views.bp)
    views.bp.register_blueprint(organization_views.bp)
    return views.bp


def init_app(app) -> None:
    from accounts import admin_views, api, auth, cli, organization_views, views
    from core import hooks
    from core.extensions import api as rest_api
    from core.extensions import csrf

    auth.init_app(app)
    app.register_blueprint(_pages(views, admin_views, organization_views))
    rest_api.register_blueprint(api.blp)
    csrf.exempt(api.blp)
    app.cli.add_command(cli.users_cli)
    app.cli.add_command(cli.orgs_cli)
    hooks.add_nav_entry(app, "accounts.organizations.index", _l("Organizations"), order=40)
    hooks.add_nav_entry(app, "accounts.admin.users", _l("Users"), order=60, visible=_is_admin)
