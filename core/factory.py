"""The application factory; reads as the table of contents of the app."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import orjson
from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from core import errors, i18n, security
from core.db import json_text
from core.extensions import api, csrf, db, login_manager, migrate
from core.settings import load_settings

PROJECT_DIR = Path(__file__).resolve().parent.parent
MIGRATIONS_DIR = str(PROJECT_DIR / "migrations")


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
    register_blueprints(app)
    register_job_kinds(app)
    register_commands(app)
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
    csrf.init_app(app)
    login_manager.init_app(app)
    i18n.init_app(app)
    api.init_app(app)
    from accounts import auth

    auth.init_app(app)


def register_blueprints(app: Flask) -> None:
    import accounts.admin_views  # noqa: F401 - adds the administrators' pages to accounts_views
    import equipment.import_views  # noqa: F401 - adds the Excel routes to equipment_views
    import equipment.organization_views  # noqa: F401 - the organizations' list and card
    from accounts.api import blp as accounts_api
    from accounts.auth import authenticate_api_request
    from accounts.views import bp as accounts_views
    from core.jobs.api import blp as jobs_api
    from core.jobs.views import bp as jobs_views
    from core.views import bp as core_views
    from equipment.api import blp as equipment_api
    from equipment.views import bp as equipment_views

    app.register_blueprint(core_views)
    app.register_blueprint(jobs_views)
    app.register_blueprint(accounts_views)
    app.register_blueprint(equipment_views)
    api.register_blueprint(accounts_api)
    api.register_blueprint(equipment_api)
    if authenticate_api_request not in jobs_api.before_request_funcs.get(None, []):
        jobs_api.before_request(authenticate_api_request)  # the API's bearer tokens
    api.register_blueprint(jobs_api)
    csrf.exempt(accounts_api)
    csrf.exempt(equipment_api)
    csrf.exempt(jobs_api)


def register_job_kinds(app: Flask) -> None:
    """The kinds of background work each package does (run by `flask worker`)."""
    from equipment import registry_export

    registry_export.init_app(app)


def register_commands(app: Flask) -> None:
    from accounts.cli import orgs_cli, users_cli
    from core.jobs.worker import worker_command
    from equipment.cli import equipment_cli, seed_demo_command

    app.cli.add_command(users_cli)
    app.cli.add_command(orgs_cli)
    app.cli.add_command(equipment_cli)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(worker_command)


def register_template_helpers(app: Flask) -> None:
    from core import template_helpers

    template_helpers.init_app(app)
