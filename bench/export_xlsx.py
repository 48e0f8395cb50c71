"""Benchmark of the registry export to .xlsx: time and peak memory of a large export.

    .venv/bin/python bench/export_xlsx.py [--items 100000] [--db sqlite|postgres|both]
                                          [--mode sync|job|both]

Seeds ``--items`` demo items into a fresh database, then, in fresh processes (so the peak
memory is each one's own), has the admin download ``/equipment/export.xlsx`` (every item,
indicators computed for today) through the test client:

- ``sync``: in the request, whatever its size (EXPORT_SYNC_MAX_ROWS lifted), as before the
  background jobs: the time a web worker would spend (gunicorn's default timeout is 30 s);
- ``job``: as a background job (as above EXPORT_SYNC_MAX_ROWS): a `flask worker` process
  is started first; then the request that enqueues the job, the page polled until the file
  is ready, and the download: end to end, as a user waits for the file.

Prints seconds, peak RSS (MB), rows and file size. Target: 100,000 rows stream within 400 MB.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.memory import peak_rss_mb  # noqa: E402

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_export"


def _app(url: str, instance: str, **config):
    import os

    os.environ["OPO_INSTANCE_PATH"] = instance
    from core.factory import create_app

    return create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False} | config
    )


def seed(url: str, instance: str, items: int) -> None:
    from flask_migrate import upgrade

    from core.extensions import db
    from equipment.demo import seed_demo

    app = _app(url, instance)
    with app.app_context():
        upgrade()
        seed_demo(db.session, items=items)
        db.session.commit()


def _admin_client(app):
    from equipment.demo import DEMO_PASSWORD

    client = app.test_client()
    client.post("/login", data={"email": "admin@demo.kz", "password": DEMO_PASSWORD})
    return client


def _described(body: bytes, seconds: float, peak_mb: float, **more) -> dict:
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(body), read_only=True).worksheets[0]
    return {
        "seconds": round(seconds, 2),
        "peak_mb": round(peak_mb),
        "rows": sheet.max_row - 1,
        "file_mb": round(len(body) / 1e6, 1),
        **more,
    }


def export(url: str, instance: str) -> dict:
    """The whole export in the request (the synchronous path, whatever the size)."""
    client = _admin_client(_app(url, instance, EXPORT_SYNC_MAX_ROWS=10**9))
    started = time.perf_counter()
    response = client.get("/equipment/export.xlsx")
    body = response.get_data()
    seconds = time.perf_counter() - started
    peak_mb = peak_rss_mb()
    assert response.status_code == 200, response.status_code
    return _described(body, seconds, peak_mb)


def export_as_job(url: str, instance: str) -> dict:
    """Ask (the request enqueues), a running `flask worker` takes it, the page says it is
    ready, download: end to end, as a user waits for the file (as a job whatever the size:
    EXPORT_SYNC_MAX_ROWS=0)."""
    client = _admin_client(_app(url, instance, EXPORT_SYNC_MAX_ROWS=0))
    with running_worker(url, instance) as worker:
        started = time.perf_counter()
        asked = client.get("/equipment/export.xlsx")
        assert asked.status_code == 302 and "/jobs/" in asked.headers["Location"], asked.status_code
        request_s = time.perf_counter() - started
        while "/file" not in client.get(asked.headers["Location"]).get_data(as_text=True):
            assert worker.poll() is None, worker.stderr.read()[-3000:]
            time.sleep(0.5)  # what the page's refresh does, every 2 s
        worker_peak_mb = process_peak_mb(worker.pid)
    download = client.get(asked.headers["Location"] + "/file")
    assert download.status_code == 200, download.status_code
    body = download.get_data()
    seconds = time.perf_counter() - started
    return _described(
        body,
        seconds,
        worker_peak_mb,
        request_s=round(request_s, 2),
        web_peak_mb=round(peak_rss_mb()),
    )


@contextlib.contextmanager
def running_worker(url: str, instance: str):
    """`flask worker` polling every 0.2 s, started and ready before the request."""
    env = os.environ | {"DATABASE_URL": url, "OPO_INSTANCE_PATH": instance, "SECRET_KEY": "bench"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--sleep", "0.2"],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for line in worker.stderr:  # the worker logs one line when it starts polling
            if "polling" in line:
                break
        yield worker
    finally:
        worker.terminate()
        worker.wait(30)


def process_peak_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def _run_self(flag: str, url: str, instance: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, flag, url, "--instance", instance],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def fresh_database(kind: str, work: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{work / 'export.sqlite3'}"
    from sqlalchemy import create_engine, text

    admin = create_engine(
        "postgresql+psycopg://postgres@127.0.0.1:5432/postgres", isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS bench_export WITH (FORCE)"))
        conn.execute(text("CREATE DATABASE bench_export"))
    admin.dispose()
    return PG_URL


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--mode", choices=("sync", "job", "both"), default="both")
    parser.add_argument("--export", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--export-job", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--instance", help=argparse.SUPPRESS)
    args = parser.parse_args()
    for flag, run in (("export", export), ("export_job", export_as_job)):
        if getattr(args, flag):
            print(json.dumps(run(getattr(args, flag), args.instance)))
            return
    folder = Path(tempfile.mkdtemp(prefix="bench-export-"))
    modes = ("sync", "job") if args.mode == "both" else (args.mode,)
    for kind in ("sqlite", "postgres") if args.db == "both" else (args.db,):
        url = fresh_database(kind, folder)
        seed(url, str(folder), args.items)
        for mode in modes:
            result = _run_self("--export" if mode == "sync" else "--export-job", url, str(folder))
            line = (
                f"{kind:8} {mode:4} export of {result['rows']:,} rows: {result['seconds']} s, "
                f"peak {result['peak_mb']} MB, file {result['file_mb']} MB"
            )
            if mode == "job":
                line += (
                    f" (the request {result['request_s']} s; peak of the worker, "
                    f"{result['web_peak_mb']} MB of the web process)"
                )
            print(line, flush=True)


if __name__ == "__main__":
    main()
