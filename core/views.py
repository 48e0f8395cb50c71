"""Routes that belong to no domain: health check."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("core", __name__, template_folder="templates")


@bp.get("/healthz")
def healthz():
    return {"status": "ok"}
