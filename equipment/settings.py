"""Equipment's configuration as the app holds it: what views, API and commands pass into the
services and the pure wear rules (which never read the app themselves)."""

from __future__ import annotations

from flask import current_app


def wear_thresholds() -> dict:
    """WEAR_THRESHOLDS: the wear bands' limits, by device type where configured."""
    return current_app.config["WEAR_THRESHOLDS"]
