"""api_tokens.expires_at: tokens expire API_TOKEN_DAYS after their creation

Revision ID: b2e1d9c3f401
Revises: a1f0c8d2e302
Create Date: 2026-12-03 18:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "b2e1d9c3f401"
down_revision = "a1f0c8d2e302"
branch_labels = None
depends_on = None

DEFAULT_DAYS = 365


def _token_days() -> int:
    """The installation's API_TOKEN_DAYS (flask db upgrade runs in the app), else the default."""
    try:
        from flask import current_app

        return int(current_app.config.get("API_TOKEN_DAYS", DEFAULT_DAYS))
    except RuntimeError:  # alembic run outside the app
        return DEFAULT_DAYS


def upgrade():
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    # Tokens made before expiry existed live as long as a new one would, from their creation
    # (one UPDATE; a token already older than that is expired from now on).
    days = _token_days()
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            sa.text("UPDATE api_tokens SET expires_at = created_at + make_interval(days => :days)")
            .bindparams(days=days)
        )
    else:
        # SQLite keeps 'YYYY-MM-DD HH:MM:SS.ffffff' text: shift the date and time, keep the
        # fraction as it was, so that the value reads back exactly and sorts with the others.
        op.execute(
            sa.text(
                "UPDATE api_tokens SET expires_at = "
                "strftime('%Y-%m-%d %H:%M:%S', created_at, :shift) || substr(created_at, 20)"
            ).bindparams(shift=f"+{days} days")
        )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.alter_column(
            "expires_at", existing_type=sa.DateTime(timezone=True), nullable=False
        )


def downgrade():
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("expires_at")
