"""API of background jobs: ``GET /api/v1/jobs[/<id>]`` (state and progress) and the file.

Every /api/v1/ request is authenticated by accounts' app-wide bearer-token check (core does
not name accounts); ``g.api_user`` is the token's user."""

from __future__ import annotations

from flask import g, url_for
from flask.views import MethodView
from marshmallow import Schema, fields

from core.api_blueprint import Blueprint
from core.db import as_utc
from core.jobs import views
from core.jobs.models import Job, JobStatus

blp = Blueprint("jobs_api", __name__, url_prefix="/api/v1", description="Background jobs")


class JobProgressSchema(Schema):
    done = fields.Integer()
    total = fields.Integer(allow_none=True)
    percent = fields.Integer(allow_none=True)


class JobFileSchema(Schema):
    name = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    content_type = fields.String()
    url = fields.String(metadata={"description": "GET it with the same token"})


class JobSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    title = fields.String()
    status = fields.String(metadata={"enum": [s.value for s in JobStatus]})
    progress = fields.Nested(JobProgressSchema)
    error = fields.String(allow_none=True, metadata={"description": "why it failed"})
    file = fields.Nested(JobFileSchema, allow_none=True)
    url = fields.String(metadata={"description": "this document"})
    page = fields.String(metadata={"description": "the job's page for people"})
    created_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)
    attempts = fields.Integer()


def _aware(value):
    return as_utc(value) if value is not None else None


def job_document(job: Job) -> dict:
    ready = job.status == JobStatus.DONE and job.result_path
    return {
        "id": job.id,
        "kind": job.kind,
        "title": views.kind_title(job),
        "status": job.status.value,
        "progress": {
            "done": job.progress_done,
            "total": job.progress_total,
            "percent": job.percent,
        },
        "error": views.user_message(job),
        "file": {
            "name": job.result_name,
            "size": job.result_size,
            "sha256": job.result_sha256,
            "content_type": job.result_content_type,
            "url": url_for("jobs_api.job_file", job_id=job.id),
        }
        if ready
        else None,
        "url": api_url(job),
        "page": url_for("jobs.job_page", job_id=job.id),
        # aware UTC on both databases (SQLite hands them back naive): RFC 3339 wants the offset
        "created_at": _aware(job.created_at),
        "started_at": _aware(job.started_at),
        "finished_at": _aware(job.finished_at),
        "attempts": job.attempts,
    }


def api_url(job: Job) -> str:
    return url_for("jobs_api.JobItem", job_id=job.id)


@blp.route("/jobs")
class JobCollection(MethodView):
    @blp.response(200, JobSchema(many=True))
    def get(self):
        """The token's user's recent jobs, newest first."""
        return [job_document(job) for job in views.recent_jobs(g.api_user)]


@blp.route("/jobs/<int:job_id>")
class JobItem(MethodView):
    @blp.response(200, JobSchema)
    def get(self, job_id: int):
        """A job's state and progress; ``file`` once it is ready. Poll it."""
        return job_document(views.visible_job_or_404(g.api_user, job_id))


@blp.route("/jobs/<int:job_id>/file", methods=["GET"])
@blp.response(200, content_type="application/octet-stream")
def job_file(job_id: int):
    """The job's result file (404 until it is ready, and after it expired)."""
    return views.result_file_or_404(views.visible_job_or_404(g.api_user, job_id))
