"""Users acting through the test client: a logged-in session and an API token each."""

from __future__ import annotations

from accounts.models import User
from tests.helpers.auth import login


class Actor:
    """A user with a logged-in browser session and an API token.

    Each request runs in an application context of its own, as in production: the tests'
    context (``ctx``) would otherwise share ``g`` (Flask-Login's current user) and the database
    session between requests of different users.
    """

    def __init__(self, app, make, user: User | None):
        self.app = app
        self.user = user
        self.client = app.test_client()
        self.headers = {}
        if user is not None:
            self.headers = {"Authorization": f"Bearer {make.token(user)}"}
            with app.app_context():
                assert login(self.client, user).status_code == 302

    def open(self, url: str, method: str = "GET", **kwargs):
        if url.startswith("/api/"):
            kwargs.setdefault("headers", self.headers)
        with self.app.app_context():
            return self.client.open(url, method=method, **kwargs)

    def get(self, url: str):
        return self.open(url)

    def post(self, url: str, **kwargs):
        return self.open(url, "POST", **kwargs)

    def patch(self, url: str, **kwargs):
        return self.open(url, "PATCH", **kwargs)

    def call(self, route, target):
        """One of test_scoping's routes (a ``Route``) addressed at a ``Target``."""
        body = route.body(target) if route.body else None
        key = "json" if route.api else "data"
        return self.open(route.url(target), route.method, **{key: body})
