"""Configuration: defaults in code, then ``instance/config.py``, then environment variables."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


class Defaults:
    SQLALCHEMY_DATABASE_URI: str | None = None  # filled in by load_settings (SQLite in instance/)
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    BABEL_DEFAULT_LOCALE = "ru"
    # The zone of today's date for wear, deadlines and plan quarters (core.clock) and of the
    # times shown on pages (Flask-Babel follows it unless BABEL_DEFAULT_TIMEZONE is set).
    TIME_ZONE = "Asia/Almaty"
    LANGUAGES = {"ru": "Русский", "en": "English"}
    PAGE_SIZE = 50
    MAX_PAGE_SIZE = 500
    # Failed logins (accounts.services, login throttle), counted over LOGIN_WINDOW_SECONDS.
    # Per pair of e-mail and address: LOGIN_FREE_ATTEMPTS failures are free, then the next
    # attempt of that pair waits LOGIN_DELAY_SECONDS after its latest failure, doubled with
    # every further failure, at most LOGIN_MAX_DELAY_SECONDS. The same account from another
    # address is not delayed, so a guesser cannot lock its owner out. Per address: once
    # LOGIN_ADDRESS_FREE_ACCOUNTS different e-mails failed from it (a NAT-ed office shares one
    # address; one person's repeated typos count once), its attempts are delayed the same way.
    LOGIN_FREE_ATTEMPTS = 5
    LOGIN_WINDOW_SECONDS = 15 * 60
    LOGIN_DELAY_SECONDS = 2
    LOGIN_MAX_DELAY_SECONDS = 15 * 60
    LOGIN_ADDRESS_FREE_ACCOUNTS = 50
    # API tokens expire this many days after their creation (a shorter life may be asked for).
    API_TOKEN_DAYS = 365
    # Login sessions (rows of user_sessions; the cookie carries only their random key): one
    # ends after SESSION_IDLE_HOURS without a request and SESSION_MAX_DAYS after its login, at
    # the latest; its "last seen" is written at most every SESSION_TOUCH_SECONDS.
    SESSION_IDLE_HOURS = 12
    SESSION_MAX_DAYS = 7
    SESSION_TOUCH_SECONDS = 300
    # Reverse proxies in front of the app that may be trusted to set X-Forwarded-For and
    # X-Forwarded-Proto (werkzeug's ProxyFix). 0: none, the client is the direct peer; 1: one
    # proxy (nginx in front of gunicorn). Never more than the proxies really there: the client
    # could then choose its own address.
    PROXY_FIX_X_FOR = 0
    # Wear thresholds (percent) per device type; "default" covers the rest.
    WEAR_THRESHOLDS = {"default": {"warning": 60.0, "critical": 80.0}}
    # OpenAPI (flask-smorest)
    API_TITLE = "opo-lifecycle API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api"
    OPENAPI_JSON_PATH = "openapi.json"
    # Request bodies (core.request_input): a multipart upload may have IMPORT_MAX_BYTES (plus
    # 1 MB for the form around the file), any other body (JSON, a page form) MAX_BODY_BYTES;
    # decided per request before the body is read, and only once the sender is logged in.
    MAX_BODY_BYTES = 1024 * 1024
    # Excel import limits (the zip-bomb limits live in equipment.imports.excel.archive.Limits)
    IMPORT_MAX_BYTES = 50 * 1024 * 1024
    IMPORT_MAX_ROWS = 200_000
    # The registry export runs in the request up to this many rows, above it as a background
    # job (flask worker). 10,000 rows: 2 s on this 2-core machine when quiet, 10 s when it is
    # loaded four times over (20,000 rows: 19-28 s then), far from a worker's timeout.
    EXPORT_SYNC_MAX_ROWS = 10_000
    # Background jobs (core.jobs, run by `flask worker`): result files under
    # JOB_RESULTS_DIR (default instance/jobs) are deleted JOB_RESULT_DAYS after the job; a
    # running job without a heartbeat for JOB_STALE_SECONDS lost its worker and is queued
    # again, up to JOB_MAX_ATTEMPTS attempts; an idle worker polls every JOB_POLL_SECONDS.
    JOB_RESULTS_DIR: str | None = None
    JOB_RESULT_DAYS = 7
    JOB_STALE_SECONDS = 300
    JOB_MAX_ATTEMPTS = 3
    JOB_POLL_SECONDS = 1.0


ENV_OVERRIDES = {
    "DATABASE_URL": "SQLALCHEMY_DATABASE_URI",
    "SECRET_KEY": "SECRET_KEY",
    "SMTP_HOST": "SMTP_HOST",
    "SMTP_PORT": "SMTP_PORT",
    "SMTP_USER": "SMTP_USER",
    "SMTP_PASSWORD": "SMTP_PASSWORD",
    "SMTP_FROM": "SMTP_FROM",
    "PROXY_FIX_X_FOR": "PROXY_FIX_X_FOR",
}
INT_SETTINGS = ("PROXY_FIX_X_FOR",)


def normalise_database_url(url: str) -> str:
    """Let ``postgres://`` and ``postgresql://`` URLs use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def secret_key_from_instance(instance_path: str) -> str:
    """Read ``instance/secret_key``, generating it on first run (never committed)."""
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def load_settings(app, overrides: dict | None = None) -> None:
    app.config.from_object(Defaults)
    app.config.from_pyfile("config.py", silent=True)
    for env_name, key in ENV_OVERRIDES.items():
        if os.environ.get(env_name):
            app.config[key] = os.environ[env_name]
    if overrides:
        app.config.update(overrides)
    for key in INT_SETTINGS:
        app.config[key] = int(app.config[key])
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        db_file = Path(app.instance_path) / "opo.sqlite3"
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{db_file}"
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(
        app.config["SQLALCHEMY_DATABASE_URI"]
    )
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", app.config["TIME_ZONE"])
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secret_key_from_instance(app.instance_path)
