"""import_batches.parsed: the previewed file as parsed, so the commit need not read it again

Revision ID: 7170f1fb0e63
Revises: b7c41d2e9a10
Create Date: 2026-12-01 12:12:24

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "7170f1fb0e63"
down_revision = "b7c41d2e9a10"
branch_labels = None
depends_on = None


def upgrade():
    # Batches previewed before this revision have none: their commit reads the file again.
    with op.batch_alter_table("import_batches", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parsed", sa.LargeBinary(), nullable=True))


def downgrade():
    with op.batch_alter_table("import_batches", schema=None) as batch_op:
        batch_op.drop_column("parsed")
