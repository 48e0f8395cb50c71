"""equipment.inventory_key: the folded inventory number, unique in the organization

The import matches «ин-16» to «ИН-16», but the unique key (organization_id, inventory_no)
compared exactly, so look-alikes could be stored side by side. This revision stores the fold
the import compares by and makes (organization_id, inventory_key) the unique key; the old
unique constraint becomes a plain index (organization_id, inventory_no, id) for the
engineers' default order.

Existing look-alikes would break the new key: the upgrade lists them (organization BIN,
numbers, ids) and stops before changing anything, so they can be renamed first.

The fold is copied here as it is at this revision (a migration must not change when the
application code does later); tests/unit/test_inventory_key.py checks it equals
equipment.inventory.inventory_key.

Revision ID: a1f0c8d2e301
Revises: 7170f1fb0e63
Create Date: 2026-12-03 18:20:00

"""
from collections import defaultdict

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "a1f0c8d2e301"
down_revision = "7170f1fb0e63"
branch_labels = None
depends_on = None

BATCH = 5000
equipment = sa.table(
    "equipment",
    sa.column("id", sa.Integer),
    sa.column("organization_id", sa.Integer),
    sa.column("inventory_no", sa.String),
    sa.column("inventory_key", sa.String),
)
organizations = sa.table("organizations", sa.column("id", sa.Integer), sa.column("bin", sa.String))


def fold(number: str) -> str:
    """equipment.inventory.inventory_key at this revision: case, whitespace and «ё» ignored."""
    key = number.upper()
    if " " in key or "\u00a0" in key or "\t" in key:
        key = "".join(key.split())
    return key.replace("Ё", "Е")


class LookAlikes(RuntimeError):
    """Items of one organization whose numbers fold to one key: they must be renamed first."""


def _keys_or_stop(conn) -> list[dict]:
    """Every item's key; stops with the list of look-alikes if there are any."""
    groups: dict[tuple[int, str], list[tuple[int, str]]] = defaultdict(list)
    rows = conn.execute(
        sa.select(equipment.c.id, equipment.c.organization_id, equipment.c.inventory_no)
    )
    for item_id, org_id, number in rows:
        groups[(org_id, fold(number))].append((item_id, number))
    clashes = {key: items for key, items in groups.items() if len(items) > 1}
    if clashes:
        bins = dict(conn.execute(sa.select(organizations.c.id, organizations.c.bin)).all())
        lines = [
            f"  BIN {bins.get(org_id, org_id)}: "
            + ", ".join(f"«{number}» (id {item_id})" for item_id, number in sorted(items))
            for (org_id, _key), items in sorted(clashes.items())
        ]
        raise LookAlikes(
            f"{len(clashes)} inventory number(s) are written in several ways within one "
            "organization (case and spaces aside they are one number; the import already "
            "takes them for one item):\n"
            + "\n".join(lines[:200])
            + ("\n  …" if len(lines) > 200 else "")
            + "\nRename or merge these items (the equipment form, or the API) so that each "
            "number is written once, then run `flask db upgrade` again. Nothing was changed."
        )
    return [
        {"row_id": item_id, "key": key}
        for (_org, key), items in groups.items()
        for item_id, _number in items
    ]


def upgrade():
    conn = op.get_bind()
    keys = _keys_or_stop(conn)  # before any change: a refusal leaves the schema as it was
    with op.batch_alter_table("equipment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("inventory_key", sa.String(length=180), nullable=True))
    update = (
        equipment.update()
        .where(equipment.c.id == sa.bindparam("row_id"))
        .values(inventory_key=sa.bindparam("key"))
    )
    for start in range(0, len(keys), BATCH):
        conn.execute(update, keys[start : start + BATCH])
    with op.batch_alter_table("equipment", schema=None) as batch_op:
        batch_op.alter_column("inventory_key", existing_type=sa.String(length=180), nullable=False)
        batch_op.drop_constraint("uq_equipment_organization_id_inventory_no", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_equipment_organization_id_inventory_key"),
            ["organization_id", "inventory_key"],
        )
        batch_op.create_index(
            "ix_equipment_org_inventory_no", ["organization_id", "inventory_no", "id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("equipment", schema=None) as batch_op:
        batch_op.drop_index("ix_equipment_org_inventory_no")
        batch_op.drop_constraint("uq_equipment_organization_id_inventory_key", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_equipment_organization_id_inventory_no"),
            ["organization_id", "inventory_no"],
        )
        batch_op.drop_column("inventory_key")
