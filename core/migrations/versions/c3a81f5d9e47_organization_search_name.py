"""organizations.search_name: the folded name, for case-insensitive search on both databases

Revision ID: c3a81f5d9e47
Revises: b7d41c9e2f30
Create Date: 2026-12-09 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'c3a81f5d9e47'
down_revision = 'b7d41c9e2f30'
branch_labels = None
depends_on = None


def fold(text):
    """core.text.fold as of this revision (the migration must not change with the code)."""
    return " ".join((text or "").replace("ё", "е").replace("Ё", "Е").split()).casefold()


def upgrade():
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('search_name', sa.String(length=300), nullable=True))

    organizations = sa.table(
        'organizations', sa.column('id', sa.Integer), sa.column('name', sa.String),
        sa.column('search_name', sa.String),
    )
    conn = op.get_bind()
    for org_id, name in conn.execute(sa.select(organizations.c.id, organizations.c.name)).all():
        conn.execute(
            organizations.update()
            .where(organizations.c.id == org_id)
            .values(search_name=fold(name))
        )

    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.alter_column('search_name', existing_type=sa.String(length=300), nullable=False)


def downgrade():
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.drop_column('search_name')
