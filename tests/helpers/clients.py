"""Test clients: the app's own (each request in a context of its own) and a bearer-token one."""

from __future__ import annotations

import contextlib
import contextvars

from flask.testing import FlaskClient

from core.extensions import db


class IsolatedClient(FlaskClient):
    """Runs every request in its own app context, as a real server does.

    Without this, a request made while the test holds an app context (the `ctx` fixture) would
    reuse that context: the same `g` (the logged-in user cached by Flask-Login) and the same
    database session as the test, which hides bugs that only show across requests. After each
    request the test's own session is expired, so the test reads what the request stored.
    """

    def open(self, *args, **kwargs):
        # buffered: the body is read and the response closed at once, as a WSGI server closes
        # it after sending; a downloaded file (send_file) is otherwise left open
        kwargs.setdefault("buffered", True)
        response = contextvars.Context().run(super().open, *args, **kwargs)
        # the body werkzeug encoded for the request (a temporary file above 500 KB): a server
        # owns wsgi.input, here nobody closes it, least of all when the app refuses it unread
        for answer in (*response.history, response):
            body = answer.request.environ["wsgi.input"]
            if body is not kwargs.get("input_stream"):  # the caller's own stream stays open
                body.close()
        with contextlib.suppress(RuntimeError):  # RuntimeError: the test holds no app context
            db.session.expire_all()
        return response


class Api:
    """Bearer-token client; each request runs in an application context of its own."""

    def __init__(self, app, token: str):
        self.app = app
        self.client = app.test_client()
        self.headers = {"Authorization": f"Bearer {token}"}

    def open(self, url: str, method: str = "GET", **kwargs):
        with self.app.app_context():
            return self.client.open(url, method=method, headers=self.headers, **kwargs)

    def get(self, url: str):
        return self.open(url)

    def post(self, url: str, **kwargs):
        return self.open(url, "POST", **kwargs)

    def patch(self, url: str, **kwargs):
        return self.open(url, "PATCH", **kwargs)
