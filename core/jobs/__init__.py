"""Background jobs: rows of the jobs table run by ``flask worker`` (DESIGN §7).

A package registers a kind with ``register_kind(app, name, handler, title)``; a request
``enqueue``s a job and sends the user to its page (``url_for("jobs.job_page", job_id=…)``);
the worker claims it, calls ``handler(job, context)`` under the asker's locale, the handler
reports ``context.progress(done, total)`` and writes its file into ``context.directory``, and
returns ``context.result(path, name, content_type)`` (or raises ``JobRefused(message)``)."""

from core.jobs.models import Job, JobStatus
from core.jobs.queue import (
    JobCancelled,
    JobContext,
    JobRefused,
    JobResult,
    enqueue,
    register_kind,
)

__all__ = [
    "Job",
    "JobCancelled",
    "JobContext",
    "JobRefused",
    "JobResult",
    "JobStatus",
    "enqueue",
    "register_kind",
]
