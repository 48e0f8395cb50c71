"""The one clock of the application: today and now in the configured time zone.

Wear, deadlines and plan quarters are counted in calendar days of Kazakhstan, not of the
server: between 19:00 and 24:00 UTC the server's date is still yesterday in Almaty. So no
application module reads the system clock (``date.today()``, ``datetime.now()``; ruff's DTZ
rules refuse them); views and commands ask this module, and services and pure rules are
given ``today``/``now`` as arguments, which is also how tests walk through days.

The zone (``TIME_ZONE``, default ``Asia/Almaty``) is read from the ``tzdata`` package first:
Kazakhstan moved to one zone, UTC+5, on 1 March 2024, and a machine whose system zone files
are older than that would still put Almaty at UTC+6. The package is a pinned dependency, so
every machine counts the same days.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo

DEFAULT_ZONE = "Asia/Almaty"


@cache
def zone(name: str = DEFAULT_ZONE) -> ZoneInfo:
    """The zone from the tzdata package when it has it, else from the system's zone files."""
    try:
        source = resources.files("tzdata.zoneinfo").joinpath(*name.split("/"))
        with source.open("rb") as stream:
            return ZoneInfo.from_file(stream, key=name)
    except (ModuleNotFoundError, FileNotFoundError):
        return ZoneInfo(name)


def configured_zone() -> ZoneInfo:
    """The app's zone inside an app context (``TIME_ZONE``), else the default one."""
    from flask import current_app, has_app_context

    name = current_app.config.get("TIME_ZONE", DEFAULT_ZONE) if has_app_context() else None
    return zone(name or DEFAULT_ZONE)


def utcnow() -> datetime:
    """Now as an aware UTC datetime: what timestamps are stored as."""
    return datetime.now(UTC)


def now() -> datetime:
    """Now as an aware datetime in the configured zone."""
    return utcnow().astimezone(configured_zone())


def today() -> date:
    """Today's date in the configured zone: the date wear and deadlines are counted on."""
    return now().date()
