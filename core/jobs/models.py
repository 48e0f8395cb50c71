"""The jobs table: one row per piece of background work, claimed by one ``flask worker``."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.audit import JSONType
from core.db import Base, TZDateTime, str_enum, utcnow


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"  # done, but its file was deleted after JOB_RESULT_DAYS


ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)
FINISHED = (JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.EXPIRED)


class ErrorCode(enum.StrEnum):
    """Why a job failed; the page words it in the reader's language (core.jobs.views)."""

    REFUSED = "refused"  # the handler refused with a message for the user (error_message)
    UNEXPECTED = "unexpected"  # a bug: the traceback is in error_detail and in the log
    WORKER_LOST = "worker_lost"  # its worker died JOB_MAX_ATTEMPTS times
    UNKNOWN_KIND = "unknown_kind"  # no package registers this kind (any more)


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(60))
    parameters: Mapped[dict] = mapped_column(JSONType, default=dict)
    status: Mapped[JobStatus] = mapped_column(
        str_enum(JobStatus, 16),
        default=JobStatus.QUEUED,
    )
    # progress: ``done`` of ``total`` units (rows for an export); total unknown until counted
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int | None] = mapped_column(Integer)
    # the result file, under the instance folder (jobs/<id>/...), never in the database
    result_path: Mapped[str | None] = mapped_column(String(500))
    result_name: Mapped[str | None] = mapped_column(String(255))  # the download's name
    result_size: Mapped[int | None] = mapped_column(BigInteger)
    result_sha256: Mapped[str | None] = mapped_column(String(64))
    result_content_type: Mapped[str | None] = mapped_column(String(120))
    # a failure: the code and message for the user, the traceback for the log, kept apart
    error_code: Mapped[str | None] = mapped_column(String(40))
    error_message: Mapped[str | None] = mapped_column(Text)
    error_detail: Mapped[str | None] = mapped_column(Text)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    locale: Mapped[str | None] = mapped_column(String(5))  # the asker's, for texts in the file
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(120))  # host:pid of the claimer

    __table_args__ = (
        Index("ix_jobs_status_id", "status", "id"),  # the claim: the oldest queued job
        Index("ix_jobs_requested_by_id_created_at", "requested_by_id", "created_at"),
    )

    @classmethod
    def owned_clause(cls, user_id: int):
        return cls.requested_by_id == user_id

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def percent(self) -> int | None:
        if not self.progress_total:
            return 100 if self.status == JobStatus.DONE else None
        return min(100, round(100 * self.progress_done / self.progress_total))
