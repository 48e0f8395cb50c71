"""Benchmark of the Excel import: bare read, preview and commit, first load and re-load.

    .venv/bin/python bench/import_xlsx.py [--sizes 10000 100000] [--db sqlite postgres] [--runs 3]

Generates asset lists shaped like the clean Russian sample (14 columns), then, on each database,
measures in a fresh subprocess per measurement (so peak memory is that phase's own):
  read      parse_asset_list only (no database)
  preview   build the plan against the registry and store the batch (dry run)
  commit    apply the previewed batch (one transaction)
for a first load into an empty registry and a re-load of the same list with 10 % of the rows
changed. Before each phase the database's log is checkpointed (``settle``), so no phase pays
for the writes of the one before it. Prints median seconds and peak RSS (MB) per phase;
writes bench/out/import-<db>.json.
Targets: 100,000 rows previewed < 5 s, committed < 8 s, peak memory < 400 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.memory import peak_rss_mb  # noqa: E402

OUT = ROOT / "bench" / "out"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_import"
BIN = "040540526019"
HEADERS = [
    "Инвентарный номер",
    "Наименование технического устройства",
    "Тип устройства",
    "Марка (модель)",
    "Заводской номер",
    "Регистрационный номер",
    "Изготовитель",
    "Год изготовления",
    "Дата ввода в эксплуатацию",
    "Нормативный срок службы, лет",
    "Физический износ, %",
    "Дата последнего технического освидетельствования",
    "Дата следующего технического освидетельствования",
    "Код ОПО",
]
TYPES = [
    "Котёл паровой",
    "Сосуд, работающий под давлением",
    "Кран мостовой",
    "Лифт",
    "Технологический трубопровод",
    "Резервуар",
    "Газовое оборудование",
]


def make_file(path: Path, rows: int, changed_share: float = 0.0, seed: int = 1) -> None:
    import xlsxwriter

    rng = random.Random(seed)
    change = random.Random(seed + 99)
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = wb.add_worksheet("Реестр ТУ")
    datefmt = wb.add_format({"num_format": "dd.mm.yyyy"})
    for col, title in enumerate(HEADERS):
        ws.write_string(0, col, title)
    for i in range(rows):
        year = rng.randint(1970, 2020)
        commissioned = date(year, 1, 1) + timedelta(days=rng.randint(0, 360))
        last = date(2022, 1, 1) + timedelta(days=rng.randint(0, 1000))
        wear = round(rng.uniform(5, 95), 1)
        name = f"Устройство {i}"
        if change.random() < changed_share:
            wear = round(min(100.0, wear + 3.3), 1)
            name += " (изм.)"
        r = i + 1
        ws.write_string(r, 0, f"ИН-{i:07d}")
        ws.write_string(r, 1, name)
        ws.write_string(r, 2, rng.choice(TYPES))
        ws.write_string(r, 3, f"М-{rng.randint(100, 999)}")
        ws.write_string(r, 4, str(rng.randint(1000, 99999)))
        ws.write_string(r, 5, f"{rng.randint(10, 9999)}-К")
        ws.write_string(r, 6, "Бийский котельный завод")
        ws.write_number(r, 7, year)
        ws.write_datetime(r, 8, commissioned, datefmt)
        ws.write_number(r, 9, rng.choice([10, 20, 25, 30]))
        ws.write_number(r, 10, wear)
        ws.write_datetime(r, 11, last, datefmt)
        ws.write_datetime(r, 12, last.replace(year=last.year + 4), datefmt)
        ws.write_string(r, 13, f"OPO-0{rng.randint(1, 5)}")
    wb.close()


# ---------------------------------------------------------------------------- one phase


def _app(url: str, instance: str):
    os.environ["OPO_INSTANCE_PATH"] = instance
    from core.factory import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})


def phase(name: str, url: str, file: str, instance: str) -> dict:
    """Run one phase in this (fresh) process; report seconds and peak RSS."""
    data = Path(file).read_bytes()
    if name == "read":
        import equipment.models  # noqa: F401 - loaded in a running server; the reader needs it
        from equipment.imports.excel import parse_asset_list

        started, cpu_started = time.perf_counter(), time.process_time()
        result = parse_asset_list(data, Path(file).name)
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        extra = {"rows": len(result.rows), "errors": len(result.errors)}
    else:
        app = _app(url, instance)
        from accounts.models import Organization
        from core.extensions import db
        from equipment.imports.batches import commit_batch, preview_batch
        from equipment.imports.models import ImportBatch
        from equipment.imports.planner import ImportOptions

        with app.app_context():
            org = db.session.query(Organization).filter_by(bin=BIN).one()
            if name == "preview":
                started, cpu_started = time.perf_counter(), time.process_time()
                batch, plan = preview_batch(
                    db.session, None, org, data, Path(file).name, ImportOptions()
                )
                db.session.commit()
                seconds = time.perf_counter() - started
                cpu = time.process_time() - cpu_started
                extra = {"batch": batch.id, **plan.counts()}
            else:  # commit the newest previewed batch
                batch = (
                    db.session.query(ImportBatch)
                    .filter_by(status="previewed")
                    .order_by(ImportBatch.id.desc())
                    .first()
                )
                started, cpu_started = time.perf_counter(), time.process_time()
                counts = commit_batch(
                    db.session, None, batch, ImportOptions(), app.config["WEAR_THRESHOLDS"]
                )
                db.session.commit()
                seconds = time.perf_counter() - started
                cpu = time.process_time() - cpu_started
                extra = counts
    peak_mb = peak_rss_mb()
    return {"seconds": seconds, "cpu_s": cpu, "peak_mb": peak_mb, **extra}


# ---------------------------------------------------------------------------- orchestration


def settle(url: str) -> None:
    """Write out what earlier phases left in the database's log before the next phase, so a
    phase does not pay for the checkpoint of the one before it (PostgreSQL: CHECKPOINT;
    SQLite: the WAL folded into the database file)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("CHECKPOINT"))
        else:
            conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    engine.dispose()


def run_phase(name: str, url: str, file: Path, instance: str) -> dict:
    settle(url)
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--phase",
            name,
            "--url",
            url,
            "--file",
            str(file),
            "--instance",
            instance,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"phase {name} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def fresh_database(kind: str, workdir: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{workdir / 'bench.sqlite3'}"
    from sqlalchemy import create_engine, text

    admin = create_engine(
        "postgresql+psycopg://postgres@127.0.0.1:5432/postgres", isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS bench_import WITH (FORCE)"))
        conn.execute(text("CREATE DATABASE bench_import"))
    admin.dispose()
    return PG_URL


def prepare(url: str, instance: str) -> None:
    app = _app(url, instance)
    from flask_migrate import upgrade

    from core.extensions import db
    from equipment.demo import seed_demo

    with app.app_context():
        upgrade()
        seed_demo(db.session, items=0)
        db.session.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument(
        "--db", nargs="+", default=["sqlite", "postgres"], choices=["sqlite", "postgres"]
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--phase")
    parser.add_argument("--url")
    parser.add_argument("--file")
    parser.add_argument("--instance")
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(phase(args.phase, args.url, args.file, args.instance), default=str))
        return
    OUT.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench-import-"))
    files = {}
    for size in args.sizes:
        first, again = work / f"list-{size}.xlsx", work / f"list-{size}-changed.xlsx"
        started = time.perf_counter()
        make_file(first, size)
        make_file(again, size, changed_share=0.10)
        files[size] = (first, again)
        print(
            f"generated {size:,} rows in {time.perf_counter() - started:.1f} s "
            f"({first.stat().st_size / 1e6:.1f} MB)",
            flush=True,
        )
    # CPU s: this process's own (all of SQLite's work, not PostgreSQL's server): steadier than
    # the wall clock on a shared machine
    print(
        f"{'db':8} {'rows':>8} {'load':7} {'phase':8} {'median s':>9} {'CPU s':>7} {'peak MB':>8}"
    )
    for kind in args.db:
        results = []
        for size, (first, again) in files.items():
            samples: dict[tuple[str, str], list[dict]] = {}
            for _run in range(args.runs):
                url = fresh_database(kind, work)
                if kind == "sqlite":
                    Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
                prepare(url, str(work))
                samples.setdefault(("-", "read"), []).append(
                    run_phase("read", url, first, str(work))
                )
                for load, file in (("first", first), ("reload", again)):
                    for name in ("preview", "commit"):
                        samples.setdefault((load, name), []).append(
                            run_phase(name, url, file, str(work))
                        )
            for (load, name), runs in samples.items():
                row = {
                    "db": kind,
                    "rows": size,
                    "load": load,
                    "phase": name,
                    "median_s": round(statistics.median(r["seconds"] for r in runs), 3),
                    "median_cpu_s": round(statistics.median(r["cpu_s"] for r in runs), 3),
                    "peak_mb": round(max(r["peak_mb"] for r in runs), 1),
                    "counts": {
                        k: v
                        for k, v in runs[-1].items()
                        if k not in ("seconds", "cpu_s", "peak_mb")
                    },
                }
                results.append(row)
                print(
                    f"{kind:8} {size:>8,} {load:7} {name:8} {row['median_s']:>9.2f} "
                    f"{row['median_cpu_s']:>7.2f} {row['peak_mb']:>8.0f}",
                    flush=True,
                )
        (OUT / f"import-{kind}.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
