"""Logging in through the login form, with the password every test user has."""

from __future__ import annotations

PASSWORD = "password-123"


def login(client, user_or_email, password: str = PASSWORD):
    email = getattr(user_or_email, "email", user_or_email)
    return client.post("/login", data={"email": email, "password": password})
