"""``flask worker``: the one process that runs background jobs (never a web worker's thread).

Each round it re-queues jobs whose worker died, deletes expired result files, then claims and
runs the oldest queued job; with nothing to do it sleeps JOB_POLL_SECONDS. ``--once`` runs
what is queued and exits (tests, cron).
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import signal
import time
import traceback

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import force_locale

from core.extensions import db
from core.jobs import queue
from core.jobs.models import ErrorCode, Job

log = logging.getLogger(__name__)


def sha256_of(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def housekeeping(app) -> None:
    requeued, given_up = queue.recover_stale(db.session, app.config)
    if requeued or given_up:
        log.warning("stale jobs: %d queued again, %d failed", requeued, given_up)
    queue.expire_results(db.session, app.config, queue.results_root(app))


def run_next(app, worker: str | None = None) -> int | None:
    """Claim and run one job; its id, or None when none was queued."""
    claimed = queue.claim_next(db.session, worker)
    if claimed is None:
        return None
    job_id, attempt = claimed
    try:
        run_claimed(app, job_id, attempt)
    except (KeyboardInterrupt, SystemExit):  # stopped; a job's failures end in run_claimed
        db.session.rollback()
        queue.release(db.session, job_id, attempt)
        shutil.rmtree(queue.results_root(app) / str(job_id) / str(attempt), ignore_errors=True)
        log.warning("worker stopped: job %d queued again", job_id)
        raise
    finally:
        db.session.remove()
    return job_id


def run_claimed(app, job_id: int, attempt: int) -> None:
    job = db.session.get(Job, job_id)
    if job is None:  # its user was deleted meanwhile, and the job with them
        return
    kind = queue.kinds(app).get(job.kind)
    if kind is None:
        queue.mark_failed(db.session, job_id, attempt, ErrorCode.UNKNOWN_KIND, None, job.kind)
        return
    # each attempt writes into a directory of its own: a worker that lost the job (re-queued
    # as stale) can only delete its own files, never those of the attempt that replaced it
    directory = queue.results_root(app) / str(job_id) / str(attempt)
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    context = queue.JobContext(db.engine, job, directory)
    started = time.perf_counter()
    try:
        with force_locale(job.locale or app.config["BABEL_DEFAULT_LOCALE"]):
            result = kind.handler(job, context)
    except queue.JobCancelled:
        db.session.rollback()
        log.info("job %d (%s) cancelled or taken over; its files deleted", job_id, job.kind)
        shutil.rmtree(directory, ignore_errors=True)
        return
    except queue.JobRefused as refused:
        db.session.rollback()
        _fail(job_id, attempt, directory, ErrorCode.REFUSED, refused.message, None)
        return
    except Exception:
        db.session.rollback()
        detail = traceback.format_exc()
        log.exception("job %d (%s) failed", job_id, job.kind)
        _fail(job_id, attempt, directory, ErrorCode.UNEXPECTED, None, detail)
        return
    db.session.rollback()  # end the handler's reading transaction before the job's write
    values = {}
    if result is not None:
        values = {
            "result_path": str(result.path.relative_to(queue.results_root(app))),
            "result_name": result.name,
            "result_size": result.path.stat().st_size,
            "result_sha256": sha256_of(result.path),
            "result_content_type": result.content_type,
        }
    if not queue.mark_done(db.session, job_id, attempt, values):
        shutil.rmtree(directory, ignore_errors=True)  # cancelled at the last moment
        return
    log.info("job %d (%s) done in %.1f s", job_id, job.kind, time.perf_counter() - started)


def _fail(job_id, attempt, directory, code, message, detail) -> None:
    shutil.rmtree(directory, ignore_errors=True)
    queue.mark_failed(db.session, job_id, attempt, code, message, detail)


def run_queued(app, worker: str | None = None) -> int:
    """Everything queued now (after recovery), then return how many jobs ran."""
    housekeeping(app)
    ran = 0
    while run_next(app, worker) is not None:
        ran += 1
    return ran


@click.command("worker")
@click.option("--once", is_flag=True, help="Run the queued jobs and exit (tests, cron).")
@click.option("--sleep", type=float, default=None, help="Seconds between polls when idle.")
@with_appcontext
def worker_command(once: bool, sleep: float | None) -> None:
    """Run background jobs (large exports, …) from the jobs table."""
    app = current_app._get_current_object()
    if once:
        click.echo(f"{run_queued(app)} job(s) run")
        return
    pause = app.config["JOB_POLL_SECONDS"] if sleep is None else sleep
    # systemd and `make run` stop it with SIGTERM: unwind like Ctrl-C, so that a job in the
    # middle goes back to the queue (run_next) instead of waiting to be found stale
    signal.signal(signal.SIGTERM, _stop)
    log.info("worker %s polling every %.1f s", queue.worker_name(), pause)
    try:
        poll(app, pause)
    except (KeyboardInterrupt, SystemExit):
        log.info("worker %s stopped", queue.worker_name())


def _stop(signum, frame):
    raise SystemExit(0)


def poll(app, pause: float) -> None:
    last_housekeeping = 0.0
    while True:
        try:
            if time.monotonic() - last_housekeeping >= app.config["JOB_STALE_SECONDS"] / 4:
                housekeeping(app)
                last_housekeeping = time.monotonic()
            if run_next(app) is not None:
                continue
        except Exception:  # the database away for a moment: keep polling, do not die
            log.exception("worker round failed; trying again")
            db.session.remove()
        db.session.remove()
        time.sleep(pause)
