"""search text: model, manufacturer and compact numbers

Data only (no schema change): rewrites equipment.search_text in the form of
equipment/search.py from this revision on, so existing items are found by their model and
manufacturer, and by numbers typed without separators («4626г» finds «4626-Г»).

The folding rules are copied here as they are at this revision (a migration must not change
when the application code does later). ``flask equipment refresh-indicators`` rewrites the
same column with the current code.

Revision ID: b7c41d2e9a10
Revises: e56396b2a155
Create Date: 2026-12-01 09:30:00

"""
import re

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'b7c41d2e9a10'
down_revision = 'c3a81f5d9e47'
branch_labels = None
depends_on = None

BATCH = 2000
NEW_FIELDS = ("inventory_no", "name", "factory_no", "registration_no", "model", "manufacturer")
NUMBER_FIELDS = ("inventory_no", "factory_no", "registration_no", "model")
OLD_FIELDS = ("inventory_no", "name", "factory_no", "registration_no")
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212/\\.,:;№#()\[\]'\"«»]+")
_DIGIT = re.compile(r"\d")

equipment = sa.table(
    "equipment",
    sa.column("id", sa.Integer),
    sa.column("search_text", sa.Text),
    *(sa.column(name, sa.String) for name in NEW_FIELDS),
)


def _fold(text):
    return " ".join((text or "").replace("ё", "е").replace("Ё", "Е").split()).casefold()


def _new_text(row) -> str:
    folded = {name: _fold(row[name]) for name in NEW_FIELDS}
    compacted = [
        c
        for name in NUMBER_FIELDS
        if _DIGIT.search(f := folded[name]) and (c := _SEPARATORS.sub("", f)) != f
    ]
    return "\n".join([*folded.values(), *compacted])


def _old_text(row) -> str:
    return "\n".join(_fold(row[name]) for name in OLD_FIELDS)


def _rewrite(compute) -> None:
    conn = op.get_bind()
    last_id = 0
    while True:
        rows = conn.execute(
            sa.select(equipment.c.id, *(equipment.c[name] for name in NEW_FIELDS))
            .where(equipment.c.id > last_id)
            .order_by(equipment.c.id)
            .limit(BATCH)
        ).mappings().all()
        if not rows:
            return
        conn.execute(
            equipment.update()
            .where(equipment.c.id == sa.bindparam("row_id"))
            .values(search_text=sa.bindparam("text")),
            [{"row_id": row["id"], "text": compute(row)} for row in rows],
        )
        last_id = rows[-1]["id"]


def upgrade():
    _rewrite(_new_text)


def downgrade():
    _rewrite(_old_text)
