"""Browser fixtures: the test app served over real HTTP in a background thread, and Debian's
chromium driven by Playwright (no browser downloads: the system binary is used as is).

Without chromium the browser tests skip with a reason locally and fail under ``CI=true``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import pytest
from werkzeug.serving import make_server

from tests.helpers.ci import need

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
TIMEOUT_MS = 5_000  # a page of this app renders in milliseconds; fail fast, not in 30 s


@pytest.fixture(scope="session")
def live_server(app) -> Iterator[str]:
    """The ``app`` fixture's WSGI app on 127.0.0.1 (a free port), threaded like production."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


@pytest.fixture
def live_url(live_server, app) -> Iterator[str]:
    """The live server's address, with CSRF protection on while the test runs.

    The shared ``app`` fixture turns CSRF off for the test client; a browser submits the real
    forms, token included, so here it is on. Restored after each test, because the same app
    object serves the integration tests that run later in the session.
    """
    previous = app.config["WTF_CSRF_ENABLED"]
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        yield live_server
    finally:
        app.config["WTF_CSRF_ENABLED"] = previous


@pytest.fixture(scope="session")
def browser():
    need(os.path.exists(CHROMIUM), f"{CHROMIUM} is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - depends on the machine
        need(False, f"the playwright package is not installed: {exc}")
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
    except Exception as exc:
        playwright.stop()
        need(False, f"{CHROMIUM} did not start under Playwright: {str(exc).splitlines()[0]}")
    try:
        yield browser
    finally:
        browser.close()
        playwright.stop()


@pytest.fixture
def page(browser, live_url):
    """A fresh browser context per test (no cookies carried over), Russian locale."""
    context = browser.new_context(locale="ru-RU", base_url=live_url)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()
