"""A job's page (state, progress, the file when ready), the user's recent jobs, the download.

A job and its file are its asker's (and administrators'): anyone else gets 404. The page
refreshes itself while the job is queued or running (``<meta http-equiv="refresh">``: no
script, within the CSP)."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, send_file
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from core.access import get_owned_or_404, owned
from core.extensions import db
from core.jobs import queue
from core.jobs.models import ErrorCode, Job, JobStatus
from core.template_helpers import fmt_number

bp = Blueprint("jobs", __name__, template_folder="templates")

RECENT = 50
REFRESH_SECONDS = 2

STATUS_LABELS = {
    JobStatus.QUEUED: _l("Queued"),
    JobStatus.RUNNING: _l("Running"),
    JobStatus.DONE: _l("Ready"),
    JobStatus.FAILED: _l("Failed with an error"),
    JobStatus.CANCELLED: _l("Cancelled"),
    JobStatus.EXPIRED: _l("File deleted (kept for a limited time)"),
}


def status_label(job: Job) -> str:
    return str(STATUS_LABELS[job.status])


def kind_title(job: Job) -> str:
    kind = queue.kinds().get(job.kind)
    return str(kind.title) if kind else job.kind


def progress_text(job: Job) -> str:
    if job.progress_total is None:
        return ""
    kind = queue.kinds().get(job.kind)
    template = kind.progress_text if kind and kind.progress_text else _l("%(done)s of %(total)s")
    return str(template) % {
        "done": fmt_number(job.progress_done),
        "total": fmt_number(job.progress_total),
    }


def user_message(job: Job) -> str | None:
    """Why the job failed, for its reader; never the traceback (that is in the log)."""
    if job.status != JobStatus.FAILED:
        return None
    if job.error_code == ErrorCode.REFUSED and job.error_message:
        return job.error_message
    if job.error_code == ErrorCode.WORKER_LOST:
        return _(
            "The background worker stopped while running this job %(n)s times. Start it "
            "again; if it fails again, tell the administrator.",
            n=job.attempts,
        )
    if job.error_code == ErrorCode.UNKNOWN_KIND:
        return _("This kind of job is no longer supported.")
    return _(
        "Something went wrong on our side while preparing it. The error has been logged; "
        "try again later or tell the administrator."
    )


def visible_job_or_404(user, job_id: int) -> Job:
    return get_owned_or_404(db.session, Job, job_id, user.id, user.is_admin)


def result_file_or_404(job: Job):
    """The job's file, sent with no caching; 404 unless the job is done and the file is
    still there."""
    if job.status != JobStatus.DONE or not job.result_path:
        abort(404)
    path = queue.results_root() / job.result_path
    if not path.is_file():
        abort(404)
    response = send_file(
        path,
        download_name=job.result_name,
        as_attachment=True,
        mimetype=job.result_content_type,
        max_age=0,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def recent_jobs(user) -> list[Job]:
    """The user's own latest jobs (an administrator's too: others' are reached by id)."""
    statement = owned(Job, user.id, sees_all=False).order_by(Job.id.desc()).limit(RECENT)
    return list(db.session.scalars(statement))


@bp.app_template_global()
def job_labels():
    return {"status": status_label, "title": kind_title, "progress": progress_text}


@bp.get("/jobs")
@login_required
def job_list():
    return render_template("core/jobs.html", jobs=recent_jobs(current_user))


@bp.get("/jobs/<int:job_id>")
@login_required
def job_page(job_id: int):
    job = visible_job_or_404(current_user, job_id)
    return render_template(
        "core/job.html",
        job=job,
        message=user_message(job),
        refresh=None if job.finished else REFRESH_SECONDS,
    )


@bp.get("/jobs/<int:job_id>/file")
@login_required
def job_file(job_id: int):
    return result_file_or_404(visible_job_or_404(current_user, job_id))
