"""The one clock: Kazakhstan's single zone, and today counted there rather than on the server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Flask

from core import clock


def test_almaty_is_utc_plus_five_since_march_2024():
    almaty = clock.zone("Asia/Almaty")
    assert almaty.utcoffset(datetime(2024, 2, 28, 12)) == timedelta(hours=6)
    assert almaty.utcoffset(datetime(2024, 3, 2, 12)) == timedelta(hours=5)
    assert almaty.utcoffset(datetime(2026, 12, 3, 12)) == timedelta(hours=5)


def test_today_is_the_date_in_the_configured_zone():
    app = Flask(__name__)
    for name in ("Asia/Almaty", "Pacific/Kiritimati", "Pacific/Pago_Pago"):  # +5, +14, -11
        app.config["TIME_ZONE"] = name
        with app.app_context():
            before = datetime.now(UTC)
            today = clock.today()
            after = datetime.now(UTC)
        assert today in {
            before.astimezone(clock.zone(name)).date(),
            after.astimezone(clock.zone(name)).date(),
        }
        assert clock.now().tzinfo is not None


def test_outside_an_app_the_default_zone_counts():
    now = clock.now()
    assert now.utcoffset() == timedelta(hours=5)
    assert clock.today() == now.date()
