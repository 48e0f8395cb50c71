"""Benchmark of the equipment list (HTML page and API) on a large demo registry.

Not a test: it prints figures. For each database it creates a fresh schema, seeds ``--items``
demo items with ``equipment.demo.seed_demo``, runs ANALYZE, then times requests through the
Flask test client for three roles (admin: everything; engineer: one organization; regional
regulator: one region) and the typical list cases (sorts, flags, band, type, facility, search,
a deep page). Results go to stdout and to ``bench/out/registry-<db>.json`` (git-ignored).

    python bench/registry.py [--items 200000] [--db sqlite|postgres|both] [--runs 30]
    python bench/registry.py --items 50000 --db postgres --explain   # + query plans

Target: p95 under 150 ms per request on either database.

Timing is wall time of ``client.get`` (routing, auth, SQL, rendering/serialisation); "sql"
is the median time spent inside the DB driver's execute() for the same requests (for SQLite
the rows of the page are fetched after execute(), which is cheap here); "cpu" is the mean CPU
time per request of this process plus its PostgreSQL backend (parallel workers not counted),
i.e. roughly what the request costs on an otherwise idle machine. The load average is
recorded with the figures: on a shared 2-core machine, other work inflates the wall times.

``--reuse`` keeps the seeded data between runs (the SQLite file in bench/out, the PostgreSQL
database not reset) and only rebuilds the equipment indexes from the model: handy while
trying indexes. Without it every run starts from an empty database.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import MetaData, create_engine, event, func, inspect, select, text  # noqa: E402
from sqlalchemy.engine import Engine, make_url  # noqa: E402

from accounts.models import User  # noqa: E402
from accounts.services import issue_token  # noqa: E402
from core.extensions import db  # noqa: E402
from core.factory import create_app  # noqa: E402
from equipment.demo import DEMO_PASSWORD, seed_demo  # noqa: E402
from equipment.models import Equipment, Facility  # noqa: E402

OUT_DIR = ROOT / "bench" / "out"
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_registry"
ROLES = (
    ("admin", "admin@demo.kz"),
    ("engineer", "engineer@demo.kz"),
    ("regulator", "regulator@demo.kz"),
)
# The facility case uses the first facility (by code) of the engineer's organization, which
# all three roles can see, so the roles are compared on the same filter.
CASES = (
    ("default", {}),
    ("sort -wear", {"sort": "-wear"}),
    ("must_plan -wear", {"flag": "must_plan", "sort": "-wear"}),
    ("flag critical", {"flag": "critical"}),
    ("band dilapidated", {"band": "dilapidated"}),
    ("type crane", {"device_type": "crane"}),
    ("facility", {"facility_id": "<facility>"}),
    ("q котел", {"q": "котел"}),
    ("page 50", {"page": "50"}),
    ("sort wear", {"sort": "wear"}),
    ("sort type", {"sort": "device_type"}),
    ("sort facility", {"sort": "facility"}),
    ("sort status", {"sort": "status"}),
)
WARMUP = 2
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------------------- SQL timing


class SqlClock:
    """Time spent inside cursor.execute for all statements of the current request."""

    def __init__(self):
        self.total = 0.0
        self.capture: list[tuple[str, object]] | None = None

        self.backend_pids: set[int] = set()

    def install(self, engine: Engine) -> None:
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)
        event.listen(engine, "checkout", self._checkout)

    def _checkout(self, dbapi_connection, connection_record, connection_proxy):
        pid = getattr(getattr(dbapi_connection, "info", None), "backend_pid", None)
        if pid:
            self.backend_pids.add(pid)

    def cpu_seconds(self) -> float:
        """CPU used so far by this process and by its PostgreSQL backends (not by parallel
        workers, which come and go): wall time less the waiting for other programs."""
        total = time.process_time()
        for pid in self.backend_pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        return total

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        conn.info.setdefault("bench_t0", []).append(time.perf_counter())
        if self.capture is not None:
            self.capture.append((statement, parameters))

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        self.total += time.perf_counter() - conn.info["bench_t0"].pop()


# ---------------------------------------------------------------------------- databases


def prepare_postgres(url: str, reuse: bool) -> None:
    """Create the database if missing; reset its public schema unless reusing it."""
    target = make_url(url)
    server = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        exists = conn.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database}
        )
        if not exists:
            conn.execute(text(f"CREATE DATABASE \"{target.database}\" ENCODING 'UTF8'"))
    server.dispose()
    if reuse:
        return
    engine = create_engine(target, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def reset_schema(engine: Engine) -> None:
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    else:
        existing = MetaData()
        existing.reflect(engine)
        existing.drop_all(engine)


def rebuild_equipment_indexes(engine: Engine) -> None:
    """Make the indexes of ``equipment`` exactly those of the model (for --reuse/--migrations).

    Drops every plain index of the table (not the ones behind constraints) and creates the
    model's ``__table_args__`` indexes, so an edited index is never silently left as it was.
    """
    with engine.begin() as conn:
        for ix in inspect(conn).get_indexes("equipment"):
            if ix.get("duplicates_constraint") or ix["name"].startswith("sqlite_autoindex"):
                continue
            conn.execute(text(f'DROP INDEX "{ix["name"]}"'))
        for ix in Equipment.__table__.indexes:
            ix.create(conn)


def analyze(engine: Engine) -> None:
    if engine.dialect.name == "postgresql":
        # VACUUM as well: after a bulk load autovacuum would do it within a minute anyway, and
        # it sets the visibility map that index-only scans rely on (steady state, not a fresh
        # load). Plain ANALYZE alone would under-state what the indexes give in production.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM (ANALYZE)"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
        with engine.connect() as conn:
            conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))


def build_database(app, items: int, use_migrations: bool, reuse: bool) -> dict:
    """Schema, demo data, ANALYZE. Returns timings (seconds)."""
    info: dict = {}
    with app.app_context():
        engine = db.engine
        have = 0
        if reuse and inspect(engine).has_table("equipment"):
            have = db.session.scalar(select(func.count()).select_from(Equipment))
            db.session.rollback()
        if reuse and have == items:
            t0 = time.perf_counter()
            rebuild_equipment_indexes(engine)
            info["index_rebuild_s"] = round(time.perf_counter() - t0, 2)
            info["reused"] = True
        else:
            if reuse and have:
                print(f"   --reuse: the database holds {have} items, not {items}: rebuilding")
                reset_schema(engine)
            t0 = time.perf_counter()
            if use_migrations:
                from flask_migrate import upgrade

                upgrade()
                # The migration may lag behind the model's indexes (the lead developer
                # regenerates it from the model): make them match the model.
                rebuild_equipment_indexes(engine)
            else:
                # The schema straight from the models rather than flask_migrate.upgrade():
                # the index changes being measured live in Equipment.__table_args__ and the
                # migration is regenerated from the models later. --migrations runs the real
                # migrations and then aligns the equipment indexes with the model.
                db.create_all()
            info["schema_s"] = round(time.perf_counter() - t0, 2)
            t0 = time.perf_counter()
            summary = seed_demo(db.session, items=items)
            db.session.commit()
            info["seed_s"] = round(time.perf_counter() - t0, 2)
            info["summary"] = summary.__dict__
        t0 = time.perf_counter()
        analyze(engine)
        info["analyze_s"] = round(time.perf_counter() - t0, 2)
    return info


# ---------------------------------------------------------------------------- measuring


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def login(client, email: str) -> None:
    response = client.post("/login", data={"email": email, "password": DEMO_PASSWORD})
    if response.status_code != 302:
        raise SystemExit(f"login as {email} failed: {response.status_code}")


def role_tokens(app) -> dict[str, str]:
    with app.app_context():
        tokens = {}
        for role, email in ROLES:
            user = db.session.execute(select(User).where(User.email == email)).scalar_one()
            tokens[role] = issue_token(db.session, user, "bench")[1]
        db.session.commit()
        return tokens


def bench_facility_id(app) -> int:
    with app.app_context():
        engineer = db.session.execute(
            select(User).where(User.email == "engineer@demo.kz")
        ).scalar_one()
        return db.session.execute(
            select(Facility.id)
            .where(Facility.organization_id == engineer.organization_id)
            .order_by(Facility.code)
            .limit(1)
        ).scalar_one()


def case_args(args: dict, facility_id: int) -> dict:
    return {k: (str(facility_id) if v == "<facility>" else v) for k, v in args.items()}


def time_requests(client, url: str, headers: dict, runs: int, clock: SqlClock):
    walls, sqls, last = [], [], None
    cpu0 = 0.0
    for i in range(WARMUP + runs):
        if i == WARMUP:
            cpu0 = clock.cpu_seconds()
        clock.total = 0.0
        t0 = time.perf_counter()
        response = client.get(url, headers=headers)
        wall = time.perf_counter() - t0
        if response.status_code != 200:
            raise SystemExit(f"GET {url} -> {response.status_code}")
        if i >= WARMUP:
            walls.append(wall * 1000)
            sqls.append(clock.total * 1000)
        last = response
    cpu_mean_ms = (clock.cpu_seconds() - cpu0) * 1000 / runs
    return walls, sqls, cpu_mean_ms, last


def run_cases(app, args, clock: SqlClock, dbname: str) -> list[dict]:
    tokens = role_tokens(app)
    facility_id = bench_facility_id(app)
    results = []
    for role, email in ROLES:
        if args.roles and role not in args.roles:
            continue
        client = app.test_client()
        login(client, email)
        auth = {"Authorization": f"Bearer {tokens[role]}"}
        for name, raw in CASES:
            if args.cases and name not in args.cases:
                continue
            query = urlencode(case_args(raw, facility_id))
            suffix = f"?{query}" if query else ""
            total = None
            for kind, url, headers in (
                ("page", f"/equipment{suffix}", {}),
                ("api", f"/api/v1/equipment{suffix}", auth),
            ):
                walls, sqls, cpu, response = time_requests(client, url, headers, args.runs, clock)
                if kind == "api":
                    total = response.get_json()["total"]
                results.append(
                    {
                        "db": dbname,
                        "role": role,
                        "case": name,
                        "kind": kind,
                        "url": url,
                        "median_ms": round(statistics.median(walls), 1),
                        "p95_ms": round(percentile(walls, 95), 1),
                        "sql_median_ms": round(statistics.median(sqls), 1),
                        "cpu_mean_ms": round(cpu, 1),
                        "runs": args.runs,
                    }
                )
            for row in results[-2:]:
                row["total"] = total
            for row in results[-2:]:
                print_row(row)
    return results


# ---------------------------------------------------------------------------- EXPLAIN


def explain_cases(app, args, clock: SqlClock, dbname: str) -> str:
    """EXPLAIN the equipment statements the API actually runs for each role and case."""
    tokens = role_tokens(app)
    facility_id = bench_facility_id(app)
    client = app.test_client()
    prefix = (
        "EXPLAIN (ANALYZE, BUFFERS, TIMING OFF) " if dbname == "postgres" else "EXPLAIN QUERY PLAN "
    )
    out = []
    for role, _email in ROLES:
        if args.roles and role not in args.roles:
            continue
        for name, raw in CASES:
            if args.cases and name not in args.cases:
                continue
            query = urlencode(case_args(raw, facility_id))
            clock.capture = []
            client.get(
                f"/api/v1/equipment?{query}",
                headers={"Authorization": f"Bearer {tokens[role]}"},
            )
            captured, clock.capture = clock.capture, None
            for statement, params in captured:
                if "FROM equipment" not in statement:
                    continue
                with app.app_context(), db.engine.connect() as conn:
                    t0 = time.perf_counter()
                    rows = conn.exec_driver_sql(prefix + statement, params).all()
                    took = (time.perf_counter() - t0) * 1000
                    if dbname != "postgres":  # EXPLAIN QUERY PLAN does not run it
                        t0 = time.perf_counter()
                        conn.exec_driver_sql(statement, params).all()
                        took = (time.perf_counter() - t0) * 1000
                if dbname == "postgres":
                    plan = "\n".join(r[0] for r in rows)
                else:
                    plan = "\n".join(f"{'  ' * (r[1] > 0)}{r[-1]}" for r in rows)
                kind = "count" if statement.lstrip().upper().startswith("SELECT COUNT") else "page"
                out.append(
                    f"=== {dbname} / {role} / {name} / {kind} ({took:.1f} ms)\n"
                    f"{statement}\n-- params: {params}\n{plan}\n"
                )
    return "\n".join(out)


# ---------------------------------------------------------------------------- output

HEADER = (
    f"{'db':<9}{'role':<11}{'case':<18}{'kind':<6}{'median ms':>10}{'p95 ms':>9}"
    f"{'sql ms':>8}{'cpu ms':>8}{'rows':>9}"
)


def print_row(row: dict) -> None:
    flag = "  > 150" if row["p95_ms"] > 150 else ""
    print(
        f"{row['db']:<9}{row['role']:<11}{row['case']:<18}{row['kind']:<6}"
        f"{row['median_ms']:>10.1f}{row['p95_ms']:>9.1f}{row['sql_median_ms']:>8.1f}"
        f"{row['cpu_mean_ms']:>8.1f}"
        f"{row['total'] if row['total'] is not None else '':>9}{flag}",
        flush=True,
    )


@contextmanager
def database(dbname: str, args):
    """Yields the URL of a database for the run; removes the SQLite temp dir afterwards."""
    if dbname == "postgres":
        prepare_postgres(args.pg_url, args.reuse)
        yield args.pg_url
        return
    if args.reuse:
        OUT_DIR.mkdir(parents=True, exist_ok=True)
        yield f"sqlite:///{OUT_DIR / f'registry-{args.items}.sqlite3'}"
        return
    tmp = tempfile.mkdtemp(prefix="bench-registry-")
    try:
        yield f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def bench_one(dbname: str, args) -> dict:
    with database(dbname, args) as url:
        app = create_app(
            {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False}
        )
        print(f"\n## {dbname}: {make_url(url).render_as_string(hide_password=True)}", flush=True)
        info = build_database(app, args.items, args.migrations, args.reuse)
        print(f"   build: {json.dumps(info, ensure_ascii=False)}", flush=True)
        clock = SqlClock()
        with app.app_context():
            clock.install(db.engine)
            indexes = sorted(
                f"{ix['name']}({', '.join(str(c) for c in ix['column_names'])})"
                for ix in inspect(db.engine).get_indexes("equipment")
            )
        report = {
            "command": " ".join(["python", "bench/registry.py", *sys.argv[1:]]),
            "label": args.label,
            "db": dbname,
            "items": args.items,
            "runs": args.runs,
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "build": info,
            "equipment_indexes": indexes,
        }
        if args.explain:
            plans = explain_cases(app, args, clock, dbname)
            OUT_DIR.mkdir(parents=True, exist_ok=True)
            path = OUT_DIR / f"explain-{dbname}{'-' + args.label if args.label else ''}.txt"
            path.write_text(plans)
            print(f"   plans: {path}")
        print(HEADER, flush=True)
        load_before = os.getloadavg()
        t0 = time.perf_counter()
        report["results"] = run_cases(app, args, clock, dbname)
        report["measure_s"] = round(time.perf_counter() - t0, 1)
        # Other work on the machine inflates wall times: keep the load next to the figures.
        report["loadavg_1m"] = {"before": load_before[0], "after": os.getloadavg()[0]}
        print(
            f"   measured in {report['measure_s']} s; load average (1 min) "
            f"{load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after ({os.cpu_count()} CPUs)"
        )
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL)
    parser.add_argument(
        "--migrations",
        action="store_true",
        help="build the schema with flask_migrate.upgrade() (then align equipment indexes)",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the data between runs (SQLite file in bench/out, PostgreSQL database "
        "not reset); only the equipment indexes are rebuilt from the model",
    )
    parser.add_argument("--explain", action="store_true", help="write bench/out/explain-<db>.txt")
    parser.add_argument(
        "--label", default="", help="output suffix: 'before' -> registry-<db>-before.json"
    )
    parser.add_argument("--roles", nargs="*", choices=[r for r, _ in ROLES])
    parser.add_argument("--cases", nargs="*", choices=[c for c, _ in CASES])
    args = parser.parse_args(argv)

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    dbs = ("sqlite", "postgres") if args.db == "both" else (args.db,)
    for dbname in dbs:
        report = bench_one(dbname, args)
        slow = [r for r in report["results"] if r["p95_ms"] > 150]
        print(
            f"   {dbname}: {len(report['results'])} measurements, {len(slow)} with p95 > 150 ms; "
            f"seed {report['build'].get('seed_s', '-')} s"
        )
        suffix = f"-{args.label}" if args.label else ""
        path = OUT_DIR / f"registry-{dbname}{suffix}.json"
        path.write_text(json.dumps(report, ensure_ascii=False, indent=2))
        print(f"   written: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
