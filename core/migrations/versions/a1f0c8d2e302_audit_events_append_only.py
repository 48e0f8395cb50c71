"""audit_events append-only in the database: triggers refuse UPDATE and DELETE

The ORM already refused them; raw SQL passed. The trigger DDL lives in core.audit (the test
suite's clean-up lifts the same triggers on SQLite).

Revision ID: a1f0c8d2e302
Revises: a1f0c8d2e301
Create Date: 2026-12-03 18:25:00

"""
from alembic import op

from core.audit import install_append_only, remove_append_only

# revision identifiers, used by Alembic.
revision = "a1f0c8d2e302"
down_revision = "a1f0c8d2e301"
branch_labels = None
depends_on = None


def upgrade():
    install_append_only(op.get_bind())


def downgrade():
    remove_append_only(op.get_bind())
