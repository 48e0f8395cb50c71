"""Background jobs on the real database with real files: a large registry export becomes a job
that ``flask worker --once`` runs; its page, API and file are its asker's only; a worker that
died is replaced; two workers never run one job; a failure shows the user a message and keeps
the traceback for the log; old files expire."""

from __future__ import annotations

import contextvars
import hashlib
import io
import threading
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import text, update
from sqlalchemy.orm import Session

from core import clock
from core.db import utcnow
from core.extensions import db
from core.jobs import JobRefused, queue, register_kind
from core.jobs.models import ErrorCode, Job, JobStatus
from core.jobs.worker import run_queued
from equipment.catalog import DeviceType
from equipment.registry import export
from tests.helpers.auth import login

EXPORT_HEADER_ROW = 4  # two title rows, an empty one, the header
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def small_sync_limit(app):
    """Exports of more than one row are background jobs (the default limit is 10,000)."""
    before = app.config["EXPORT_SYNC_MAX_ROWS"]
    app.config["EXPORT_SYNC_MAX_ROWS"] = 1
    yield
    app.config["EXPORT_SYNC_MAX_ROWS"] = before


@pytest.fixture
def fleet(world, make):
    """Org A: A-INV-1 (Pavlodar), A-INV-2 (Karaganda), both to be planned, and a new crane;
    org B: B-INV-1."""
    make.equipment(
        world.fac_a,
        "A-NEW",
        name="Кран новый",
        device_type=DeviceType.CRANE,
        commissioned_on=clock.today() - timedelta(days=200),
        manufacture_year=clock.today().year - 1,
    )
    return world


def run_worker(runner) -> str:
    """`flask worker --once` in a context of its own, as the worker process has (not the
    test's app context and database session)."""
    result = contextvars.Context().run(runner.invoke, args=["worker", "--once"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    db.session.expire_all()
    return result.output


def job_id_of(response) -> int:
    assert response.status_code == 302, (response.status_code, response.get_data()[:300])
    location = response.headers["Location"]
    assert location.startswith("/jobs/"), location
    return int(location.rsplit("/", 1)[1])


def rows_of(body: bytes) -> list[list]:
    """The data rows (below the title rows and the header)."""
    sheet = load_workbook(io.BytesIO(body)).worksheets[0]
    return [[c.value for c in line] for line in sheet.iter_rows(min_row=EXPORT_HEADER_ROW + 1)]


def the_job(job_id: int) -> Job:
    return db.session.get(Job, job_id)


# ---------------------------------------------------------------------------- the export job


def test_a_large_export_is_a_job_whose_file_has_the_filters_rows(
    app, client, runner, fleet, small_sync_limit, login_as
):
    login_as(fleet.eng_a)
    job_id = job_id_of(client.get("/equipment/export.xlsx?flag=must_plan&sort=-inventory_no"))
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "Выгрузка реестра (.xlsx)" in page and "В очереди" in page
    assert '<meta http-equiv="refresh"' in page  # follows the job by itself
    assert client.get(f"/jobs/{job_id}/file").status_code == 404  # not ready yet

    assert "1 job(s) run" in run_worker(runner)

    job = the_job(job_id)
    assert job.status == JobStatus.DONE and job.attempts == 1
    assert (job.progress_done, job.progress_total) == (2, 2)
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "Готово" in page and "2 из 2 строк" in page
    assert '<meta http-equiv="refresh"' not in page
    assert f'href="/jobs/{job_id}/file"' in page
    download = client.get(f"/jobs/{job_id}/file")
    assert download.status_code == 200 and download.mimetype == XLSX
    assert download.headers["Cache-Control"] == "no-store"
    assert "attachment" in download.headers["Content-Disposition"]
    body = download.get_data()
    assert [r[0] for r in rows_of(body)] == ["A-INV-2", "A-INV-1"]  # the filter and its sort
    # the file lives under the instance folder, described by its row
    path = queue.results_root(app) / job.result_path
    assert path.is_file() and path.is_relative_to(app.instance_path)
    assert job.result_size == len(body) == path.stat().st_size
    assert job.result_sha256 == hashlib.sha256(body).hexdigest()
    assert job.result_name == f"реестр-ТУ-{clock.today():%Y-%m-%d}.xlsx"

    # the same rows as the synchronous export of the same filter
    app.config["EXPORT_SYNC_MAX_ROWS"] = 1000
    direct = client.get("/equipment/export.xlsx?flag=must_plan&sort=-inventory_no")
    assert direct.status_code == 200 and rows_of(direct.get_data()) == rows_of(body)


def test_at_the_limit_the_export_stays_in_the_request(app, client, fleet, login_as):
    before = app.config["EXPORT_SYNC_MAX_ROWS"]
    app.config["EXPORT_SYNC_MAX_ROWS"] = 3  # org A has exactly 3 active items
    try:
        login_as(fleet.eng_a)
        assert 'id="export-note"' not in client.get("/equipment").get_data(as_text=True)
        app.config["EXPORT_SYNC_MAX_ROWS"] = 2  # the list says the file will be prepared
        assert "готовится в фоне" in client.get("/equipment").get_data(as_text=True)
        app.config["EXPORT_SYNC_MAX_ROWS"] = 3
        response = client.get("/equipment/export.xlsx")
        assert response.status_code == 200 and response.mimetype == XLSX
        assert len(rows_of(response.get_data())) == 3
        assert db.session.query(Job).count() == 0
    finally:
        app.config["EXPORT_SYNC_MAX_ROWS"] = before


def test_asking_twice_while_it_waits_gives_the_same_job(client, fleet, small_sync_limit, login_as):
    login_as(fleet.eng_a)
    first = job_id_of(client.get("/equipment/export.xlsx?flag=must_plan"))
    assert job_id_of(client.get("/equipment/export.xlsx?flag=must_plan&page=3")) == first
    other = job_id_of(client.get("/equipment/export.xlsx"))
    assert other != first
    listing = client.get("/jobs").get_data(as_text=True)
    assert f'href="/jobs/{first}"' in listing and f'href="/jobs/{other}"' in listing


def test_progress_moves_as_the_rows_are_written(
    app, client, runner, fleet, small_sync_limit, login_as, make, monkeypatch
):
    token = make.token(fleet.eng_a)
    login_as(fleet.eng_a)
    job_id = job_id_of(client.get("/equipment/export.xlsx"))
    monkeypatch.setattr(export, "PROGRESS_EVERY", 1)
    monkeypatch.setattr(queue.JobContext, "REPORT_EVERY_SECONDS", 0)
    seen: list[tuple] = []
    real_progress = queue.JobContext.progress

    def progress_then_look(self, done, total=None, force=False):
        real_progress(self, done, total, force)
        # what the API shows meanwhile, from another request (its own session)
        doc = client.get(f"/api/v1/jobs/{job_id}", headers={"Authorization": f"Bearer {token}"})
        shown = doc.get_json()
        seen.append((shown["status"], shown["progress"]["done"], shown["progress"]["total"]))

    monkeypatch.setattr(queue.JobContext, "progress", progress_then_look)
    run_worker(runner)
    assert seen[0] == ("running", 0, 3)
    assert [done for _s, done, _t in seen] == sorted(done for _s, done, _t in seen)
    assert {done for _s, done, _t in seen} == {0, 1, 2, 3}
    assert all(status == "running" for status, _d, _t in seen)
    assert the_job(job_id).status == JobStatus.DONE


def test_the_job_runs_with_the_askers_scope_when_it_runs(
    client, runner, fleet, small_sync_limit, login_as
):
    login_as(fleet.eng_a)
    job_id = job_id_of(client.get("/equipment/export.xlsx?flag=must_plan"))
    # moved to organization B before the worker got to it: B's items, never A's
    fleet.eng_a.organization_id = fleet.org_b.id
    db.session.commit()
    run_worker(runner)
    download = client.get(f"/jobs/{job_id}/file")
    assert [r[0] for r in rows_of(download.get_data())] == ["B-INV-1"]


def test_a_deactivated_askers_job_fails_with_a_message(
    client, runner, fleet, small_sync_limit, login_as
):
    login_as(fleet.eng_a)
    job_id = job_id_of(client.get("/equipment/export.xlsx"))
    fleet.eng_a.active = False
    db.session.commit()
    run_worker(runner)
    job = the_job(job_id)
    assert job.status == JobStatus.FAILED and job.error_code == ErrorCode.REFUSED
    assert "больше не активна" in job.error_message and job.result_path is None
    assert not (queue.results_root() / str(job_id) / "1").exists()  # nothing half-written


# ---------------------------------------------------------------------------- who sees it


def test_another_user_gets_404_for_the_page_the_api_and_the_file(
    app, client, runner, fleet, small_sync_limit, login_as, make
):
    login_as(fleet.eng_a)
    job_id = job_id_of(client.get("/equipment/export.xlsx"))
    run_worker(runner)
    assert client.get(f"/jobs/{job_id}/file").status_code == 200
    client.post("/logout")
    for user in (fleet.eng_b, fleet.national, fleet.reg_pav):
        other = app.test_client()
        assert login(other, user).status_code == 302
        for url in (f"/jobs/{job_id}", f"/jobs/{job_id}/file"):
            assert other.get(url).status_code == 404, (user.email, url)
        assert f"/jobs/{job_id}" not in other.get("/jobs").get_data(as_text=True)
        auth = {"Authorization": f"Bearer {make.token(user)}"}
        for url in (f"/api/v1/jobs/{job_id}", f"/api/v1/jobs/{job_id}/file"):
            assert other.get(url, headers=auth).status_code == 404, (user.email, url)
        assert other.get("/api/v1/jobs", headers=auth).get_json() == []
    # an administrator may look into it
    admin = app.test_client()
    login(admin, fleet.admin)
    assert admin.get(f"/jobs/{job_id}/file").status_code == 200
    auth = {"Authorization": f"Bearer {make.token(fleet.admin)}"}
    assert admin.get(f"/api/v1/jobs/{job_id}", headers=auth).get_json()["status"] == "done"
    # and anonymous users are sent to log in, or 401 on the API
    anonymous = app.test_client()
    assert anonymous.get(f"/jobs/{job_id}").status_code == 302
    assert anonymous.get(f"/jobs/{job_id}/file").status_code == 302
    assert anonymous.get(f"/api/v1/jobs/{job_id}").status_code == 401


def test_the_api_export_answers_202_with_the_job(client, runner, fleet, make):
    auth = {"Authorization": f"Bearer {make.token(fleet.eng_a)}"}
    response = client.post("/api/v1/equipment/exports?flag=must_plan", headers=auth)
    assert response.status_code == 202, response.get_data(as_text=True)
    doc = response.get_json()
    assert response.headers["Location"].endswith(doc["url"]) and doc["status"] == "queued"
    assert doc["file"] is None and doc["page"] == f"/jobs/{doc['id']}"
    run_worker(runner)
    doc = client.get(doc["url"], headers=auth).get_json()
    assert doc["status"] == "done" and doc["progress"] == {"done": 2, "total": 2, "percent": 100}
    file = client.get(doc["file"]["url"], headers=auth)
    assert file.status_code == 200 and file.mimetype == XLSX
    assert file.headers["Cache-Control"] == "no-store"
    assert hashlib.sha256(file.get_data()).hexdigest() == doc["file"]["sha256"]
    assert sorted(r[0] for r in rows_of(file.get_data())) == ["A-INV-1", "A-INV-2"]
    listed = client.get("/api/v1/jobs", headers=auth).get_json()
    assert [j["id"] for j in listed] == [doc["id"]]


def test_the_api_export_names_a_bad_filter(client, fleet, make):
    auth = {"Authorization": f"Bearer {make.token(fleet.eng_a)}"}
    response = client.post("/api/v1/equipment/exports?band=purple", headers=auth)
    assert response.status_code == 422
    assert "band" in response.get_json()["errors"]["json"]
    assert db.session.query(Job).count() == 0


# ---------------------------------------------------------------------------- worker died


def _claimed_by_a_dead_worker(job_id: int, attempts: int = 1) -> None:
    """The job as a worker left it that was killed mid-job: running, heartbeat long ago."""
    db.session.execute(
        update(Job)
        .where(Job.id == job_id)
        .values(
            status=JobStatus.RUNNING,
            attempts=attempts,
            worker="dead:1",
            started_at=utcnow() - timedelta(hours=1),
            heartbeat_at=utcnow() - timedelta(hours=1),
            progress_done=1,
            progress_total=3,
        )
    )
    db.session.commit()


def test_a_job_whose_worker_died_is_run_again(client, runner, fleet, small_sync_limit, login_as):
    login_as(fleet.eng_a)
    job_id = job_id_of(client.get("/equipment/export.xlsx"))
    _claimed_by_a_dead_worker(job_id)
    stale_context = queue.JobContext(db.engine, the_job(job_id), queue.results_root())
    run_worker(runner)
    job = the_job(job_id)
    assert job.status == JobStatus.DONE and job.attempts == 2 and job.worker != "dead:1"
    assert len(rows_of(client.get(f"/jobs/{job_id}/file").get_data())) == 3
    # had the old worker only stalled, its next report finds the job is no longer its own
    with pytest.raises(queue.JobCancelled):
        stale_context.progress(2, 3, force=True)
    assert the_job(job_id).progress_done == 3


def test_a_job_whose_worker_keeps_dying_fails_with_a_message(
    client, runner, fleet, small_sync_limit, login_as, app
):
    login_as(fleet.eng_a)
    job_id = job_id_of(client.get("/equipment/export.xlsx"))
    _claimed_by_a_dead_worker(job_id, attempts=app.config["JOB_MAX_ATTEMPTS"])
    run_worker(runner)
    job = the_job(job_id)
    assert job.status == JobStatus.FAILED and job.error_code == ErrorCode.WORKER_LOST
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "Ошибка" in page and "остановился 3 раз" in page


def test_a_running_job_with_a_fresh_heartbeat_is_left_alone(
    client, runner, fleet, small_sync_limit, login_as
):
    login_as(fleet.eng_a)
    job_id = job_id_of(client.get("/equipment/export.xlsx"))
    _claimed_by_a_dead_worker(job_id)
    db.session.execute(update(Job).where(Job.id == job_id).values(heartbeat_at=utcnow()))
    db.session.commit()
    assert "0 job(s) run" in run_worker(runner)
    assert the_job(job_id).status == JobStatus.RUNNING and the_job(job_id).attempts == 1


# ---------------------------------------------------------------------------- failures


@pytest.fixture
def failing_kinds(app):
    def boom(job, context):
        context.progress(1, 10, force=True)
        (context.directory / "half.xlsx").write_bytes(b"half")
        raise RuntimeError("secret internal detail")

    def refused(job, context):
        raise JobRefused("Фильтр больше не подходит: уточните его.")

    register_kind(app, "test.boom", boom, "Boom")
    register_kind(app, "test.refused", refused, "Refused")


def test_a_failing_job_shows_a_message_and_logs_the_traceback(
    app, client, runner, world, login_as, failing_kinds, caplog, make
):
    job = queue.enqueue(db.session, "test.boom", {}, world.eng_a, "ru")
    db.session.commit()
    with caplog.at_level("ERROR"):
        run_worker(runner)
    job = the_job(job.id)
    assert job.status == JobStatus.FAILED and job.error_code == ErrorCode.UNEXPECTED
    assert "Traceback" in job.error_detail and "secret internal detail" in job.error_detail
    assert any("secret internal detail" in (r.exc_text or "") for r in caplog.records)
    assert not (queue.results_root() / str(job.id) / "1").exists()  # the half file is gone
    login_as(world.eng_a)
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "Ошибка" in page and "Что-то пошло не так" in page
    assert "secret internal detail" not in page and "Traceback" not in page
    auth = {"Authorization": f"Bearer {make.token(world.eng_a)}"}
    doc = client.get(f"/api/v1/jobs/{job.id}", headers=auth).get_json()
    assert doc["status"] == "failed" and "Что-то пошло не так" in doc["error"]
    assert "secret" not in str(doc)


def test_a_refused_job_shows_the_handlers_message(client, runner, world, login_as, failing_kinds):
    job = queue.enqueue(db.session, "test.refused", {}, world.eng_a, "ru")
    db.session.commit()
    run_worker(runner)
    login_as(world.eng_a)
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "Фильтр больше не подходит: уточните его." in page
    assert the_job(job.id).error_detail is None


def test_a_cancelled_job_is_not_run(client, runner, fleet, small_sync_limit, login_as):
    login_as(fleet.eng_a)
    job_id = job_id_of(client.get("/equipment/export.xlsx"))
    assert queue.cancel(db.session, the_job(job_id))
    db.session.commit()
    assert the_job(job_id).status == JobStatus.CANCELLED
    assert "0 job(s) run" in run_worker(runner)
    assert "Отменено" in client.get(f"/jobs/{job_id}").get_data(as_text=True)


# ---------------------------------------------------------------------------- retention


def test_old_files_are_deleted_and_the_job_expires(
    app, client, runner, fleet, small_sync_limit, login_as
):
    login_as(fleet.eng_a)
    job_id = job_id_of(client.get("/equipment/export.xlsx"))
    run_worker(runner)
    path = queue.results_root() / the_job(job_id).result_path
    assert path.is_file()
    days = app.config["JOB_RESULT_DAYS"]
    db.session.execute(
        update(Job)
        .where(Job.id == job_id)
        .values(finished_at=utcnow() - timedelta(days=days, hours=1))
    )
    db.session.commit()
    run_worker(runner)
    assert not path.exists() and not (queue.results_root() / str(job_id)).exists()
    assert the_job(job_id).status == JobStatus.EXPIRED
    assert client.get(f"/jobs/{job_id}/file").status_code == 404
    assert "Файл удалён" in client.get(f"/jobs/{job_id}").get_data(as_text=True)


def test_a_recent_file_is_kept(app, client, runner, fleet, small_sync_limit, login_as):
    login_as(fleet.eng_a)
    job_id = job_id_of(client.get("/equipment/export.xlsx"))
    run_worker(runner)
    db.session.execute(
        update(Job)
        .where(Job.id == job_id)
        .values(finished_at=utcnow() - timedelta(days=app.config["JOB_RESULT_DAYS"] - 1))
    )
    db.session.commit()
    run_worker(runner)
    assert the_job(job_id).status == JobStatus.DONE
    assert client.get(f"/jobs/{job_id}/file").status_code == 200


# ---------------------------------------------------------------------------- two workers


def test_two_workers_racing_for_one_job_run_it_once(app, world, make):
    """On PostgreSQL the claim's FOR UPDATE SKIP LOCKED, on SQLite its conditional UPDATE
    (one writer at a time): two real threads, each with its own connection."""
    ran: list[int] = []
    started = threading.Barrier(2)

    def counted(job, context):
        ran.append(job.id)
        context.progress(1, 1, force=True)

    register_kind(app, "test.counted", counted, "Counted")
    job = queue.enqueue(db.session, "test.counted", {}, world.eng_a, "ru")
    db.session.commit()
    claims: dict[str, object] = {}

    def claim(name: str) -> None:
        with app.app_context(), Session(db.engine) as session:
            started.wait(10)
            claims[name] = queue.claim_next(session, name)

    threads = [threading.Thread(target=claim, args=(n,)) for n in ("w1", "w2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert sorted(claims.values(), key=str) == sorted([(job.id, 1), None], key=str), claims
    winner = next(name for name, got in claims.items() if got)
    db.session.expire_all()
    assert the_job(job.id).worker == winner and the_job(job.id).status == JobStatus.RUNNING

    # whole workers racing over several queued jobs: each job runs exactly once
    db.session.execute(text("DELETE FROM jobs"))
    db.session.commit()
    jobs = [queue.enqueue(db.session, "test.counted", {"n": n}, world.eng_a) for n in range(6)]
    db.session.commit()
    ran.clear()
    barrier = threading.Barrier(2)

    def worker(name: str) -> None:
        with app.app_context():
            barrier.wait(10)
            run_queued(app, name)

    threads = [threading.Thread(target=worker, args=(n,)) for n in ("w1", "w2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(ran) == sorted(j.id for j in jobs)
    db.session.expire_all()
    assert {the_job(j.id).status for j in jobs} == {JobStatus.DONE}


def test_a_stopped_worker_gives_its_job_back_at_once(app, world):
    def interrupted(job, context):
        context.progress(1, 2, force=True)
        raise KeyboardInterrupt  # what SIGTERM (flask worker's handler) and Ctrl-C raise

    register_kind(app, "test.interrupted", interrupted, "Interrupted")
    job = queue.enqueue(db.session, "test.interrupted", {}, world.eng_a)
    db.session.commit()
    with app.app_context(), pytest.raises(KeyboardInterrupt):
        run_queued(app)
    db.session.expire_all()
    job = the_job(job.id)
    assert job.status == JobStatus.QUEUED and job.attempts == 0 and job.worker is None
    assert not (queue.results_root() / str(job.id) / "1").exists()


def test_an_english_users_job_speaks_english_and_so_does_its_file(
    client, runner, fleet, small_sync_limit, login_as
):
    login_as(fleet.eng_a)
    job_id = job_id_of(client.get("/equipment/export.xlsx?lang=en"))
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "Registry export (.xlsx)" in page and "Queued" in page
    run_worker(runner)
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "Ready" in page and "3 of 3 rows" in page
    body = client.get(f"/jobs/{job_id}/file").get_data()
    sheet = load_workbook(io.BytesIO(body)).worksheets[0]
    assert sheet.title == "Equipment"
    assert sheet[f"A{EXPORT_HEADER_ROW}"].value == "Inventory number"
    assert sheet["A1"].value.startswith("Registry of technical devices")  # the title row
