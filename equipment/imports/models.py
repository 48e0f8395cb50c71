"""The import's tables: each uploaded list (a batch) and the column mapping an organization
chose by hand."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accounts.models import Organization
from core.access import Scope
from core.audit import JSONType
from core.db import Base, TZDateTime, str_enum, utcnow


class ImportStatus(enum.StrEnum):
    """Where a batch is: previewed, then committing and committed (and perhaps reverted), or
    superseded by a preview of the same file with another mapping, or discarded. DRY_RUN is
    the status of a plan that is never stored (``flask equipment import --dry-run``)."""

    PREVIEWED = "previewed"
    COMMITTING = "committing"
    COMMITTED = "committed"
    SUPERSEDED = "superseded"
    DRY_RUN = "dry_run"
    # a committed batch undone (equipment.imports.revert), a previewed one dropped unloaded
    REVERTED = "reverted"
    DISCARDED = "discarded"


class ImportBatch(Base):
    """One uploaded asset list: previewed, then committed (all or nothing) or abandoned."""

    __tablename__ = "import_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    committed_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    status: Mapped[ImportStatus] = mapped_column(
        str_enum(ImportStatus, 16), default=ImportStatus.PREVIEWED
    )
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    # the previewed file as parsed (equipment.imports.excel.snapshot), so the commit need not read
    # it again; dropped once the batch is committed
    parsed: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    options: Mapped[dict] = mapped_column(JSONType, default=dict)
    plan_digest: Mapped[str | None] = mapped_column(String(64))
    counts: Mapped[dict] = mapped_column(JSONType, default=dict)
    report: Mapped[dict] = mapped_column(JSONType, default=dict, deferred=True)

    organization: Mapped[Organization] = relationship(lazy="joined")

    __table_args__ = (Index("ix_import_batches_org_created", "organization_id", "created_at"),)

    @classmethod
    def scope_clause(cls, scope: Scope):
        """The organization's own engineers (and admins, national regulators: everything).
        A batch is a whole organization's list, whose rows and original file may name
        facilities of any region, so no regional regulator sees it: they see the registry
        the batches made, item by item, by the facility's region."""
        if scope.organization_id is not None:
            return cls.organization_id == scope.organization_id
        return false()


class ColumnMapping(Base):
    """The column mapping an organization chose by hand, reused for its next uploads."""

    __tablename__ = "column_mappings"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), unique=True)
    mapping: Mapped[dict] = mapped_column(JSONType, default=dict)
    updated_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow, onupdate=utcnow)
