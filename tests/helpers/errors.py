"""The messages an answer shows next to its fields: an API's 422 body, a page's form."""

from __future__ import annotations

import html
import re


def field_errors(response) -> dict:
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["code"] == response.status_code
    return body["errors"]["json"]


def form_errors(response) -> dict[str, str]:
    """The messages next to the fields of a page: {field id: message}."""
    page = response.get_data(as_text=True)
    found = re.findall(r'<div class="error" id="([\w-]+)-error">([^<]*)</div>', page)
    return {name: html.unescape(message) for name, message in found}


def field_error(page: str, field: str) -> str:
    match = re.search(rf'id="{field}-error"[^>]*>(.*?)</', page, re.S)
    assert match, f"no error shown next to {field}"
    return match.group(1).strip()
