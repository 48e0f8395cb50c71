"""Security headers on every response."""

from __future__ import annotations

from flask import request

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
)


def add_security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "geolocation=(), camera=(), microphone=()")
    if response.mimetype == "text/html":
        headers.setdefault("Cache-Control", "no-store")
    if request.path.startswith("/api/") or _is_download(response):
        # a user's registry, tokens and files: never kept by a browser or a proxy's cache
        # (send_file's own "no-cache" would let them keep a copy)
        headers["Cache-Control"] = "no-store"
    return response


def _is_download(response) -> bool:
    return response.headers.get("Content-Disposition", "").startswith("attachment")


def init_app(app) -> None:
    app.after_request(add_security_headers)
