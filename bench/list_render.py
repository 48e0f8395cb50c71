"""Benchmark of the equipment list's server time in-process (a benchmark, not a test).

Seeds a database once with ``equipment.demo.seed_demo`` (kept and reused while it holds
``--items``), logs in through Flask's test client as each role and times ``--runs`` requests
of each list case, plus ``/healthz`` as the floor (the app's fixed cost per request: the
session check, the middleware). No HTTP server and no other clients: the figures are the
server's own work, steadier than a load run on a shared machine. Prints per role and case
the mean and p95 in ms, the ratio of the mean to the floor's, this process's CPU per request
(the app's own work: steadier than the wall clock when the machine is busy) and the SQL time
and number of statements per request (measured at the cursor, PostgreSQL's work included).

    python bench/list_render.py [--db postgresql+psycopg://…/bench_list_render | sqlite]
        [--items 50000] [--runs 30] [--roles admin,engineer] [--cases "default,sort -wear"]
        [--profile "sort -wear"]   # + the top functions of that case (cProfile)
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import event, func, select  # noqa: E402

from bench.registry import analyze, percentile, prepare_postgres  # noqa: E402
from core.extensions import db  # noqa: E402
from core.factory import create_app  # noqa: E402
from equipment.demo import DEMO_PASSWORD, seed_demo  # noqa: E402
from equipment.models import Equipment  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_list_render"
ROLES = {
    "admin": "admin@demo.kz",
    "engineer": "engineer@demo.kz",
    "regulator": "regulator@demo.kz",
    "national": "national@demo.kz",
}
# the list cases of bench/load.py that matter most (default, sorts, a flag, a search)
CASES = {
    "default": {},
    "page 20": {"page": "20"},
    "sort -wear": {"sort": "-wear"},
    "must_plan -wear": {"flag": "must_plan", "sort": "-wear"},
    "flag critical": {"flag": "critical"},
    "search": {"q": "котел"},
    "sort facility": {"sort": "facility"},
    "sort status": {"sort": "status"},
}
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class SqlClock:
    """Time spent in the database driver and the statements sent, since the last reset."""

    def __init__(self, engine):
        self.seconds = 0.0
        self.statements = 0
        self._started: list[float] = []
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, *_args):
        self._started.append(time.perf_counter())

    def _after(self, *_args):
        self.seconds += time.perf_counter() - self._started.pop()
        self.statements += 1

    def reset(self) -> None:
        self.seconds, self.statements = 0.0, 0


def prepare(url: str, items: int):
    if url.startswith("postgresql"):
        prepare_postgres(url, reuse=True)  # creates the database when missing, keeps its data
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-list-render"})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        have = db.session.scalar(select(func.count()).select_from(Equipment))
        if have < items:
            started = time.perf_counter()
            seed_demo(db.session, items, app.config["WEAR_THRESHOLDS"])
            db.session.commit()
            analyze(db.engine)
            print(f"seeded {items} items in {time.perf_counter() - started:.0f} s")
    return app


def log_in(app, email: str):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = CSRF_RE.search(page)
    data = {"email": email, "password": DEMO_PASSWORD}
    if token:
        data["csrf_token"] = token.group(1)
    answer = client.post("/login", data=data)
    if answer.status_code != 302 or "/login" in answer.headers.get("Location", ""):
        raise SystemExit(f"{email}: login failed ({answer.status_code})")
    return client


def timed(client, path: str, runs: int, sql: SqlClock) -> dict:
    for _ in range(3):  # warm up: templates compiled, caches filled
        answer = client.get(path)
        if answer.status_code != 200:
            raise SystemExit(f"{path}: HTTP {answer.status_code}")
    ms, cpu_ms, sql_ms, statements = [], [], [], []
    for _ in range(runs):
        sql.reset()
        started, cpu = time.perf_counter(), time.process_time()
        client.get(path)
        ms.append((time.perf_counter() - started) * 1000)
        cpu_ms.append((time.process_time() - cpu) * 1000)
        sql_ms.append(sql.seconds * 1000)
        statements.append(sql.statements)
    return {
        "mean": statistics.fmean(ms),
        "p95": percentile(ms, 95),
        "cpu": statistics.fmean(cpu_ms),
        "sql": statistics.fmean(sql_ms),
        "statements": statistics.fmean(statements),
    }


def list_path(case: str) -> str:
    query = CASES[case]
    return "/equipment" + ("?" + urlencode(query) if query else "")


def profile(client, path: str, runs: int) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(runs):
        client.get(path)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=DEFAULT_URL, help="a database URL, or 'sqlite'")
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--roles", default="admin,engineer")
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--profile", default="", help="a case to profile (cProfile)")
    args = parser.parse_args(argv)
    url = args.db
    if url == "sqlite":
        url = f"sqlite:///{Path(tempfile.gettempdir()) / f'bench-list-{args.items}.sqlite3'}"
    app = prepare(url, args.items)
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    print(f"{url.split('@')[-1]}: {args.items} items, {args.runs} requests per case")
    print(
        f"{'role':<10} {'case':<18} {'mean ms':>8} {'p95 ms':>8} {'x floor':>8}"
        f" {'app cpu':>7} {'sql ms':>7} {'stmts':>6}"
    )
    with app.app_context():
        sql = SqlClock(db.engine)
    # Requests outside any app context of ours: each has its own ``g`` (Flask-Login caches the
    # user there, Flask-WTF the CSRF token), as behind a server.
    for role in args.roles.split(","):
        client = log_in(app, ROLES[role])
        floor = timed(client, "/healthz", args.runs, sql)
        rows = [("floor /healthz", floor)]
        for case in cases:
            rows.append((case, timed(client, list_path(case), args.runs, sql)))
        for case, fig in rows:
            print(
                f"{role:<10} {case:<18} {fig['mean']:8.1f} {fig['p95']:8.1f}"
                f" {fig['mean'] / floor['mean']:8.1f} {fig['cpu']:7.1f} {fig['sql']:7.1f}"
                f" {fig['statements']:6.1f}"
            )
        if args.profile:
            profile(client, list_path(args.profile), 10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
