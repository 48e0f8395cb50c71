"""Routes that belong to no domain: the dashboard (its sections come from the packages, see
core.hooks) and the health check."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import login_required

bp = Blueprint("core", __name__, template_folder="templates")


@bp.get("/")
@login_required
def home():
    return render_template("core/home.html")


@bp.get("/healthz")
def healthz():
    return {"status": "ok"}
