"""Migration a1f0c8d2e301 on a registry that already holds look-alike numbers: it names them
and stops with the schema as it was; once they are renamed it stores every item's key."""

from __future__ import annotations

import pytest
from flask_migrate import upgrade
from sqlalchemy import inspect, text

from accounts.models import Organization, Region
from core.extensions import db
from core.factory import create_app
from equipment.models import Facility

BEFORE = "7170f1fb0e63"


@pytest.fixture
def old_registry(tmp_path):
    """A fresh SQLite database at the revision before the key, with look-alikes in one
    organization and the same number in another (the migration is Python over SQL: the same
    on PostgreSQL)."""
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'old.sqlite3'}",
            "SECRET_KEY": "test",
        }
    )
    with app.app_context():
        upgrade(revision=BEFORE)
        region = db.session.query(Region).first()
        for org_id, bin_ in ((1, "040540526019"), (2, "990240001237")):
            db.session.add(Organization(id=org_id, name=f"org {org_id}", bin=bin_, region=region))
            db.session.flush()
            # models other than Equipment are as at that revision
            db.session.add(
                Facility(id=org_id, organization_id=org_id, code="F", name="F", region=region)
            )
        db.session.commit()
        with db.engine.begin() as conn:
            numbers = [(1, 1, "ИН-0000100"), (2, 1, "ин-0000100"), (3, 1, "ИН-7"), (4, 2, "ин-7")]
            for item_id, org_id, number in numbers:
                conn.execute(
                    text(
                        "INSERT INTO equipment (id, organization_id, facility_id, inventory_no, "
                        "name, device_type, status, service_life_source, search_text, "
                        "created_at, updated_at, cycles_exhausted, expertise_refused, "
                        "limit_state) VALUES (:id, :org, :org, :no, 'Котел', 'steam_boiler', "
                        "'in_service', 'unknown', '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, "
                        "0, 0, 0)"
                    ),
                    {"id": item_id, "org": org_id, "no": number},
                )
        db.session.remove()
        yield app
        db.engine.dispose()


def _revision() -> str:
    with db.engine.connect() as conn:
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def test_look_alikes_are_listed_and_nothing_changes(old_registry, capfd):
    with old_registry.app_context():
        with pytest.raises(SystemExit):  # `flask db upgrade` prints the message, exits 1
            upgrade()
        message = "\n".join(capfd.readouterr())
        assert "BIN 040540526019: «ИН-0000100» (id 1), «ин-0000100» (id 2)" in message
        assert "990240001237" not in message  # «ин-7» is alone in its organization
        assert "flask db upgrade" in message and "Nothing was changed" in message
        assert _revision() == BEFORE
        columns = {c["name"] for c in inspect(db.engine).get_columns("equipment")}
        assert "inventory_key" not in columns

        with db.engine.begin() as conn:
            conn.execute(text("UPDATE equipment SET inventory_no = 'ИН-0000101' WHERE id = 2"))
        upgrade()
        with db.engine.connect() as conn:
            keys = conn.execute(text("SELECT id, inventory_key FROM equipment ORDER BY id"))
            assert keys.all() == [(1, "ИН-0000100"), (2, "ИН-0000101"), (3, "ИН-7"), (4, "ИН-7")]
