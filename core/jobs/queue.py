"""The queue over the jobs table: kinds, enqueue, claim, progress, recovery and retention.

No broker: the table is the queue. One statement claims the oldest queued job; on PostgreSQL
its subquery locks the row with ``FOR UPDATE SKIP LOCKED`` so that two workers never take the
same job and neither waits for the other, and on SQLite (one writer at a time) the UPDATE's own
``status = 'queued'`` condition makes the claim exclusive. A running job beats (heartbeat_at)
with each progress report; one whose worker died beats no more and is queued again by the
next worker, up to JOB_MAX_ATTEMPTS attempts.
"""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import select, update

from core.db import utcnow
from core.jobs.models import ACTIVE, ErrorCode, Job, JobStatus

EXTENSION = "jobs"  # app.extensions["jobs"]: {kind name: JobKind}


class JobRefused(Exception):
    """Raised by a handler: the job cannot be done, for a reason the user can act on. The
    message (in the asker's language: handlers run under their locale) is shown on the page."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class JobCancelled(Exception):
    """The job is no longer this worker's (cancelled by the user, or re-queued as stale)."""


@dataclass(frozen=True)
class JobResult:
    """The file a handler produced, in the directory its JobContext gave it."""

    path: Path
    name: str  # the download's name
    content_type: str


@dataclass(frozen=True)
class JobKind:
    name: str
    handler: Callable[[Job, JobContext], JobResult | None]
    title: Any  # what the page calls it (lazy text)
    progress_text: Any = None  # e.g. _l("%(done)s of %(total)s rows")


def register_kind(app, name: str, handler, title, progress_text=None) -> None:
    """A package registers the kinds of work it does from its own ``init_app``; core never
    imports them."""
    app.extensions.setdefault(EXTENSION, {})[name] = JobKind(name, handler, title, progress_text)


def kinds(app=None) -> dict[str, JobKind]:
    return (app or current_app).extensions.get(EXTENSION, {})


def results_root(app=None) -> Path:
    app = app or current_app
    return Path(app.config.get("JOB_RESULTS_DIR") or Path(app.instance_path) / "jobs")


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:120]


# ---------------------------------------------------------------------------- enqueue, cancel


def enqueue(session, kind: str, parameters: dict, user, locale: str | None = None) -> Job:
    """A queued job of ``kind`` for ``user``; the same request again while one is queued or
    running (a double click, a reload) gives that job rather than a second one."""
    if kind not in kinds():
        raise KeyError(f"no job kind {kind!r} is registered")
    pending = session.scalars(
        select(Job).where(Job.kind == kind, Job.requested_by_id == user.id, Job.status.in_(ACTIVE))
    )
    for job in pending:
        if job.parameters == parameters:
            return job
    job = Job(kind=kind, parameters=parameters, requested_by_id=user.id, locale=locale)
    session.add(job)
    session.flush()
    return job


def cancel(session, job: Job) -> bool:
    """Cancel a queued or running job (a running one stops at its next progress report).
    No page offers it yet; for the packages that will (and for administrators' scripts)."""
    done = session.execute(
        update(Job)
        .where(Job.id == job.id, Job.status.in_(ACTIVE))
        .values(status=JobStatus.CANCELLED, finished_at=utcnow())
    )
    return done.rowcount == 1


# ---------------------------------------------------------------------------- claim, progress


def claim_next(session, worker: str | None = None) -> tuple[int, int] | None:
    """Claim the oldest queued job: (id, attempt) or None; committed at once."""
    now = utcnow()
    oldest = (
        select(Job.id)
        .where(Job.status == JobStatus.QUEUED)
        .order_by(Job.id)
        .limit(1)
        .with_for_update(skip_locked=True)  # PostgreSQL; SQLite renders no lock clause
        .scalar_subquery()
    )
    claimed = session.execute(
        update(Job)
        .where(Job.id == oldest, Job.status == JobStatus.QUEUED)
        .values(
            status=JobStatus.RUNNING,
            attempts=Job.attempts + 1,
            started_at=now,
            heartbeat_at=now,
            worker=worker or worker_name(),
        )
        .returning(Job.id, Job.attempts)
    ).first()
    session.commit()
    return None if claimed is None else (claimed[0], claimed[1])


def _still_ours(job_id: int, attempt: int):
    """The condition of every write by the worker that runs ``attempt`` of the job: once the
    job is cancelled or re-queued (and maybe claimed again), this worker's writes are void."""
    return (Job.id == job_id, Job.status == JobStatus.RUNNING, Job.attempts == attempt)


class JobContext:
    """What a handler gets besides its job: where to write its file and how to report."""

    # progress is written at most this often (each write is a short transaction)
    REPORT_EVERY_SECONDS = 1.0

    def __init__(self, engine, job: Job, directory: Path):
        self.engine = engine
        self.job_id = job.id
        self.attempt = job.attempts
        self.directory = directory
        self._last_report = None

    def progress(self, done: int, total: int | None = None, force: bool = False) -> None:
        """Report ``done`` of ``total`` and beat; raises JobCancelled if the job is no longer
        this worker's. Written on its own connection, so the handler's transaction (an open
        cursor over the registry) is not ended by it."""
        now = utcnow()
        due = self._last_report is None or (
            (now - self._last_report).total_seconds() >= self.REPORT_EVERY_SECONDS
        )
        if not (due or force):
            return
        values: dict = {"progress_done": done, "heartbeat_at": now}
        if total is not None:
            values["progress_total"] = total
        with self.engine.begin() as conn:
            written = conn.execute(
                update(Job).where(*_still_ours(self.job_id, self.attempt)).values(**values)
            )
        if written.rowcount != 1:
            raise JobCancelled(self.job_id)
        self._last_report = now

    def result(self, path: Path, name: str, content_type: str) -> JobResult:
        return JobResult(path=path, name=name, content_type=content_type)


# ---------------------------------------------------------------------------- finish


def mark_done(session, job_id: int, attempt: int, values: dict) -> bool:
    written = session.execute(
        update(Job)
        .where(*_still_ours(job_id, attempt))
        .values(status=JobStatus.DONE, finished_at=utcnow(), heartbeat_at=utcnow(), **values)
    )
    session.commit()
    return written.rowcount == 1


def mark_failed(
    session, job_id: int, attempt: int, code: ErrorCode, message: str | None, detail: str | None
) -> bool:
    written = session.execute(
        update(Job)
        .where(*_still_ours(job_id, attempt))
        .values(
            status=JobStatus.FAILED,
            finished_at=utcnow(),
            error_code=code,
            error_message=message,
            error_detail=detail,
        )
    )
    session.commit()
    return written.rowcount == 1


def release(session, job_id: int, attempt: int) -> bool:
    """Give a job back to the queue when its worker is stopped (SIGTERM, Ctrl-C) in the
    middle: the next worker starts it at once instead of after JOB_STALE_SECONDS, and the
    interrupted attempt does not count against JOB_MAX_ATTEMPTS."""
    written = session.execute(
        update(Job)
        .where(*_still_ours(job_id, attempt))
        .values(status=JobStatus.QUEUED, worker=None, attempts=Job.attempts - 1)
    )
    session.commit()
    return written.rowcount == 1


# ---------------------------------------------------------------------------- recovery, retention


def recover_stale(session, config) -> tuple[int, int]:
    """Jobs whose worker died (running, no heartbeat for JOB_STALE_SECONDS): queued again, or
    failed after JOB_MAX_ATTEMPTS attempts. Returns (re-queued, failed)."""
    now = utcnow()
    stale = (
        Job.status == JobStatus.RUNNING,
        Job.heartbeat_at < now - timedelta(seconds=config["JOB_STALE_SECONDS"]),
    )
    given_up = session.execute(
        update(Job)
        .where(*stale, Job.attempts >= config["JOB_MAX_ATTEMPTS"])
        .values(status=JobStatus.FAILED, finished_at=now, error_code=ErrorCode.WORKER_LOST)
    ).rowcount
    requeued = session.execute(
        update(Job).where(*stale).values(status=JobStatus.QUEUED, worker=None)
    ).rowcount
    session.commit()
    return requeued, given_up


def expire_results(session, config, root: Path) -> int:
    """Delete the files of jobs done more than JOB_RESULT_DAYS ago and mark those jobs
    expired (their page says the file was deleted). Failed and cancelled jobs keep no file:
    the worker deletes what they wrote when they end. Returns how many expired."""
    cutoff = utcnow() - timedelta(days=config["JOB_RESULT_DAYS"])
    ids = list(
        session.scalars(
            select(Job.id).where(Job.status == JobStatus.DONE, Job.finished_at < cutoff)
        )
    )
    for job_id in ids:
        shutil.rmtree(root / str(job_id), ignore_errors=True)
    if ids:
        session.execute(
            update(Job)
            .where(Job.id.in_(ids), Job.status == JobStatus.DONE)
            .values(status=JobStatus.EXPIRED, result_path=None)
        )
    session.commit()
    return len(ids)
