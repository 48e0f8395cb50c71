"""What the database holds, read on a connection of its own, to prove what a request changed."""

from __future__ import annotations

from sqlalchemy import select

from core.extensions import db


def db_state() -> dict[str, list[tuple]]:
    """Every row of every table, read on a connection of its own (committed data only)."""
    out = {}
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            if table.name == "login_attempts":
                continue
            # touched by authentication
            cols = [c for c in table.columns if c.name not in ("last_used_at", "last_seen_at")]
            stmt = select(*cols).order_by(*table.primary_key.columns)
            out[table.name] = [tuple(row) for row in conn.execute(stmt)]
    return out


def changed_tables(before: dict, after: dict) -> list[str]:
    return sorted(name for name in before if before[name] != after[name])
