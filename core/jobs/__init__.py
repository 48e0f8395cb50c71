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


def init_app(app) -> None:
    """The job pages, the job API and ``flask worker``; a package adds its kinds with
    ``register_kind`` from its own init_app."""
    from core.extensions import api, csrf
    from core.jobs import api as jobs_api
    from core.jobs import views
    from core.jobs.worker import worker_command

    app.register_blueprint(views.bp)
    api.register_blueprint(jobs_api.blp)
    csrf.exempt(jobs_api.blp)
    app.cli.add_command(worker_command)


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
