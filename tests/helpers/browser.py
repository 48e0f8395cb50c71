"""Logging in through the login page in a real browser (Playwright)."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.helpers.auth import PASSWORD


def log_in(page: Page, email: str, password: str = PASSWORD) -> None:
    page.locator("#email").fill(email)
    page.locator("#password").fill(password)
    page.locator("form.login button[type=submit]").click()


def open_as(page: Page, email: str, path: str = "/") -> None:
    """Ask for a page anonymously, log in on the login page it sends to, land on it."""
    page.goto(path)
    expect(page).to_have_url(re.compile(r"/login\?next="))
    log_in(page, email)
    expect(page).to_have_url(re.compile(re.escape(path) + r"\??$"))
