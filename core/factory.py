"""The application factory; reads as the table of contents of the app."""

from __future__ import annotations

import logging
import os
from importlib import import_module
from pathlib import Path

import orjson
from flask import Flask
from flask_babel import lazy_gettext as _l
from werkzeug.middleware.proxy_fix import ProxyFix

from core import errors, hooks, i18n, jobs, request_input, security
from core import views as core_views
from core.db import json_text
from core.extensions import api, csrf, db, login_manager, migrate
from core.settings import load_settings

PROJECT_DIR = Path(__file__).resolve().parent.parent
# Alembic's scripts ship inside the package, so an installed wheel can `flask db upgrade`
MIGRATIONS_DIR = str(Path(__file__).resolve().parent / "migrations")
# The domain packages, from the lowest layer up (the layer rule is in pyproject.toml). The
# factory names packages, never their modules: each one's init_app plugs in all it has.
DOMAIN_PACKAGES = ("accounts", "equipment")


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_relative_config=True,
        instance_path=os.environ.get("OPO_INSTANCE_PATH") or str(PROJECT_DIR / "instance"),
        template_folder="templates",
        static_folder="static",
    )
    load_settings(app, test_config)
    trust_proxies(app)
    register_extensions(app)
    register_core(app)
    register_packages(app)
    # after the packages: accounts' check of who sends a body (accounts.auth.admit_body) runs
    # before CSRF reads a page form, so an anonymous body is refused unread
    csrf.init_app(app)
    errors.init_app(app)
    security.init_app(app)
    register_template_helpers(app)
    logging.basicConfig(level=app.config.get("LOG_LEVEL", "INFO"))
    return app


def trust_proxies(app: Flask) -> None:
    """Behind PROXY_FIX_X_FOR reverse proxies, take the client's address and scheme from the
    headers they set, so that the login throttle and the sessions see the real client."""
    hops = app.config["PROXY_FIX_X_FOR"]
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)


def register_extensions(app: Flask) -> None:
    # JSON columns (audit changes, import reports) written and read by orjson: a 100,000-row
    # import writes as many audit events; dict keys that are not text become text as with json
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
        "json_serializer": json_text,
        "json_deserializer": orjson.loads,
        **app.config["SQLALCHEMY_ENGINE_OPTIONS"],
    }
    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True, compare_type=True)
    request_input.init_app(app)
    login_manager.init_app(app)
    i18n.init_app(app)
    api.init_app(app)
    hooks.init_app(app)


def register_core(app: Flask) -> None:
    """Core's own pages and commands: the dashboard, background jobs and their worker."""
    app.register_blueprint(core_views.bp)
    jobs.init_app(app)
    hooks.add_nav_entry(app, "core.home", _l("Dashboard"), order=0)


def register_packages(app: Flask) -> None:
    """Each domain package plugs itself in (pages, API, CLI, hooks, job kinds), lowest layer
    first."""
    for name in DOMAIN_PACKAGES:
        import_module(name).init_app(app)


def register_template_helpers(app: Flask) -> None:
    from core import template_helpers

    template_helpers.init_app(app)
