"""Benchmark of the registry export to .xlsx: time and peak memory of a large export.

    .venv/bin/python bench/export_xlsx.py [--items 100000] [--db sqlite|postgres|both]

Seeds ``--items`` demo items into a fresh database, then, in a fresh process (so the peak
memory is the export's own), has the admin download ``/equipment/export.xlsx`` (every item,
indicators computed for today) through the test client. Prints seconds, peak RSS (MB), rows
and file size. Target: 100,000 rows stream within 400 MB.
"""

from __future__ import annotations

import argparse
import io
import json
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


def _app(url: str, instance: str):
    import os

    os.environ["OPO_INSTANCE_PATH"] = instance
    from core.factory import create_app

    return create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False}
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


def export(url: str, instance: str) -> dict:
    from openpyxl import load_workbook

    from equipment.demo import DEMO_PASSWORD

    app = _app(url, instance)
    client = app.test_client()
    client.post("/login", data={"email": "admin@demo.kz", "password": DEMO_PASSWORD})
    started = time.perf_counter()
    response = client.get("/equipment/export.xlsx")
    body = response.get_data()
    seconds = time.perf_counter() - started
    peak_mb = peak_rss_mb()
    assert response.status_code == 200, response.status_code
    sheet = load_workbook(io.BytesIO(body), read_only=True).worksheets[0]
    return {
        "seconds": round(seconds, 2),
        "peak_mb": round(peak_mb),
        "rows": sheet.max_row - 1,
        "file_mb": round(len(body) / 1e6, 1),
    }


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
    parser.add_argument("--export", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--instance", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.export:
        print(json.dumps(export(args.export, args.instance)))
        return
    work = Path(tempfile.mkdtemp(prefix="bench-export-"))
    for kind in ("sqlite", "postgres") if args.db == "both" else (args.db,):
        url = fresh_database(kind, work)
        seed(url, str(work), args.items)
        out = subprocess.run(
            [sys.executable, __file__, "--export", url, "--instance", str(work)],
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode != 0:
            raise SystemExit(out.stderr[-3000:])
        result = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"{kind:8} export of {result['rows']:,} rows: {result['seconds']} s, "
            f"peak {result['peak_mb']} MB, file {result['file_mb']} MB",
            flush=True,
        )


if __name__ == "__main__":
    main()
