"""Page forms filled as a user would: the equipment form of the world's item A."""

from __future__ import annotations


def equipment_form(world, **overrides) -> dict:
    form = {
        "facility_id": str(world.fac_a.id),
        "inventory_no": world.item_a.inventory_no,
        "name": world.item_a.name,
        "device_type": "steam_boiler",
        "manufacture_year": "1999",
        "commissioned_on": "2000-01-01",
        "service_life_years": "20",
        "service_life_source": "manufacturer",
        "status": "in_service",
    }
    form.update(overrides)
    return form
